#include <roost/saga/saga_log.hpp>

#include "ids.hpp"
#include "sqlite.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>
#include <stdexcept>

namespace roost::saga {

namespace {

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS roost_saga (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, step INTEGER NOT NULL,
  in_flight INTEGER NOT NULL, input TEXT NOT NULL, replies TEXT NOT NULL, error TEXT NOT NULL,
  seq INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS roost_saga_by_status ON roost_saga (status, created_ms);
CREATE TABLE IF NOT EXISTS roost_saga_event (
  saga_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, step INTEGER NOT NULL,
  data TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (saga_id, seq)) WITHOUT ROWID;
)";

constexpr const char* record_columns =
    "SELECT id, name, status, step, in_flight, input, replies, error, seq, created_ms, "
    "updated_ms FROM roost_saga ";

record read_record(const detail::statement& s) {
  record r;
  r.id = s.text(0);
  r.name = s.text(1);
  r.state = status_from_string(s.text(2)).value_or(status::running);
  r.step = static_cast<int>(s.integer(3));
  r.in_flight = s.integer(4) != 0;
  r.input = detail::parse_or_null(s.text(5));
  auto replies = detail::parse_or_null(s.text(6));
  if (auto* o = replies.if_object()) r.replies = std::move(*o);
  r.error = s.text(7);
  r.seq = s.integer(8);
  r.created_ms = s.integer(9);
  r.updated_ms = s.integer(10);
  return r;
}

}  // namespace

struct saga_log::impl {
  impl(const std::string& path, const log_options& o)
      : db(path, o.sync_every_commit ? "FULL" : "NORMAL", o.busy_timeout) {
    db.exec(schema);
  }
  mutable std::mutex mutex;
  mutable detail::database db;
};

saga_log::saga_log(const std::string& path, log_options options)
    : impl_(std::make_unique<impl>(path, options)) {}

saga_log::~saga_log() = default;

void saga_log::append(const record& r, const event& e) {
  if (r.id.empty()) throw std::invalid_argument("saga_log::append: a record without an id");
  std::lock_guard lock(impl_->mutex);
  auto& db = impl_->db;
  detail::transaction t(db);
  db.prepare(
        "INSERT INTO roost_saga_event (saga_id, seq, kind, step, data, at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bind(1, r.id)
      .bind(2, e.seq)
      .bind(3, to_string(e.kind))
      .bind(4, std::int64_t{e.step})
      .bind(5, json::serialize(e.data))
      .bind(6, e.at_ms)
      .run();
  db.prepare(
        "INSERT OR REPLACE INTO roost_saga (id, name, status, step, in_flight, input, replies, "
        "error, seq, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        "?11)")
      .bind(1, r.id)
      .bind(2, r.name)
      .bind(3, to_string(r.state))
      .bind(4, std::int64_t{r.step})
      .bind(5, std::int64_t{r.in_flight ? 1 : 0})
      .bind(6, json::serialize(r.input))
      .bind(7, json::serialize(r.replies))
      .bind(8, r.error)
      .bind(9, r.seq)
      .bind(10, r.created_ms)
      .bind(11, r.updated_ms)
      .run();
  t.commit();
}

std::optional<record> saga_log::get(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  const std::string sql = std::string(record_columns) + "WHERE id = ?1";
  auto s = impl_->db.prepare(sql.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_record(s);
}

std::vector<record> saga_log::list(const filter& f) const {
  std::lock_guard lock(impl_->mutex);
  const std::string sql = std::string(record_columns) +
                          "WHERE (?1 IS NULL OR status = ?1) AND (?2 = '' OR name = ?2) AND "
                          "(?3 = 0 OR status IN ('running', 'compensating')) "
                          "ORDER BY created_ms DESC, id LIMIT ?4";
  auto s = impl_->db.prepare(sql.c_str());
  if (f.state) {
    s.bind(1, to_string(*f.state));
  } else {
    s.bind_null(1);
  }
  s.bind(2, f.name);
  s.bind(3, std::int64_t{f.unfinished_only ? 1 : 0});
  s.bind(4, f.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(f.limit));
  std::vector<record> out;
  while (s.step()) out.push_back(read_record(s));
  return out;
}

std::vector<event> saga_log::events(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  auto s = impl_->db.prepare(
      "SELECT seq, kind, step, data, at_ms FROM roost_saga_event WHERE saga_id = ?1 ORDER BY seq");
  s.bind(1, id);
  std::vector<event> out;
  while (s.step()) {
    event e;
    e.seq = s.integer(0);
    e.kind = event_kind_from_string(s.text(1)).value_or(event_kind::saga_started);
    e.step = static_cast<int>(s.integer(2));
    e.data = detail::parse_or_null(s.text(3));
    e.at_ms = s.integer(4);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace roost::saga
