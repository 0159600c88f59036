#pragma once
// A thin RAII layer over SQLite's C API, for the saga log and the idempotent consumer: errors
// become std::runtime_error with SQLite's message and the file's name.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace roost::saga::detail {

class statement;

/// One connection.
class database {
 public:
  /// Opens (creates) `path` in WAL mode with the given synchronous setting ("FULL",
  /// "NORMAL") and busy timeout.
  database(const std::string& path, std::string_view synchronous,
           std::chrono::milliseconds busy_timeout);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Runs SQL without results (several statements allowed).
  void exec(const char* sql);
  statement prepare(const char* sql);
  sqlite3* handle() const noexcept { return db_; }
  /// Rows the last statement changed.
  std::int64_t changes() const;
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

/// A prepared statement, reset for reuse by each run.
class statement {
 public:
  statement(database& db, sqlite3_stmt* s) : db_(&db), s_(s) {}
  ~statement();
  statement(statement&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  statement& operator=(statement&&) = delete;

  statement& bind(int i, std::string_view text);
  statement& bind(int i, std::int64_t v);
  statement& bind(int i, double v);
  statement& bind_null(int i);
  /// Steps once: true when a row is there to read, false when done.
  bool step();
  /// Steps to the end (a write).
  void run();
  void reset();
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;
  double real(int col) const;
  /// What a column of the current row holds.
  enum class kind { integer, real, text, null };
  kind type(int col) const;
  int column_count() const;
  std::string column_name(int col) const;

 private:
  database* db_;
  sqlite3_stmt* s_;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back when left without commit().
class transaction {
 public:
  explicit transaction(database& db);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit();

 private:
  database& db_;
  bool done_ = false;
};

}  // namespace roost::saga::detail
