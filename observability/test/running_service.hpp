#pragma once
// What the side port's and the tracing tests run: a service serving TCP on 127.0.0.1 with a
// monitor (its side port on a free port, nothing from the environment, spans sent to `traces`
// when it names a collector, an adaptive limit when given one), run() on a thread of its own,
// stopped and joined on destruction.

#include <roost/observability/monitor.hpp>
#include <roost/roost.hpp>
#include <roost/tcp.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

namespace roost::observability::test {

struct running_service {
  explicit running_service(router& r, otlp_options traces = {},
                           std::optional<adaptive_limit::options> limit = std::nullopt)
      : app(r, {.threads = 2,
                .handle_signals = false,
                .concurrency_limit = std::move(limit),
                .from_environment = false}),
        tcp(app.add_transport(tcp::server({.host = "127.0.0.1", .port = 0}))),
        watch(
            app,
            {.side_port = "127.0.0.1:0", .from_environment = false, .traces = std::move(traces)}) {
    app.on_ready([this] { ready.set_value(); });
    runner = std::thread([this] { rc = app.run(); });
    if (ready.get_future().wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      throw std::runtime_error("the service did not start");
    }
  }
  ~running_service() {
    app.stop();
    runner.join();
  }
  running_service(const running_service&) = delete;
  running_service& operator=(const running_service&) = delete;

  microservice app;
  tcp::server& tcp;
  monitor watch;
  std::promise<void> ready;
  std::thread runner;
  int rc = -1;
};

}  // namespace roost::observability::test
