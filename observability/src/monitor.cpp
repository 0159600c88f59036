#include <roost/observability/monitor.hpp>

#include "side_port.hpp"

#include <roost/adaptive_limit.hpp>
#include <roost/circuit_breaker.hpp>
#include <roost/microservice.hpp>
#include <roost/tracer.hpp>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

namespace roost::observability {

struct monitor::impl {
  std::shared_ptr<server_metrics> metrics = std::make_shared<server_metrics>();
  microservice* app = nullptr;
  std::shared_ptr<detail::side_port> port;
  std::shared_ptr<otlp_exporter> exporter;  // tracing on
  std::shared_ptr<roost::tracer> spans;
  mutable std::mutex breakers_mutex;
  std::vector<std::pair<std::string, std::shared_ptr<const circuit_breaker>>> breakers;

  void write_breakers(prometheus_writer& w) const {
    std::lock_guard lock(breakers_mutex);
    if (breakers.empty()) return;
    w.family("roost_client_circuit_state",
             "1 for the state each watched circuit breaker is in (closed, open, half-open).",
             metric_type::gauge);
    for (const auto& [target, b] : breakers) {
      const circuit_state now = b->state();
      for (const auto s : {circuit_state::closed, circuit_state::open, circuit_state::half_open}) {
        const label l[] = {{"target", target}, {"state", to_string(s)}};
        w.sample("roost_client_circuit_state", l, std::uint64_t{s == now ? 1u : 0u});
      }
    }
  }

  std::string text() const {
    std::string out;
    prometheus_writer w(out);
    metrics->write(w);
    w.family("roost_service_ready",
             "1 while the service takes traffic (what /readyz answers), else 0.",
             metric_type::gauge);
    w.sample("roost_service_ready", {}, std::uint64_t{app->ready() ? 1u : 0u});
    if (const auto& limit = app->dispatcher().limiter()) {
      w.family("roost_server_concurrency_limit",
               "Messages the service takes at once now (its adaptive limit).", metric_type::gauge);
      w.sample("roost_server_concurrency_limit", {}, std::uint64_t{limit->limit()});
      w.family("roost_server_concurrency_baseline_seconds",
               "The latency without load the adaptive limit measures against.", metric_type::gauge);
      w.sample("roost_server_concurrency_baseline_seconds", {},
               std::chrono::duration<double>(limit->baseline()).count());
      w.family("roost_server_shed_total", "Messages refused by the adaptive limit.",
               metric_type::counter);
      w.sample("roost_server_shed_total", {}, limit->shed());
    }
    write_breakers(w);
    if (exporter) exporter->write_metrics(w);
    return out;
  }
};

monitor::monitor(microservice& app, monitor_options opts) : impl_(std::make_shared<impl>()) {
  impl_->app = &app;
  if (opts.from_environment) {
    if (const char* v = std::getenv("ROOST_SIDE_PORT")) opts.side_port = v;
    opts.traces = otlp_options::from_environment(std::move(opts.traces));
  }
  if (!opts.traces.endpoint.empty()) {
    impl_->exporter = std::make_shared<otlp_exporter>(opts.traces);
    impl_->spans = std::make_shared<roost::tracer>(impl_->exporter);
    impl_->spans->chain(impl_->metrics);
    app.dispatcher().observe(impl_->spans);
    app.log().info("tracing", "exporting spans to " + opts.traces.endpoint + " as \"" +
                                  opts.traces.service_name + "\"");
  } else {
    app.dispatcher().observe(impl_->metrics);
  }
  if (!opts.side_port.empty() && opts.side_port != "off") {
    // The side port asks the monitor for what it serves; it holds it weakly, so that either
    // may go first.
    std::weak_ptr<impl> weak = impl_;
    detail::side_port::pages pages{.ready = [&app] { return app.ready(); },
                                   .metrics =
                                       [weak] {
                                         auto self = weak.lock();
                                         return self ? self->text() : std::string();
                                       }};
    impl_->port = detail::side_port::open(app.io_context(), opts, std::move(pages), app.log());
  }
}

monitor::~monitor() {
  if (impl_->port) impl_->port->close();
}

server_metrics& monitor::metrics() noexcept {
  return *impl_->metrics;
}

std::shared_ptr<roost::tracer> monitor::tracer() const noexcept {
  return impl_->spans;
}

otlp_exporter* monitor::exporter() const noexcept {
  return impl_->exporter.get();
}

void monitor::watch(std::string target, std::shared_ptr<const circuit_breaker> b) {
  std::lock_guard lock(impl_->breakers_mutex);
  impl_->breakers.emplace_back(std::move(target), std::move(b));
}

std::uint16_t monitor::port() const noexcept {
  return impl_->port ? impl_->port->port() : 0;
}

std::string monitor::metrics_text() const {
  return impl_->text();
}

}  // namespace roost::observability
