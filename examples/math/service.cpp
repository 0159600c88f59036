// The math service: a sum, an object pattern, a stream, an event and an error, served on TCP.
//   math_service [port [host]]   (default 3000 on 127.0.0.1; prints READY <port> once it listens)
// ROOST_SIDE_PORT (e.g. 0.0.0.0:9464) opens the side port: /healthz, /readyz, /metrics
// (docs/operations.md); deploy/ runs it in a container this way (docs/deployment.md). The other
// ROOST_* variables (threads, drain timeout, limits...) apply too; `--print-config` prints
// them all, as in force, and exits.

#include <roost/observability/monitor.hpp>
#include <roost/roost.hpp>
#include <roost/tcp.hpp>

#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  roost::config cfg;
  if (auto status = cfg.load(argc, argv)) return *status;  // a bad ROOST_* value, --print-config
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoi(argv[1]) : 3000);
  // In a container: 0.0.0.0, so that other pods reach it.
  const std::string host = argc > 2 ? argv[2] : "127.0.0.1";

  roost::router r;
  r.message("sum", [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message({{"cmd", "sum"}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message("count", [](int n) -> roost::stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message("divide", [](std::vector<double> xs) -> double {
    if (xs.size() != 2) throw roost::rpc_exception("divide takes [a, b]");
    if (xs[1] == 0)
      throw roost::rpc_exception(
          roost::json::object{{"code", 400}, {"message", "division by zero"}});
    return xs[0] / xs[1];
  });
  r.event("number.recorded", [](double x, roost::context& ctx) {
    std::printf("event %s: %g\n", ctx.route().c_str(), x);
    std::fflush(stdout);
  });

  roost::microservice app{r, cfg.apply(roost::microservice_options{})};
  auto& tcp = app.add_transport(
      roost::tcp::server({.host = host, .port = port, .serving = cfg.apply(roost::limits{})}));
  // No side port unless ROOST_SIDE_PORT names one.
  roost::observability::monitor watch(app, {});
  app.on_ready([&] {
    std::printf("READY %u\n", tcp.port());
    std::fflush(stdout);
  });
  return app.run();
}
