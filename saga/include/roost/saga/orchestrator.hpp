#pragma once
/// \file roost::saga::orchestrator: runs sagas step by step, compensates on failure, logs every
/// transition before acting on it, and resumes the unfinished sagas of its log.

#include <roost/awaitable.hpp>
#include <roost/log.hpp>
#include <roost/saga/definition.hpp>
#include <roost/saga/record.hpp>
#include <roost/saga/saga_log.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost {
class router;
}

namespace roost::saga {

struct orchestrator_options {
  logger log;
  /// Called on the executor after each transition is committed, before the next action is
  /// taken (metrics, tracing, tests). What it throws stops that saga in this process as a crash
  /// would, its log left as it is (resume() continues it); for a saga's first transition,
  /// start() and run() throw it.
  std::function<void(const record&, const event&)> on_transition;
};

/// Runs the sagas of its definitions on one executor, over one saga_log.
///
/// A saga runs its steps in order, each sent with its idempotency key (idempotency_header)
/// and retried per the step's policy. When a step fails for good, the compensations of the
/// steps before it run in reverse order (and its own first, when its outcome is unknown: a
/// timeout or a lost connection may hide an action that took effect), each retried until it
/// succeeds or its attempts run out, which leaves the saga `failed_compensation`. Every
/// transition is committed to the log before the next action; after a crash, resume()
/// continues each unfinished saga where its log ends, sending a step that was in flight again
/// with the same key.
///
/// Use it from its executor (a single-threaded io_context or a strand): the sagas it runs share
/// its state there. get() and list() may be called from any thread.
class orchestrator {
 public:
  orchestrator(executor ex, std::shared_ptr<saga_log> log, orchestrator_options options = {});
  ~orchestrator();
  orchestrator(const orchestrator&) = delete;
  orchestrator& operator=(const orchestrator&) = delete;

  /// Adds a saga definition. Throws std::invalid_argument for an empty or duplicate name, no
  /// steps, steps with duplicate or empty names, or a call without a target.
  void add(definition d);

  /// Starts saga `name` with `input` under `id` (a fresh UUID when empty) and returns the id
  /// once its start is committed; the saga runs on the executor. An id already in the log
  /// starts nothing (the caller's retry of a start is harmless): its saga is resumed when
  /// unfinished and not running. Throws std::invalid_argument for an unknown name,
  /// std::runtime_error when the log refuses the write.
  std::string start(std::string_view name, json::value input, std::string id = {});

  /// Runs saga `name` as start() does and completes with its final record (completed,
  /// compensated or failed_compensation). An id already in the log is run to its end (or waited
  /// for, when it runs already). Cancelling the coroutine stops the saga in this process; its
  /// log stays for resume().
  awaitable<record> run(std::string_view name, json::value input, std::string id = {});

  /// Continues every unfinished saga of the log that is not running here, on the executor;
  /// returns how many. Call it once the definitions are added (a saga whose definition is
  /// missing is logged and left as it is).
  std::size_t resume();

  std::optional<record> get(std::string_view id) const;
  std::vector<record> list(const filter& f) const;
  /// Sagas running in this orchestrator now.
  std::size_t running() const;

  /// Registers the query handlers: `roost.saga.get` (data: the id, or {"id"}) answers the
  /// record as to_json() makes it, with its events under "events"; `roost.saga.list` (data:
  /// {"status", "name", "unfinished", "limit"}, each optional) answers an array of records.
  /// Bad data, or an unknown id, is an rpc error. The router keeps the orchestrator's state
  /// alive.
  void serve_queries(router& r) const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::saga
