#pragma once
/// \file roost::observability::monitor: a service's metrics, and the HTTP side port that
/// serves them with its health (/healthz, /readyz, /metrics).

#include <roost/observability/otlp_exporter.hpp>
#include <roost/observability/server_metrics.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace roost {
class circuit_breaker;
class microservice;
class tracer;
}  // namespace roost

namespace roost::observability {

struct monitor_options {
  /// Where the HTTP side port listens: empty for no side port (the default), "9464" for
  /// 127.0.0.1:9464, "0.0.0.0:9464" or "[::]:9464" for every interface (a probe from outside
  /// the host needs one). Port 0 takes a free port (monitor::port() tells which).
  std::string side_port;
  /// When true and the environment variable ROOST_SIDE_PORT is set, its value replaces
  /// `side_port` (empty or "off": no side port), so that operators open it without a build.
  bool from_environment = true;
  /// A request whose head has not come in whole within this is dropped with its connection.
  std::chrono::milliseconds request_timeout{5'000};
  /// Bytes of a request's head (request line and headers) at most; a larger one gets 431.
  std::size_t max_request_bytes = 8 * 1024;
  /// Side-port connections open at once at most; one more is closed as soon as accepted.
  std::size_t max_connections = 32;
  /// Tracing (docs/tracing.md): with an endpoint, a span per message served, exported to that
  /// OTLP/HTTP collector; off without one (the default). With `from_environment`, the standard
  /// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_SERVICE_NAME
  /// variables replace what they name.
  otlp_options traces;
};

/// Watches a microservice: installs a server_metrics on its dispatcher, and serves, when a
/// side port is configured, on the microservice's io_context:
///
/// - `GET /healthz`: 200 while the process serves HTTP at all;
/// - `GET /readyz`: 200 while microservice::ready() (every transport listening or connected,
///   no shutdown begun), else 503;
/// - `GET /metrics`: the Prometheus text format (metrics_text()).
///
/// HEAD works as GET; another method gets 405, another path 404.
///
/// With `monitor_options::traces` (or the OTEL_* variables), it also traces the service: the
/// dispatcher's observer is then a tracer chained to the metrics.
///
/// \code
/// roost::microservice app{r};
/// app.add_transport(roost::tcp::server({.port = 3000}));
/// roost::observability::monitor watch(app, {.side_port = "9464"});
/// return app.run();
/// \endcode
///
/// Make it after the microservice and before run() (the port is bound here: a port taken
/// throws connection_error, an address that is not one std::invalid_argument), and let it
/// outlive run().
class monitor {
 public:
  explicit monitor(microservice& app, monitor_options opts = {});
  ~monitor();
  monitor(const monitor&) = delete;
  monitor& operator=(const monitor&) = delete;

  server_metrics& metrics() noexcept;
  /// The tracer of the service's messages, for its clients' `client_options::tracer`; nullptr
  /// when tracing is off.
  std::shared_ptr<roost::tracer> tracer() const noexcept;
  /// The span exporter, nullptr when tracing is off.
  otlp_exporter* exporter() const noexcept;
  /// Shows `b`'s state on /metrics as `roost_client_circuit_state{target,state}` (1 for the
  /// state it is in, 0 for the two others). `target` names what the breaker guards (the
  /// client's service). Thread-safe.
  void watch(std::string target, std::shared_ptr<const circuit_breaker> b);
  /// The side port's bound port, 0 when there is none.
  std::uint16_t port() const noexcept;
  /// What /metrics serves: the server metrics, roost_service_ready, the adaptive limit's and
  /// the watched circuit breakers' when there are, and, when tracing, the exporter's counts.
  std::string metrics_text() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::observability
