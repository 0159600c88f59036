#pragma once
/// \file roost::circuit_breaker: stops calling a target that keeps failing, and tries it again
/// later.

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string_view>

namespace roost {

/// The states of a circuit breaker.
enum class circuit_state {
  closed,     ///< calls go through
  open,       ///< calls fail fast, without being sent
  half_open,  ///< a few probe calls go through; their outcome closes or opens the circuit
};

std::string_view to_string(circuit_state s) noexcept;

/// A circuit breaker for one target (give one to a client_proxy in `client_options::breaker`).
/// Closed, it lets calls through and counts consecutive failures (connection errors and
/// timeouts: the target is unreachable or too slow; an rpc_error is the target answering, a
/// success here). After `failure_threshold` of them it opens: calls fail at once with
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
  // Moves an open circuit whose time is up to half-open. With the mutex held.
  void advance(std::chrono::steady_clock::time_point t);

  options opts_;
  mutable std::mutex mutex_;
  circuit_state state_ = circuit_state::closed;
  std::size_t failures_ = 0;    // consecutive, while closed
  std::size_t probes_out_ = 0;  // probes let through while half-open
  std::chrono::steady_clock::time_point opened_{};
};

}  // namespace roost
