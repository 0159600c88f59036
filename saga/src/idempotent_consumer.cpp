#include <roost/saga/idempotent_consumer.hpp>

#include "idempotency.hpp"
#include "sqlite.hpp"

#include <roost/context.hpp>
#include <roost/errors.hpp>

#include <mutex>
#include <stdexcept>

namespace roost::saga {

struct idempotent_consumer::impl {
  impl(const std::string& path, std::chrono::milliseconds busy_timeout)
      : db(path, "FULL", busy_timeout) {
    detail::create_idempotency_table(db);
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
  return detail::once(impl_->db, key, effect);
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
