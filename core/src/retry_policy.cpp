#include <roost/retry_policy.hpp>

#include <algorithm>
#include <cmath>

namespace roost {

retry_budget::retry_budget(options o) : opts_(std::move(o)) {
  allowance_ = opts_.min_per_second;
  refilled_ = now();
}

std::chrono::steady_clock::time_point retry_budget::now() const {
  return opts_.clock ? opts_.clock() : std::chrono::steady_clock::now();
}

void retry_budget::on_call() {
  std::lock_guard lock(mutex_);
  earned_ = std::min(opts_.max_saved, earned_ + opts_.ratio);
}

bool retry_budget::try_retry() {
  const auto t = now();
  std::lock_guard lock(mutex_);
  if (t > refilled_) {
    const double seconds = std::chrono::duration<double>(t - refilled_).count();
    allowance_ = std::min(opts_.min_per_second, allowance_ + seconds * opts_.min_per_second);
    refilled_ = t;
  }
  if (allowance_ >= 1) {
    allowance_ -= 1;
    return true;
  }
  if (earned_ >= 1) {
    earned_ -= 1;
    return true;
  }
  return false;
}

std::chrono::milliseconds retry_policy::backoff(int retry, double r) const {
  const double cap = static_cast<double>(max_backoff.count());
  const double grown = static_cast<double>(initial_backoff.count()) *
                       std::pow(multiplier, static_cast<double>(std::max(retry, 1) - 1));
  const double limit = std::min(cap, grown);
  const double wait = std::clamp(r, 0.0, 1.0) * limit;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(wait));
}

}  // namespace roost
