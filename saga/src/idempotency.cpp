#include "idempotency.hpp"

#include "ids.hpp"

#include <roost/errors.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace roost::saga::detail {

void create_idempotency_table(database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS roost_idempotency (key TEXT PRIMARY KEY, "
      "failed INTEGER NOT NULL, reply TEXT NOT NULL, at_ms INTEGER NOT NULL) WITHOUT ROWID");
}

std::optional<recorded_reply> find_reply(database& db, std::string_view key) {
  auto s = db.prepare("SELECT failed, reply FROM roost_idempotency WHERE key = ?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  boost::system::error_code ec;
  auto reply = json::parse(s.text(1), ec);
  if (ec) db.fail("a recorded reply is not JSON");
  return recorded_reply{s.integer(0) != 0, std::move(reply)};
}

void record_reply(database& db, std::string_view key, const recorded_reply& r) {
  db.prepare("INSERT INTO roost_idempotency (key, failed, reply, at_ms) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, key)
      .bind(2, std::int64_t{r.failed ? 1 : 0})
      .bind(3, json::serialize(r.reply))
      .bind(4, now_ms())
      .run();
}

json::value replay(recorded_reply r) {
  if (!r.failed) return std::move(r.reply);
  auto& error = r.reply;
  if (auto* o = error.if_object()) throw rpc_exception(std::move(*o));
  if (auto* a = error.if_array()) throw rpc_exception(std::move(*a));
  if (auto* s = error.if_string()) throw rpc_exception(std::string(*s));
  throw rpc_exception(json::serialize(error));
}

json::value once(database& db, std::string_view key, const std::function<json::value()>& effect,
                 bool* ran) {
  // BEGIN IMMEDIATE takes the file's write lock first: another process with the same key waits
  // for this one's record instead of running the effect beside it.
  transaction t(db);
  if (auto seen = find_reply(db, key)) {
    t.commit();
    return replay(std::move(*seen));
  }
  recorded_reply r;
  db.exec("SAVEPOINT roost_effect");
  try {
    r.reply = effect();
    db.exec("RELEASE roost_effect");
  } catch (const rpc_exception& e) {
    db.exec("ROLLBACK TO roost_effect");
    db.exec("RELEASE roost_effect");
    r.reply = e.error();
    r.failed = true;
  }
  record_reply(db, key, r);
  t.commit();
  if (ran) *ran = !r.failed;
  return replay(std::move(r));
}

}  // namespace roost::saga::detail
