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
  if (opts_.window == 0) opts_.window = 1;
  if (opts_.failure_rate > 0) outcomes_.assign(opts_.window, false);
}

std::chrono::steady_clock::time_point circuit_breaker::now() const {
  return opts_.clock ? opts_.clock() : std::chrono::steady_clock::now();
}

circuit_breaker::change circuit_breaker::move_to(circuit_state s) {
  const circuit_state from = state_;
  state_ = s;
  failures_ = 0;
  probes_out_ = 0;
  counted_ = 0;
  failed_in_window_ = 0;
  if (from == s) return std::nullopt;
  return std::pair{from, s};
}

void circuit_breaker::tell(const change& c) const {
  if (c && opts_.on_state_change) opts_.on_state_change(c->first, c->second);
}

circuit_breaker::change circuit_breaker::advance(std::chrono::steady_clock::time_point t) {
  if (state_ == circuit_state::open && t - opened_ >= opts_.open_for) {
    return move_to(circuit_state::half_open);
  }
  return std::nullopt;
}

bool circuit_breaker::rate_reached(bool failed) {
  if (outcomes_.empty()) return false;
  const std::size_t at = counted_ % outcomes_.size();
  if (counted_ >= outcomes_.size() && outcomes_[at]) --failed_in_window_;
  outcomes_[at] = failed;
  if (failed) ++failed_in_window_;
  ++counted_;
  return counted_ >= outcomes_.size() &&
         static_cast<double>(failed_in_window_) >=
             opts_.failure_rate * static_cast<double>(outcomes_.size());
}

bool circuit_breaker::try_acquire() {
  const auto t = now();
  bool go = false;
  change c;
  {
    std::lock_guard lock(mutex_);
    c = advance(t);
    switch (state_) {
      case circuit_state::closed:
        go = true;
        break;
      case circuit_state::open:
        break;
      case circuit_state::half_open:
        if (probes_out_ < opts_.probes) {
          ++probes_out_;
          go = true;
        }
        break;
    }
  }
  tell(c);
  return go;
}

void circuit_breaker::on_success() {
  change c;
  {
    std::lock_guard lock(mutex_);
    if (state_ == circuit_state::closed) {
      failures_ = 0;
      (void)rate_reached(false);  // a success never reaches the rate
    } else {
      // A call let through before the circuit opened may still answer: the target is back.
      c = move_to(circuit_state::closed);
    }
  }
  tell(c);
}

void circuit_breaker::on_failure() {
  const auto t = now();
  change c;
  {
    std::lock_guard lock(mutex_);
    switch (state_) {
      case circuit_state::closed: {
        const bool rate = rate_reached(true);
        if (++failures_ < opts_.failure_threshold && !rate) return;
        break;
      }
      case circuit_state::open:
        return;  // a call let through before it opened: already counted as open
      case circuit_state::half_open:
        break;  // the probe failed
    }
    c = move_to(circuit_state::open);
    opened_ = t;
  }
  tell(c);
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
