#include <roost/circuit_breaker.hpp>

namespace roost {

std::string_view to_string(circuit_state s) noexcept {
  switch (s) {
    case circuit_state::closed:
      return "closed";
    case circuit_state::open:
      return "open";
    case circuit_state::half_open:
      return "half-open";
  }
  return "unknown";
}

circuit_breaker::circuit_breaker(options o) : opts_(std::move(o)) {
  if (opts_.failure_threshold == 0) opts_.failure_threshold = 1;
  if (opts_.probes == 0) opts_.probes = 1;
}

std::chrono::steady_clock::time_point circuit_breaker::now() const {
  return opts_.clock ? opts_.clock() : std::chrono::steady_clock::now();
}

void circuit_breaker::advance(std::chrono::steady_clock::time_point t) {
  if (state_ == circuit_state::open && t - opened_ >= opts_.open_for) {
    state_ = circuit_state::half_open;
    probes_out_ = 0;
  }
}

bool circuit_breaker::try_acquire() {
  const auto t = now();
  std::lock_guard lock(mutex_);
  advance(t);
  switch (state_) {
    case circuit_state::closed:
      return true;
    case circuit_state::open:
      return false;
    case circuit_state::half_open:
      if (probes_out_ >= opts_.probes) return false;
      ++probes_out_;
      return true;
  }
  return false;
}

void circuit_breaker::on_success() {
  std::lock_guard lock(mutex_);
  // A call let through before the circuit opened may still answer: the target is back.
  state_ = circuit_state::closed;
  failures_ = 0;
  probes_out_ = 0;
}

void circuit_breaker::on_failure() {
  const auto t = now();
  std::lock_guard lock(mutex_);
  switch (state_) {
    case circuit_state::closed:
      if (++failures_ < opts_.failure_threshold) return;
      break;
    case circuit_state::open:
      return;  // a call let through before it opened: already counted as open
    case circuit_state::half_open:
      break;  // the probe failed
  }
  state_ = circuit_state::open;
  opened_ = t;
  failures_ = 0;
  probes_out_ = 0;
}

void circuit_breaker::on_abandoned() {
  std::lock_guard lock(mutex_);
  if (state_ == circuit_state::half_open && probes_out_ > 0) --probes_out_;
}

circuit_state circuit_breaker::state() const {
  const auto t = now();
  std::lock_guard lock(mutex_);
  if (state_ == circuit_state::open && t - opened_ >= opts_.open_for)
    return circuit_state::half_open;
  return state_;
}

std::chrono::milliseconds circuit_breaker::open_remaining() const {
  const auto t = now();
  std::lock_guard lock(mutex_);
  if (state_ != circuit_state::open || t - opened_ >= opts_.open_for) return {};
  return std::chrono::ceil<std::chrono::milliseconds>(opts_.open_for - (t - opened_));
}

}  // namespace roost
