#pragma once
/// \file roost::circuit_breaker: stops calling a target that keeps failing, and tries it again
/// later.

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace roost {

/// The states of a circuit breaker.
enum class circuit_state {
  closed,     ///< calls go through
  open,       ///< calls fail fast, without being sent
  half_open,  ///< a few probe calls go through; their outcome closes or opens the circuit
};

std::string_view to_string(circuit_state s) noexcept;

/// A circuit breaker for one target (give one to a client_proxy in `client_options::breaker`).
/// Closed, it lets calls through and counts failures (connection errors and timeouts: the
/// target is unreachable or too slow; an rpc_error is the target answering, a success here).
/// After `failure_threshold` consecutive ones, or, with a `failure_rate`, once that share of
/// the last `window` calls failed, it opens: calls fail at once with
/// connection_error(error::circuit_open). After `open_for` it is half-open: `probes` calls go
/// through; one success closes it, one failure opens it again for `open_for`. Thread-safe.
class circuit_breaker {
 public:
  struct options {
    /// Consecutive failures that open the circuit.
    std::size_t failure_threshold = 5;
    /// How long the circuit stays open before probes are let through.
    std::chrono::milliseconds open_for{5000};
    /// Calls let through at once while half-open.
    std::size_t probes = 1;
    /// The share of the last `window` calls that opens the circuit when they failed (0.5: half
    /// of them), whether consecutive or not: a target that fails one call in two never fails 5
    /// in a row. Judged once `window` calls were counted since the circuit closed. 0: off.
    double failure_rate = 0;
    std::size_t window = 20;
    /// Told of every change of state (closed, open, half-open), after it, on the thread of the
    /// call that made it and outside the breaker's lock (it may ask the breaker). An open
    /// circuit's time running out is seen, and told, when the next call asks to go through.
    /// Must not throw.
    std::function<void(circuit_state from, circuit_state to)> on_state_change;
    /// The clock; empty: std::chrono::steady_clock::now (tests inject their own).
    std::function<std::chrono::steady_clock::time_point()> clock;
  };

  circuit_breaker() : circuit_breaker(options{}) {}
  explicit circuit_breaker(options o);

  /// Whether a call may go now; a call let through must then report exactly one of
  /// on_success(), on_failure() or on_abandoned().
  bool try_acquire();
  /// The call got an answer (a reply, or the handler's error).
  void on_success();
  /// The call failed for the target (connection error, timeout).
  void on_failure();
  /// The call ended without saying anything of the target (cancelled by its caller).
  void on_abandoned();

  circuit_state state() const;
  /// How long an open circuit stays open; zero unless open.
  std::chrono::milliseconds open_remaining() const;

 private:
  std::chrono::steady_clock::time_point now() const;
  using change = std::optional<std::pair<circuit_state, circuit_state>>;
  // Moves an open circuit whose time is up to half-open. With the mutex held.
  change advance(std::chrono::steady_clock::time_point t);
  // Sets the state, forgetting the counts; the change, if any. With the mutex held.
  change move_to(circuit_state s);
  // Tells on_state_change of `c`. Without the mutex.
  void tell(const change& c) const;
  // Counts one call's outcome in the rate's window; whether the rate opens it. With the mutex.
  bool rate_reached(bool failed);

  options opts_;
  mutable std::mutex mutex_;
  circuit_state state_ = circuit_state::closed;
  std::size_t failures_ = 0;    // consecutive, while closed
  std::size_t probes_out_ = 0;  // probes let through while half-open
  std::chrono::steady_clock::time_point opened_{};
  std::vector<bool> outcomes_;  // the last `window` calls while closed, true: failed
  std::size_t counted_ = 0;     // calls in outcomes_ (up to window), the next at counted_ % window
  std::size_t failed_in_window_ = 0;
};

}  // namespace roost
