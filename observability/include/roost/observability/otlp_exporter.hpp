#pragma once
/// \file roost::observability::otlp_exporter: sends finished spans to an OpenTelemetry
/// collector, OTLP/HTTP with the JSON encoding (`POST /v1/traces`).

#include <roost/tracer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace roost::observability {

class prometheus_writer;

struct otlp_options {
  /// The collector: a base URL, `http://host:4318`, to which `/v1/traces` is added (as
  /// OTEL_EXPORTER_OTLP_ENDPOINT), or the whole URL of the traces path when `traces_path_given`
  /// (as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Empty: no export.
  std::string endpoint;
  bool traces_path_given = false;
  /// The `service.name` resource attribute.
  std::string service_name = "unknown_service";
  /// Spans waiting at most; one more is dropped (and counted).
  std::size_t max_queue = 2048;
  /// Spans per request at most.
  std::size_t max_batch = 512;
  /// How long a span waits for its batch at most.
  std::chrono::milliseconds flush_interval{1'000};
  /// One request's time (connect, send, answer).
  std::chrono::milliseconds timeout{10'000};
  /// Tries of a batch the collector could not take (network error, 429, 502, 503, 504); the
  /// waits between them double from `initial_backoff` up to `max_backoff`.
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5'000};

  /// `opts` with what the environment sets: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
  /// OTEL_EXPORTER_OTLP_ENDPOINT, and OTEL_SERVICE_NAME.
  static otlp_options from_environment(otlp_options opts);
};

/// A span_sink that queues spans and sends them in batches from a thread of its own, so that a
/// slow or absent collector costs a service no more than its bounded queue. Counts what it
/// sent and what it dropped (queue full, or a batch the collector refused or never took).
class otlp_exporter final : public span_sink {
 public:
  /// Starts the exporter's thread. Throws std::invalid_argument for an endpoint that is not an
  /// `http://` URL.
  explicit otlp_exporter(otlp_options opts);
  /// Sends what is queued (one try per batch), then stops.
  ~otlp_exporter() override;
  otlp_exporter(const otlp_exporter&) = delete;
  otlp_exporter& operator=(const otlp_exporter&) = delete;

  void export_span(span&& s) noexcept override;

  /// Sends what is queued now and waits until it went (or failed), up to `wait`; false when
  /// spans are still waiting.
  bool flush(std::chrono::milliseconds wait);

  std::uint64_t exported() const noexcept;  ///< spans the collector took
  std::uint64_t dropped() const noexcept;   ///< spans dropped: queue full, or not taken

  /// roost_trace_spans_exported_total and roost_trace_spans_dropped_total.
  void write_metrics(prometheus_writer& w) const;

  /// The OTLP JSON of `spans` (one resource, one scope), sans-I/O.
  static std::string encode(std::span<const span> spans, std::string_view service_name);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::observability
