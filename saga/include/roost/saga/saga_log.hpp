#pragma once
/// \file roost::saga::saga_log: the durable log of sagas, one SQLite file in WAL mode.

#include <roost/saga/record.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost::saga {

struct log_options {
  /// fsync on every commit (SQLite's `synchronous=FULL`): a transition survives a power loss.
  /// False (`NORMAL`): it survives the process's crash, not the machine's.
  bool sync_every_commit = true;
  /// How long a write waits for another process holding the file (SQLite's busy timeout).
  std::chrono::milliseconds busy_timeout{5000};
};

/// Every saga's events and record. Each append is one transaction that writes the event and the
/// record it makes together, committed before it returns: what the log says happened was
/// decided, and nothing is acted on before it is in the log.
///
/// Thread-safe (one connection, behind a mutex). The calls block on the disk: they are short
/// (one small transaction), and the orchestrator makes them on its executor.
class saga_log {
 public:
  /// Opens (creates) the log at `path`; ":memory:" for a log that dies with the object. Throws
  /// std::runtime_error saying which file and why when SQLite cannot open or set it up.
  explicit saga_log(const std::string& path, log_options options = {});
  ~saga_log();
  saga_log(const saga_log&) = delete;
  saga_log& operator=(const saga_log&) = delete;

  /// Appends `e` (its seq is r.seq, as apply() set it) to r.id's log and stores `r` as the
  /// saga's record, in one transaction. The first event of a saga creates its record. Throws
  /// std::runtime_error when it could not be committed (nothing of it is then in the log).
  void append(const record& r, const event& e);

  /// The saga's record, or nullopt.
  std::optional<record> get(std::string_view id) const;
  /// The sagas `f` selects, newest first.
  std::vector<record> list(const filter& f) const;
  /// The saga's events, in order (empty for an unknown id).
  std::vector<event> events(std::string_view id) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace roost::saga
