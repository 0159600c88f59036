#pragma once
/// \file roost::tracer: spans of the messages a service handles and of the calls it makes, and
/// the sink they go to once finished (an exporter: roost/observability/otlp_exporter.hpp).

#include <roost/serving_observer.hpp>
#include <roost/trace_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost {

/// What side of a message a span is (OpenTelemetry's span kinds).
enum class span_kind : unsigned char {
  internal,
  server,    ///< a request handled
  client,    ///< a request sent (client_proxy::send, stream)
  producer,  ///< an event sent (client_proxy::emit)
  consumer,  ///< an event handled
};

std::string_view to_string(span_kind k) noexcept;

/// One span: an operation of a trace, with its parent, times, status and attributes.
struct span {
  trace_context context;    ///< its trace, its own id, flags and the tracestate it carries
  roost::span_id parent{};  ///< the parent's span id; all zero for a root
  std::string name;
  span_kind kind = span_kind::internal;
  std::chrono::system_clock::time_point start{};
  std::chrono::system_clock::time_point end{};
  bool error = false;          ///< the operation failed
  std::string status_message;  ///< why, when it failed
  std::vector<std::pair<std::string, std::string>> attributes;

  bool is_root() const noexcept;
};

/// Where finished spans go. Called on the thread that ended the span, possibly on many at once:
/// thread-safe, quick (queue the span and return) and never throwing.
class span_sink {
 public:
  virtual ~span_sink() = default;
  virtual void export_span(span&& s) noexcept = 0;
};

/// Makes spans and hands the sampled ones, finished, to its sink. As a serving_observer
/// (dispatcher::observe()), it opens a span for every message served — `server` for a request,
/// `consumer` for an event — whose parent is the caller's `traceparent`, or a new trace when
/// the message carried none; context::trace() gives it to the handler. Given to a client
/// (client_options::tracer), it opens a `client` span per `send` or `stream` and a `producer`
/// span per `emit`, and sends its `traceparent`.
///
/// Thread-safe. Without a tracer nothing of this runs: no span, no header.
class tracer final : public serving_observer {
 public:
  explicit tracer(std::shared_ptr<span_sink> sink);

  /// An observer that sees every message too (the metrics), called after the tracer's begin()
  /// and before its end(). Set it before the service serves.
  void chain(std::shared_ptr<serving_observer> next) noexcept { next_ = std::move(next); }

  /// A span starting now: a child of `parent` (same trace, flags and tracestate), or the root
  /// of a new sampled trace.
  span start(span_kind kind, std::string name, const trace_context* parent);
  /// Ends `s` now and exports it when sampled.
  void finish(span&& s) noexcept;

  observation begin(const context& ctx, bool routed) noexcept override;
  void end(const context& ctx, const served_message& m, observation o) noexcept override;

 private:
  std::uint64_t random();

  std::shared_ptr<span_sink> sink_;
  std::shared_ptr<serving_observer> next_;
  std::atomic<std::uint64_t> random_state_;  // splitmix64's, seeded at random
};

namespace detail {
/// Marks `s` failed with what `failure` says (its what(), or "unknown error").
void fail_span(span& s, const std::exception_ptr& failure) noexcept;
}  // namespace detail

}  // namespace roost
