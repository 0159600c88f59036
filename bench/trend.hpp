// What the load generators and the soak run (bench/soak.cpp) read from latencies and samples:
// a percentile, and the trend of a series over time as the Theil-Sen slope (the median of the
// slopes between every two samples). The median, not a least-squares fit: on a loaded machine
// one interval's p99 (or a burst of allocation) can be ten times the others, which would tilt
// a least-squares line on its own, while a trend moves most pairs the same way.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace bench {

// The q-th quantile (0..1) of `xs`, the element at rank floor(q * (n - 1)); 0 for none. Reorders
// `xs` (nth_element).
template <class T>
double percentile(std::vector<T>& xs, double q) {
  if (xs.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k), xs.end());
  return static_cast<double>(xs[k]);
}

// The median of `xs`; 0 for none.
inline double median(std::vector<double> xs) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

// The Theil-Sen slope of the points (t[i], y[i]) in units of y per unit of t; 0 for fewer than
// two points.
inline double theil_sen(const std::vector<double>& t, const std::vector<double>& y) {
  std::vector<double> slopes;
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (std::size_t j = i + 1; j < t.size(); ++j) {
      if (t[j] != t[i]) slopes.push_back((y[j] - y[i]) / (t[j] - t[i]));
    }
  }
  return median(std::move(slopes));
}

}  // namespace bench
