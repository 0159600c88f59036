#include <roost/saga/idempotent_consumer.hpp>

#include "sqlite.hpp"

#include <roost/context.hpp>
#include <roost/errors.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>
#include <stdexcept>

namespace roost::saga {

namespace {

// A recorded refusal, thrown again as the handler threw it (the same `err` on the wire).
[[noreturn]] void throw_recorded(json::value error) {
  if (auto* o = error.if_object()) throw rpc_exception(std::move(*o));
  if (auto* a = error.if_array()) throw rpc_exception(std::move(*a));
  if (auto* s = error.if_string()) throw rpc_exception(std::string(*s));
  throw rpc_exception(json::serialize(error));
}

}  // namespace

struct idempotent_consumer::impl {
  impl(const std::string& path, std::chrono::milliseconds busy_timeout)
      : db(path, "FULL", busy_timeout) {
    db.exec(
        "CREATE TABLE IF NOT EXISTS roost_idempotency (key TEXT PRIMARY KEY, "
        "failed INTEGER NOT NULL, reply TEXT NOT NULL, at_ms INTEGER NOT NULL) WITHOUT ROWID");
  }
  mutable std::mutex mutex;
  mutable detail::database db;
};

idempotent_consumer::idempotent_consumer(const std::string& path,
                                         std::chrono::milliseconds busy_timeout)
    : impl_(std::make_unique<impl>(path, busy_timeout)) {}

idempotent_consumer::~idempotent_consumer() = default;

json::value idempotent_consumer::once(std::string_view key,
                                      const std::function<json::value()>& effect) {
  std::lock_guard lock(impl_->mutex);
  auto& db = impl_->db;
  // BEGIN IMMEDIATE takes the file's write lock first: another process with the same key waits
  // for this one's record instead of running the effect beside it.
  detail::transaction t(db);
  {
    auto s = db.prepare("SELECT failed, reply FROM roost_idempotency WHERE key = ?1");
    s.bind(1, key);
    if (s.step()) {
      const bool failed = s.integer(0) != 0;
      boost::system::error_code ec;
      auto reply = json::parse(s.text(1), ec);
      if (ec) db.fail("a recorded reply is not JSON");
      t.commit();
      if (failed) throw_recorded(std::move(reply));
      return reply;
    }
  }
  json::value reply;
  bool failed = false;
  try {
    reply = effect();
  } catch (const rpc_exception& e) {
    reply = e.error();
    failed = true;
  }
  const auto at = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  db.prepare("INSERT INTO roost_idempotency (key, failed, reply, at_ms) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, key)
      .bind(2, std::int64_t{failed ? 1 : 0})
      .bind(3, json::serialize(reply))
      .bind(4, std::int64_t{at})
      .run();
  t.commit();
  if (failed) throw_recorded(std::move(reply));
  return reply;
}

json::value idempotent_consumer::once(const context& ctx,
                                      const std::function<json::value()>& effect) {
  auto key = key_of(ctx);
  if (!key) return effect();
  return once(*key, effect);
}

std::optional<std::string> idempotent_consumer::key_of(const context& ctx) {
  const auto* k = ctx.headers().get(idempotency_header);
  if (!k || k->empty()) return std::nullopt;
  return *k;
}

bool idempotent_consumer::seen(std::string_view key) const {
  std::lock_guard lock(impl_->mutex);
  auto s = impl_->db.prepare("SELECT 1 FROM roost_idempotency WHERE key = ?1");
  s.bind(1, key);
  return s.step();
}

std::size_t idempotent_consumer::size() const {
  std::lock_guard lock(impl_->mutex);
  auto s = impl_->db.prepare("SELECT COUNT(*) FROM roost_idempotency");
  s.step();
  return static_cast<std::size_t>(s.integer(0));
}

}  // namespace roost::saga
