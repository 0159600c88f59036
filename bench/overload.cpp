// The adaptive concurrency limit under overload (docs/resilience.md, "Overload";
// bench/overload.sh): a TCP service whose handler has a known capacity, driven at a fixed rate
// whatever its answers (open loop, as independent callers are), with the limit off or on.
//   overload serve [--workers 8] [--cost-ms 10] [--limit off|adaptive]   (prints READY <port>)
//   overload drive --port P --rate R [--seconds 5] [--warmup 1]
// The service's "work" holds one of `workers` slots for `cost-ms` (roost::testing::worker_pool):
// workers / cost calls a second at most. The driver sends `rate` calls a second through
// roost::client_proxy and prints one JSON line for the calls scheduled in the measured seconds:
// how many were answered, shed ("Too many requests in flight") or failed otherwise, and the
// latency of those answered, from when each was due (a late send counts as waiting); and the
// goodput: calls answered (not shed) per second within the measured seconds.
// Any other error, or a call unanswered 120 s after the last was sent, fails the run (exit 1).

#include <roost/roost.hpp>
#include <roost/tcp.hpp>
#include <roost/testing/worker_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

int serve(std::size_t workers, double cost_ms, bool adaptive) {
  roost::testing::worker_pool pool(
      workers, std::chrono::microseconds(static_cast<std::int64_t>(cost_ms * 1000)));
  roost::router r;
  r.message("work", [&pool]() -> roost::awaitable<int> {
    co_await pool.work();
    co_return 1;
  });
  roost::microservice_options o;
  o.threads = 1;  // the pool is single-threaded
  o.from_environment = false;
  if (adaptive) o.concurrency_limit = roost::adaptive_limit::options{};
  roost::microservice app(r, o);
  auto& srv = app.add_transport(roost::tcp::server({.host = "127.0.0.1", .port = 0}));
  app.on_ready([&srv] {
    std::printf("READY %u\n", static_cast<unsigned>(srv.port()));
    std::fflush(stdout);
  });
  const int rc = app.run();
  if (const auto& l = app.dispatcher().limiter()) {
    std::fprintf(stderr, "overload: limit %zu at the end, %llu shed\n", l->limit(),
                 static_cast<unsigned long long>(l->shed()));
  }
  return rc;
}

struct drive_state {
  clock_type::time_point measured_from, measured_until;
  std::size_t sent = 0, done = 0, ok = 0, shed = 0, errors = 0;
  std::size_t goodput = 0;  // calls answered (not shed) within the measured seconds
  std::vector<std::int64_t> latencies_us;
  std::string first_error;
};

roost::awaitable<void> one_call(roost::client_proxy& c, drive_state& s,
                                clock_type::time_point due) {
  const bool measured = due >= s.measured_from && due < s.measured_until;
  try {
    (void)co_await c.send<int>("work", 0);
    const auto end = clock_type::now();
    if (end >= s.measured_from && end < s.measured_until) ++s.goodput;
    if (measured) {
      ++s.ok;
      s.latencies_us.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(end - due).count());
    }
  } catch (const roost::rpc_error& e) {
    if (e.message() == roost::too_many_in_flight_message) {
      if (measured) ++s.shed;
    } else {
      ++s.errors;
      if (s.first_error.empty()) s.first_error = e.what();
    }
  } catch (const std::exception& e) {
    ++s.errors;
    if (s.first_error.empty()) s.first_error = e.what();
  }
  ++s.done;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

int drive(std::uint16_t port, double rate, double seconds, double warmup) {
  asio::io_context ioc;
  drive_state s;
  int rc = 0;
  asio::co_spawn(
      ioc,
      [&]() -> roost::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        roost::client_proxy c(ex, roost::tcp::client({.host = "127.0.0.1", .port = port}));
        co_await c.connect();
        const auto start = clock_type::now();
        const auto gap = std::chrono::duration<double>(1.0 / rate);
        s.measured_from = start + std::chrono::duration_cast<clock_type::duration>(
                                      std::chrono::duration<double>(warmup));
        s.measured_until = s.measured_from + std::chrono::duration_cast<clock_type::duration>(
                                                 std::chrono::duration<double>(seconds));
        asio::steady_timer t(ex);
        for (std::size_t i = 0;; ++i) {
          const auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                       gap * static_cast<double>(i));
          if (due >= s.measured_until) break;
          t.expires_at(due);
          co_await t.async_wait(asio::use_awaitable);
          ++s.sent;
          asio::co_spawn(ex, one_call(c, s, due), asio::detached);
        }
        const auto give_up = clock_type::now() + 120s;
        while (s.done < s.sent && clock_type::now() < give_up) {
          t.expires_after(10ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        if (s.done < s.sent) {
          std::fprintf(stderr, "overload: %zu calls unanswered\n", s.sent - s.done);
          rc = 1;
        }
        c.close();
      },
      [&](std::exception_ptr e) {
        if (e) rc = 1;
      });
  ioc.run();
  if (s.errors) {
    std::fprintf(stderr, "overload: %zu errors, the first: %s\n", s.errors, s.first_error.c_str());
    rc = 1;
  }
  const double measured = static_cast<double>(s.ok + s.shed);
  std::printf(
      "{\"rate\":%.0f,\"sent\":%zu,\"calls\":%.0f,\"ok\":%zu,\"shed\":%zu,\"shed_share\":%.4f,"
      "\"goodput_rps\":%.1f,\"p50_us\":%lld,\"p99_us\":%lld}\n",
      rate, s.sent, measured, s.ok, s.shed,
      measured > 0 ? static_cast<double>(s.shed) / measured : 0.0,
      static_cast<double>(s.goodput) / seconds,
      static_cast<long long>(percentile(s.latencies_us, 0.5)),
      static_cast<long long>(percentile(s.latencies_us, 0.99)));
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: overload serve|drive [--key value]...\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  std::size_t workers = 8;
  double cost_ms = 10, rate = 800, seconds = 5, warmup = 1;
  bool adaptive = false;
  unsigned port = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--workers") {
      workers = std::stoul(v);
    } else if (k == "--cost-ms") {
      cost_ms = std::stod(v);
    } else if (k == "--limit") {
      adaptive = v == "adaptive";
    } else if (k == "--port") {
      port = static_cast<unsigned>(std::stoul(v));
    } else if (k == "--rate") {
      rate = std::stod(v);
    } else if (k == "--seconds") {
      seconds = std::stod(v);
    } else if (k == "--warmup") {
      warmup = std::stod(v);
    } else {
      std::fprintf(stderr, "overload: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (mode == "serve") return serve(workers, cost_ms, adaptive);
  if (mode == "drive") return drive(static_cast<std::uint16_t>(port), rate, seconds, warmup);
  std::fprintf(stderr, "overload: serve or drive, not %s\n", argv[1]);
  return 2;
}
