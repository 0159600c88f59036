// roost's own client as a load generator: roost::client_proxy over the client transport the URL
// names (tcp://, redis://, nats://...), K coroutines each calling `sum [1,2,3]` in a loop for a
// fixed time; prints the same JSON as bench/loadgen, redis_loadgen and nats_loadgen. Every reply
// is checked, warm-up included: an error or a value other than 6 is counted apart, never as
// served, and fails the run (exit 1), as does a request still unanswered 5 s after the end.
// `--inflight 0` connects and closes without a call (the idle run of bench/client-instructions.sh).
//   client_loadgen --url nats://127.0.0.1:4222 [--inflight K] [--seconds S] [--warmup W]

#include "load_run.hpp"

#include <roost/roost.hpp>
#include <roost/transports.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using bench::clock_type;

namespace {

struct run_state {
  bench::load_run run{"client_loadgen"};
  int running = 0;  // workers still calling
};

roost::awaitable<void> worker(roost::client_proxy& c, run_state& rs) {
  const std::vector<int> xs{1, 2, 3};
  while (rs.run.running(clock_type::now())) {
    const auto sent = clock_type::now();
    bool ok = false;
    try {
      const int v = co_await c.send<int>("sum", xs);
      ok = v == 6;
      if (!ok) {
        ++rs.run.failed.wrong;
        const auto text = std::to_string(v);
        rs.run.failed.complain("a wrong value", text);
      }
    } catch (const std::exception& e) {
      ++rs.run.failed.errors;
      rs.run.failed.complain("an error reply", e.what());
    }
    if (ok) rs.run.served(sent, clock_type::now());
  }
  --rs.running;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "nats://127.0.0.1:4222";
  bench::load_options o;  // the call is always `sum [1,2,3]`, typed: no --pattern, --data
  roost::client_options copts;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--url") {
      url = v;
    } else if (k == "--trace") {
      // Every call traced: spans made and dropped (no exporter), to count what one costs.
      if (v == "1") copts.tracer = std::make_shared<roost::tracer>(nullptr);
    } else if (k == "--inflight" || k == "--seconds" || k == "--warmup") {
      o.read(k, v);
    } else {
      std::fprintf(stderr, "client_loadgen: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  auto u = roost::url::parse(url);
  auto transport = u ? roost::make_client(*u, roost::logger::silent())
                     : make_error_code(roost::error::invalid_argument);
  if (!transport) {
    std::fprintf(stderr, "client_loadgen: bad --url %s\n", url.c_str());
    return 2;
  }
  boost::asio::io_context ioc(1);
  roost::client_proxy c(ioc.get_executor(), std::move(*transport), copts);
  run_state rs;
  int failed = 0;
  boost::asio::co_spawn(
      ioc,
      [&]() -> roost::awaitable<void> {
        co_await c.connect();
        rs.run.start(o);
        rs.running = o.inflight;
        for (int k = 0; k < o.inflight; ++k) {
          boost::asio::co_spawn(ioc, worker(c, rs), boost::asio::detached);
        }
      },
      [&](std::exception_ptr e) {
        if (e) ++failed;
      });
  // Runs until every worker has seen the stop time.
  while (!ioc.stopped()) {
    ioc.run_for(std::chrono::milliseconds(50));
    if (failed || (rs.running == 0 && rs.run.started())) break;
    if (rs.run.started() && clock_type::now() > rs.run.stop() + std::chrono::seconds(5)) {
      rs.run.failed.lost = static_cast<std::uint64_t>(rs.running);  // each waits for one reply
      break;
    }
  }
  c.close();
  if (o.inflight == 0) {  // the idle run: nothing to serve
    rs.run.report(o, 1, failed);
    return failed == 0 && rs.run.failed.total() == 0 ? 0 : 1;
  }
  return rs.run.finish(o, 1, failed);
}
