#include "sqlite.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace roost::saga::detail {

database::database(const std::string& path, std::string_view synchronous,
                   std::chrono::milliseconds busy_timeout)
    : path_(path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open SQLite database '" + path + "': " + why);
  }
  try {
    sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
    exec("PRAGMA journal_mode=WAL");
    const std::string sync = "PRAGMA synchronous=" + std::string(synchronous);
    exec(sync.c_str());
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

database::~database() {
  sqlite3_close(db_);
}

void database::fail(std::string_view what) const {
  throw std::runtime_error("SQLite database '" + path_ + "': " + std::string(what) + ": " +
                           sqlite3_errmsg(db_));
}

void database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("SQLite database '" + path_ + "': " + why);
  }
}

std::int64_t database::changes() const {
  return sqlite3_changes64(db_);
}

statement database::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) fail("prepare");
  return statement(*this, s);
}

statement::~statement() {
  sqlite3_finalize(s_);
}

statement& statement::bind(int i, std::string_view text) {
  if (sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK) {
    db_->fail("bind");
  }
  return *this;
}

statement& statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(s_, i, v) != SQLITE_OK) db_->fail("bind");
  return *this;
}

statement& statement::bind(int i, double v) {
  if (sqlite3_bind_double(s_, i, v) != SQLITE_OK) db_->fail("bind");
  return *this;
}

statement& statement::bind_null(int i) {
  if (sqlite3_bind_null(s_, i) != SQLITE_OK) db_->fail("bind");
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail("step");
}

void statement::run() {
  while (step()) {
  }
}

void statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::string statement::text(int col) const {
  const auto* p = sqlite3_column_text(s_, col);
  const int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

std::int64_t statement::integer(int col) const {
  return sqlite3_column_int64(s_, col);
}

double statement::real(int col) const {
  return sqlite3_column_double(s_, col);
}

statement::kind statement::type(int col) const {
  switch (sqlite3_column_type(s_, col)) {
    case SQLITE_INTEGER:
      return kind::integer;
    case SQLITE_FLOAT:
      return kind::real;
    case SQLITE_NULL:
      return kind::null;
    default:
      return kind::text;  // text, and blobs read as text
  }
}

int statement::column_count() const {
  return sqlite3_column_count(s_);
}

std::string statement::column_name(int col) const {
  const char* n = sqlite3_column_name(s_, col);
  return n ? n : "";
}

bool statement::is_null(int col) const {
  return sqlite3_column_type(s_, col) == SQLITE_NULL;
}

transaction::transaction(database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

transaction::~transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace roost::saga::detail
