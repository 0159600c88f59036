#pragma once
/// \file What the saga log holds: each saga's record and its transitions (events), and the
/// pure function that folds the one from the other.

#include <roost/json.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost::saga {

enum class status {
  running,              ///< steps are being run
  compensating,         ///< a step failed: the compensations run, last step first
  completed,            ///< every step succeeded
  compensated,          ///< a step failed and every compensation succeeded
  failed_compensation,  ///< a compensation failed after its attempts: stuck, needs a person
};

/// "running", "compensating", "completed", "compensated", "failed_compensation".
std::string_view to_string(status s) noexcept;
/// The status named `s`, or nullopt.
std::optional<status> status_from_string(std::string_view s) noexcept;
/// Whether a saga in `s` has ended (nothing more will happen to it).
inline bool finished(status s) noexcept {
  return s != status::running && s != status::compensating;
}

/// The kinds of transition, in the order a saga goes through them.
enum class event_kind {
  saga_started,            ///< data: the input
  step_started,            ///< the action is about to be sent
  step_succeeded,          ///< data: the reply
  step_failed,             ///< data: {"error", "outcome_known"}
  compensation_started,    ///< the compensation is about to be sent
  compensation_succeeded,  ///< data: the reply
  compensation_failed,     ///< data: {"error"}, after the last attempt
  saga_finished,           ///< data: {"status"}
};

std::string_view to_string(event_kind k) noexcept;
std::optional<event_kind> event_kind_from_string(std::string_view s) noexcept;

/// One transition of a saga's log.
struct event {
  std::int64_t seq = 0;  ///< 1, 2, ... within the saga
  event_kind kind = event_kind::saga_started;
  int step = -1;  ///< the step it is about; -1 for the saga's own events
  json::value data;
  std::int64_t at_ms = 0;  ///< when it was committed, Unix milliseconds
};

/// A saga's state, as its events make it.
struct record {
  std::string id;
  std::string name;
  status state = status::running;
  json::value input;
  /// The replies of the steps that succeeded, by step name.
  json::object replies;
  /// Running: the step to run (or running). Compensating: the step whose compensation runs
  /// next (or is running); the ones above it are compensated. -1 when there is none.
  int step = 0;
  /// Whether `step`'s action or compensation was started and has no outcome in the log: it was
  /// in flight when the orchestrator stopped (it may have taken effect).
  bool in_flight = false;
  /// The error that made the saga compensate, then the one that left it stuck.
  std::string error;
  std::int64_t seq = 0;  ///< events so far
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

/// Applies `e` to `r`: the one place the transitions' meaning is written, used live and to
/// rebuild a record from its log.
void apply(record& r, const event& e);
/// A saga's record from its log (`id` and `name` are the caller's to set).
record fold(const std::vector<event>& events);

/// The record as JSON, as the query handlers answer: {"id", "name", "status", "step",
/// "input", "replies", "error", "created_ms", "updated_ms"}.
json::value to_json(const record& r);
json::value to_json(const event& e);

/// Which sagas `saga_log::list` returns, newest first.
struct filter {
  std::optional<roost::saga::status> state;
  bool unfinished_only = false;
  std::string name;         ///< empty: every saga
  std::size_t limit = 100;  ///< 0: all
};

}  // namespace roost::saga
