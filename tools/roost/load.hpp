#pragma once
// The load engine of `roost bench`: K requests in flight over C connections for a duration or a
// number of requests, latencies kept in a fixed-size histogram.

#include <roost/client_transport.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>
#include <roost/url.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace roost::cli {

/// Latencies in microseconds, in log-linear buckets (16 per power of two: at most ~6% off),
/// so a long run costs constant memory and percentiles come out of the counts.
class latency_histogram {
 public:
  void add(std::uint64_t us) noexcept;
  void merge(const latency_histogram& other) noexcept;
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  /// The latency below which `p` percent of the samples fall (a bucket's upper bound).
  std::uint64_t percentile(double p) const noexcept;
  /// Non-empty buckets: {upper bound in µs, count}, ascending.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> buckets() const;

 private:
  static constexpr int sub_buckets = 16;
  static std::size_t index_of(std::uint64_t us) noexcept;
  static std::uint64_t upper_of(std::size_t index) noexcept;
  std::vector<std::uint64_t> counts_ = std::vector<std::uint64_t>(64 * sub_buckets, 0);
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

struct load_options {
  roost::url target;
  json::value pattern;
  json::value data;
  int concurrency = 16;  ///< requests in flight, over all connections
  int connections = 1;
  std::chrono::milliseconds duration{10'000};
  std::optional<std::uint64_t> requests;  ///< stop after this many instead of the duration
  std::chrono::milliseconds timeout{10'000};
  std::optional<json::object> metadata;  ///< sent with every request (then not the lean engine)
  /// Plain `tcp://` may use the lean engine (no TLS, no metadata to send).
  bool lean_tcp = true;
  /// Makes a client transport per connection (for the other cases).
  std::function<std::unique_ptr<client_transport>()> make_transport;
};

struct load_report {
  double seconds = 0;
  std::uint64_t completed = 0;  ///< replies, errors included
  std::uint64_t errors = 0;     ///< error replies and timeouts
  latency_histogram latency;
  std::string failure;  ///< set when the load could not run (connection refused...)
};

/// Called about once a second with the figures so far.
using load_progress = std::function<void(const load_report& so_far)>;

/// Runs the load. Plain `tcp://` URLs use a lean engine over the raw framing (the generator
/// must not be the bottleneck) unless `lean_tcp` is off; the rest goes through client_proxy.
load_report run_load(const load_options& o, const load_progress& progress);

}  // namespace roost::cli
