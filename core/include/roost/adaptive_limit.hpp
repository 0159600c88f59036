#pragma once
/// \file roost::adaptive_limit: a service's concurrency limit that follows its measured latency
/// (docs/resilience.md, "Overload").

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace roost {

/// How many messages a service works on at once, adjusted to what its latency says it can
/// take: a gradient limit. Messages beyond it are refused at once, with the error
/// `too_many_in_flight_message` (roost/limits.hpp), instead of waiting behind the others.
///
/// The latency of the messages served is averaged over windows (`window` long and at least
/// `min_samples` messages). Each window is compared with the service's latency without load
/// (the baseline: the lowest window average seen, which drifts up slowly towards the measured
/// one, so a service that really became slower is followed):
///  - within `tolerance` × the baseline, nothing queues: the limit grows by √limit (unless the
///    service never came near it: a limit that binds nothing is not raised);
///  - beyond, the messages queue somewhere (a pool, a lock, a database): the limit shrinks by
///    the ratio, tolerance × baseline / latency (at most by half).
/// Each step moves the limit `smoothing` of the way.
///
/// While messages are being refused, every `probe_every` windows (the first time two windows
/// after the first refusal) a probe measures the baseline again: the limit is halved for a
/// window that measures only the messages admitted in it (those admitted before waited in the
/// queue it drains), then halved again, and again while that finds a much lower latency (10%):
/// the limit was still above what runs without queueing. The
/// lowest latency found replaces the baseline. Without it, a service whose first windows were
/// loaded would take its loaded latency for its baseline, and the baseline's drift up would
/// never come down.
///
/// Thread-safe: admit() and complete() are called from every thread serving messages.
class adaptive_limit {
 public:
  using clock_type = std::chrono::steady_clock;

  struct options {
    std::size_t initial_limit = 20;
    std::size_t min_limit = 4;
    std::size_t max_limit = 1000;
    /// How far the latency may rise above the baseline before the limit shrinks.
    double tolerance = 1.25;
    /// A window's least length and messages; a window with fewer messages goes on.
    std::chrono::milliseconds window{100};
    std::size_t min_samples = 10;
    /// The share of a step the limit moves each window (0 to 1).
    double smoothing = 0.2;
    /// Windows between two probes while messages are being refused.
    std::size_t probe_every = 50;
    /// Windows over which the baseline drifts up to a higher latency (its time constant).
    std::size_t baseline_windows = 500;
    /// The clock; empty: std::chrono::steady_clock::now (tests inject their own).
    std::function<clock_type::time_point()> clock;
  };

  adaptive_limit() : adaptive_limit(options{}) {}
  explicit adaptive_limit(options o);

  /// Whether one more message may start while `in_flight` others run; counts it as shed when
  /// not. Never throws.
  bool admit(std::size_t in_flight) noexcept {
    note_peak(in_flight + 1);
    if (in_flight < limit_.load(std::memory_order_relaxed)) return true;
    shed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  /// Now, on the limit's clock: when an admitted message starts.
  clock_type::time_point now() const;
  /// An admitted message that started at `started` is done: its latency is a sample. Never
  /// throws.
  void complete(clock_type::time_point started) noexcept;

  /// The limit now (halved while probing).
  std::size_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  /// Messages refused so far.
  std::uint64_t shed() const noexcept { return shed_.load(std::memory_order_relaxed); }
  /// The latency without load the limit measures against; zero before the first window.
  std::chrono::nanoseconds baseline() const;

  /// Reads ROOST_CONCURRENCY_LIMIT's text: `off` (or empty): none; `adaptive`, optionally with
  /// settings, `adaptive,max=200,min=8,initial=32,tolerance=1.5,window=100` (window in ms).
  /// `base` gives the settings not named. The error says what is wrong; the limit is then none.
  struct parsed {
    std::optional<options> limit;
    std::string error;  ///< empty when the text was good
  };
  static parsed parse(std::string_view text, const options& base);
  static parsed parse(std::string_view text) { return parse(text, options{}); }

 private:
  void note_peak(std::size_t n) noexcept {
    std::size_t p = peak_.load(std::memory_order_relaxed);
    while (p < n && !peak_.compare_exchange_weak(p, n, std::memory_order_relaxed)) {
    }
  }
  // Ends the window at `t`: moves the baseline and the limit. With the mutex held.
  void close_window(clock_type::time_point t);
  // Sets the estimate, and publishes it (divided while probing).
  void publish(double limit);
  // One window of a probe.
  void probe(double latency);

  options opts_;
  std::atomic<std::size_t> limit_;
  std::atomic<std::uint64_t> shed_{0};
  std::atomic<std::size_t> peak_{0};  // the most in flight in this window
  mutable std::mutex mutex_;
  double estimate_;         // the limit, unrounded
  double baseline_ns_ = 0;  // 0: none yet
  clock_type::time_point window_start_{};
  double window_sum_ns_ = 0;
  std::size_t window_count_ = 0;
  std::size_t since_probe_ = 0;      // windows since the last probe
  std::uint64_t shed_at_probe_ = 0;  // shed() when it ended
  int probe_step_ = 0;               // the limit is the estimate / 2^step; 0: no probe
  bool probed_ = false;              // a probe has measured the baseline
  double probe_reference_ = 0;       // the latency the step's must be much lower than
  double probe_best_ = 0;            // the lowest the probe measured
};

}  // namespace roost
