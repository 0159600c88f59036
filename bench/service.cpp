// The roost service of the Kafka benchmark, the twin of bench/nest/service.mjs: what a user
// writes for what is measured, and nothing else (roost_peer serves the whole conformance suite,
// whose topics a Kafka server would all read): `sum` (a request), `tally` (an event, counted)
// and `tally.count` (the count so far, a request), on the transport of --url.
//   bench_service --url kafka://127.0.0.1:9092/?groupId=G     prints READY 0
#include <roost/roost.hpp>
#include <roost/transports.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::string url;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--url") url = argv[i + 1];
  }
  auto u = roost::url::parse(url);
  auto transport = u ? roost::make_server(*u) : make_error_code(roost::error::invalid_argument);
  if (!transport) {
    std::fprintf(stderr, "bench_service: bad --url %s\n", url.c_str());
    return 2;
  }
  roost::router r;
  r.message("sum", [](const std::vector<double>& xs) {
    double s = 0;
    for (double x : xs) s += x;
    return s;
  });
  // The handlers run on the one thread of the service.
  std::uint64_t tally = 0;
  r.event("tally", [&tally](const roost::json::value&) { ++tally; });
  r.message("tally.count", [&tally](const roost::json::value&) { return tally; });
  roost::microservice app{r, {.threads = 1}};
  app.add_transport(std::move(*transport));
  app.on_ready([] {
    std::printf("READY 0\n");
    std::fflush(stdout);
  });
  return app.run();
}
