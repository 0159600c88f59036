#pragma once
/// \file roost::observability::server_metrics: counts, latency and in-flight of the messages a
/// service handles, on every transport, by pattern.

#include <roost/observability/prometheus_writer.hpp>
#include <roost/serving_observer.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace roost::observability {

/// A serving_observer that keeps, per transport, pattern and kind (request or event): the
/// messages handled by outcome, and a histogram of the time from the dispatcher's start to
/// the last reply queued. Patterns are the router's routes: a message no handler serves is
/// counted under the one pattern `unmatched_pattern`, whatever it carried, so a peer cannot
/// grow the set. Thread-safe; install it with `dispatcher::observe()` (the monitor does).
class server_metrics final : public serving_observer {
 public:
  /// The pattern label of messages that matched no route.
  static constexpr std::string_view unmatched_pattern = "(unmatched)";
  /// The upper bounds of the latency histogram's buckets, in seconds.
  static std::span<const double> latency_bounds() noexcept;

  server_metrics();
  ~server_metrics() override;
  server_metrics(const server_metrics&) = delete;
  server_metrics& operator=(const server_metrics&) = delete;

  observation begin(const context& ctx, bool routed) noexcept override;
  void end(const context& ctx, const served_message& m, observation o) noexcept override;

  /// Appends the families roost_server_messages_total, roost_server_handling_seconds and
  /// roost_server_in_flight (docs/operations.md says what each means).
  void write(prometheus_writer& out) const;

  /// Messages of one transport, pattern and kind with one outcome (for tests and checks).
  std::uint64_t count(std::string_view transport, std::string_view pattern, bool request,
                      serving_outcome outcome) const;
  /// Messages being served now on a transport.
  std::int64_t in_flight(std::string_view transport) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace roost::observability
