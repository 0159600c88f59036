#pragma once
/// \file roost::retry_policy: how a client_proxy retries the calls marked idempotent, and the
/// budget that keeps retries from multiplying the load on a failing service.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

namespace roost {

/// A token bucket shared by the calls of a client (or of several): each call earns `ratio` of
/// a retry, each retry spends one, and `min_per_second` retries are allowed in any case (a
/// client making few calls may still retry them). When it is empty, a failed call fails at
/// once instead of being retried: a service already failing is not sent 2 or 3 times its load.
/// Thread-safe.
class retry_budget {
 public:
  struct options {
    /// Retries allowed per call made: 0.1 lets retries add at most 10% to the calls.
    double ratio = 0.1;
    /// Retries allowed per second whatever the calls (refilled continuously, saved up to one
    /// second's worth).
    double min_per_second = 10;
    /// Retries earned from calls are saved up to this many.
    double max_saved = 100;
    /// The clock; empty: std::chrono::steady_clock::now (tests inject their own).
    std::function<std::chrono::steady_clock::time_point()> clock;
  };

  retry_budget() : retry_budget(options{}) {}
  explicit retry_budget(options o);

  /// A call was made: it earns `ratio` of a retry.
  void on_call();
  /// Takes one retry from the budget; false when there is none left.
  bool try_retry();

 private:
  std::chrono::steady_clock::time_point now() const;

  options opts_;
  std::mutex mutex_;
  double earned_ = 0;     // retries earned from calls
  double allowance_ = 0;  // retries of the per-second minimum
  std::chrono::steady_clock::time_point refilled_{};
};

/// How a client_proxy retries a `send` marked idempotent (`call_options::idempotent`): at most
/// `max_attempts` attempts, waiting before each retry a time drawn uniformly between zero and
/// min(max_backoff, initial_backoff × multiplier^(retry − 1)) ("full jitter": clients that
/// failed together do not retry together). Only failures that say nothing about the handler's
/// answer are retried: connection errors and timeouts; an rpc_error (the handler's own error)
/// only with `retry_rpc_errors`. A call with a deadline is not retried past it.
struct retry_policy {
  /// Attempts of one call, the first included; 1: no retry.
  int max_attempts = 1;
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  double multiplier = 2;
  /// Retries an rpc_error too (a handler known to fail transiently).
  bool retry_rpc_errors = false;
  /// The budget the retries are taken from; empty: the client makes one with the defaults.
  /// Give one budget to several clients of one service to bound their retries together.
  std::shared_ptr<retry_budget> budget;
  /// A uniform random number in [0, 1) for the jitter; empty: the client's own generator.
  std::function<double()> random;

  /// The wait before retry `retry` (1 for the first), for a random number `r` in [0, 1).
  std::chrono::milliseconds backoff(int retry, double r) const;
};

}  // namespace roost
