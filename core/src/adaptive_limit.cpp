#include <roost/adaptive_limit.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace roost {

adaptive_limit::adaptive_limit(options o) : opts_(std::move(o)) {
  opts_.min_limit = std::max<std::size_t>(opts_.min_limit, 1);
  opts_.max_limit = std::max(opts_.max_limit, opts_.min_limit);
  opts_.initial_limit = std::clamp(opts_.initial_limit, opts_.min_limit, opts_.max_limit);
  opts_.min_samples = std::max<std::size_t>(opts_.min_samples, 1);
  opts_.smoothing = std::clamp(opts_.smoothing, 0.01, 1.0);
  opts_.tolerance = std::max(opts_.tolerance, 1.0);
  opts_.probe_every = std::max<std::size_t>(opts_.probe_every, 2);
  opts_.baseline_windows = std::max<std::size_t>(opts_.baseline_windows, 1);
  estimate_ = static_cast<double>(opts_.initial_limit);
  limit_.store(opts_.initial_limit, std::memory_order_relaxed);
  window_start_ = now();
}

adaptive_limit::clock_type::time_point adaptive_limit::now() const {
  return opts_.clock ? opts_.clock() : clock_type::now();
}

std::chrono::nanoseconds adaptive_limit::baseline() const {
  std::lock_guard lock(mutex_);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(baseline_ns_));
}

void adaptive_limit::complete(clock_type::time_point started) noexcept {
  const auto t = now();
  std::lock_guard lock(mutex_);
  // A probe measures the messages it admitted: those admitted before waited in the queue it
  // drains.
  if (probe_step_ != 0 && started < window_start_) return;
  window_sum_ns_ += static_cast<double>(std::max<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t - started).count(), 0));
  ++window_count_;
  if (window_count_ >= opts_.min_samples && t - window_start_ >= opts_.window) close_window(t);
}

void adaptive_limit::publish(double limit) {
  const double lo = static_cast<double>(opts_.min_limit);
  const double hi = static_cast<double>(opts_.max_limit);
  estimate_ = std::clamp(limit, lo, hi);
  const double shown = std::max(lo, std::ldexp(estimate_, -probe_step_));
  limit_.store(static_cast<std::size_t>(std::lround(shown)), std::memory_order_relaxed);
}

void adaptive_limit::close_window(clock_type::time_point t) {
  const double latency = window_sum_ns_ / static_cast<double>(window_count_);
  const std::size_t peak = peak_.exchange(0, std::memory_order_relaxed);
  window_sum_ns_ = 0;
  window_count_ = 0;
  window_start_ = t;
  ++since_probe_;
  if (probe_step_ != 0) {
    probe(latency);
    return;
  }
  // The baseline falls at once to a lower latency, and rises slowly to a higher one.
  if (baseline_ns_ == 0 || latency < baseline_ns_) {
    baseline_ns_ = latency;
  } else {
    baseline_ns_ += (latency - baseline_ns_) / static_cast<double>(opts_.baseline_windows);
  }
  const double gradient = opts_.tolerance * baseline_ns_ / std::max(latency, 1.0);
  double target = estimate_;
  if (gradient < 1) {
    target = estimate_ * std::max(gradient, 0.5);
  } else if (static_cast<double>(peak) * 2 >= estimate_) {
    target = estimate_ + std::sqrt(estimate_);
  }
  // Probe only under overload: a service that sheds nothing has nothing queued to drain.
  const std::uint64_t shed = shed_.load(std::memory_order_relaxed);
  if (since_probe_ >= (probed_ ? opts_.probe_every : 2) && shed != shed_at_probe_) {
    probe_step_ = 1;
    probe_reference_ = latency;
    probe_best_ = latency;
  }
  publish(estimate_ + (target - estimate_) * opts_.smoothing);
}

void adaptive_limit::probe(double latency) {
  probe_best_ = std::min(probe_best_, latency);
  // A much lower latency than the step before: the limit was still above what runs without
  // queueing. Halve again, down to min_limit. The first step has nothing clean to compare with
  // (the window before it was partly queued, partly not), so a second always follows.
  const bool lower = probe_step_ == 1 || latency < probe_reference_ * 0.9;
  if (lower && std::ldexp(estimate_, -probe_step_) > static_cast<double>(opts_.min_limit)) {
    ++probe_step_;
    probe_reference_ = latency;
    publish(estimate_);
    return;
  }
  // The latency without queueing, measured now: it replaces the baseline, higher or lower.
  baseline_ns_ = probe_best_;
  // What the probe itself shed does not call for the next.
  shed_at_probe_ = shed_.load(std::memory_order_relaxed);
  probe_step_ = 0;
  since_probe_ = 0;
  probed_ = true;
  publish(estimate_);
}

namespace {

bool read_number(std::string_view v, double& out) {
  const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  return r.ec == std::errc() && r.ptr == v.data() + v.size() && out >= 0;
}

}  // namespace

adaptive_limit::parsed adaptive_limit::parse(std::string_view text, const options& base) {
  parsed out;
  const auto fail = [&](std::string why) {
    out.limit.reset();
    out.error = "ROOST_CONCURRENCY_LIMIT=\"" + std::string(text) + "\": " + std::move(why);
    return out;
  };
  std::string_view rest = text;
  const auto next = [&] {
    const auto comma = rest.find(',');
    const auto part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    return part;
  };
  const auto kind = next();
  if (kind.empty() || kind == "off") {
    if (!rest.empty()) return fail("`off` takes no settings");
    return out;
  }
  if (kind != "adaptive") return fail("not off or adaptive[,key=value...]");
  options o = base;
  while (!rest.empty()) {
    const auto part = next();
    const auto eq = part.find('=');
    double v = 0;
    if (eq == std::string_view::npos || !read_number(part.substr(eq + 1), v)) {
      return fail("\"" + std::string(part) + "\" is not key=number");
    }
    const auto key = part.substr(0, eq);
    const auto count = static_cast<std::size_t>(v);
    if (key == "max") {
      o.max_limit = count;
    } else if (key == "min") {
      o.min_limit = count;
    } else if (key == "initial") {
      o.initial_limit = count;
    } else if (key == "tolerance") {
      o.tolerance = v;
    } else if (key == "window") {
      o.window = std::chrono::milliseconds(count);
    } else {
      return fail("unknown setting \"" + std::string(key) +
                  "\" (max, min, initial, tolerance, window)");
    }
  }
  out.limit = std::move(o);
  return out;
}

}  // namespace roost
