// roost's own client as a load generator: roost::client_proxy over the client transport the URL
// names (tcp://, redis://, nats://...), K coroutines each calling `sum [1,2,3]` in a loop for a
// fixed time; prints the same JSON as bench/loadgen, redis_loadgen and nats_loadgen. Every reply
// is checked, warm-up included: an error or a value other than 6 is counted apart, never as
// served, and fails the run (exit 1), as does a request still unanswered 5 s after the end.
// `--inflight 0` connects and closes without a call (the idle run of bench/client-instructions.sh).
//   client_loadgen --url nats://127.0.0.1:4222 [--inflight K] [--seconds S] [--warmup W]

#include "reply_check.hpp"

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

using clock_type = std::chrono::steady_clock;

namespace {

struct run_state {
  clock_type::time_point measure_from, stop;
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t completed = 0;
  bench::failures failed{"client_loadgen"};
  int running = 0;
};

roost::awaitable<void> worker(roost::client_proxy& c, run_state& rs) {
  const std::vector<int> xs{1, 2, 3};
  while (clock_type::now() < rs.stop) {
    const auto sent = clock_type::now();
    bool ok = false;
    try {
      const int v = co_await c.send<int>("sum", xs);
      ok = v == 6;
      if (!ok) {
        ++rs.failed.wrong;
        const auto text = std::to_string(v);
        rs.failed.complain("a wrong value", text);
      }
    } catch (const std::exception& e) {
      ++rs.failed.errors;
      rs.failed.complain("an error reply", e.what());
    }
    const auto now = clock_type::now();
    if (ok && sent >= rs.measure_from && now < rs.stop) {
      ++rs.completed;
      rs.latencies_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count()));
    }
  }
  --rs.running;
}

double pct(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p / 100.0 * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "nats://127.0.0.1:4222";
  int inflight = 16;
  double seconds = 5, warmup = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--url") {
      url = v;
    } else if (k == "--inflight") {
      inflight = std::stoi(v);
    } else if (k == "--seconds") {
      seconds = std::stod(v);
    } else if (k == "--warmup") {
      warmup = std::stod(v);
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
  roost::client_proxy c(ioc.get_executor(), std::move(*transport));
  run_state rs;
  int failed = 0;
  boost::asio::co_spawn(
      ioc,
      [&]() -> roost::awaitable<void> {
        co_await c.connect();
        std::printf("START\n");  // the warm-up begins: bench/lib.sh times its CPU samples from here
        std::fflush(stdout);
        const auto start = clock_type::now();
        rs.measure_from = start + std::chrono::duration_cast<clock_type::duration>(
                                      std::chrono::duration<double>(warmup));
        rs.stop = rs.measure_from + std::chrono::duration_cast<clock_type::duration>(
                                        std::chrono::duration<double>(seconds));
        rs.running = inflight;
        for (int k = 0; k < inflight; ++k) {
          boost::asio::co_spawn(ioc, worker(c, rs), boost::asio::detached);
        }
      },
      [&](std::exception_ptr e) {
        if (e) ++failed;
      });
  // Runs until every worker has seen the stop time.
  while (!ioc.stopped()) {
    ioc.run_for(std::chrono::milliseconds(50));
    if (failed || (rs.running == 0 && rs.stop != clock_type::time_point{})) break;
    if (rs.stop != clock_type::time_point{} &&
        clock_type::now() > rs.stop + std::chrono::seconds(5)) {
      rs.failed.lost = static_cast<std::uint64_t>(rs.running);  // each worker waits for one reply
      break;
    }
  }
  c.close();
  auto& l = rs.latencies_us;
  std::printf("{\"inflight\":%d,\"connections\":1,\"seconds\":%.1f,\"requests\":%llu,", inflight,
              seconds, static_cast<unsigned long long>(rs.completed));
  rs.failed.print_fields();
  std::printf(
      "\"failed_connections\":%d,\"rps\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
      "\"p999_us\":%.0f}\n",
      failed, rs.completed / seconds, pct(l, 50), pct(l, 99), pct(l, 99.9));
  std::fflush(stdout);
  if (inflight == 0) return failed == 0 && rs.failed.total() == 0 ? 0 : 1;  // the idle run
  return rs.failed.verdict(rs.completed, failed);
}
