// The soak run (`make soak`, docs/reliability.md): mixed traffic on every transport of this
// build for a set time, sampling each server's resident memory, open file descriptors and p99
// latency every interval, and failing when one of them trends upward after the warm-up.
//   soak [--seconds S] [--interval I] [--warmup W] [--rate R] [--transports tcp,ws,...]
//        [--tsv FILE] [--samples FILE]
// S: 600 by default; I: the sampling interval (S / 60, at least 2 s); W: what is left out of the
// trends (a quarter of S; the allocator and the clients' buffers grow to their working size
// first); R: requests a second on each transport (20), with an event after every second request.
// The transports: tcp, ws, grpc and the brokers' redis, nats, rmq, mqtt, kafka, each one's URL
// in ROOST_<BROKER>_URL (scripts/brokers.sh env); a broker without its URL fails the run.
//
// Each server is a roost microservice on one thread in a child process of its own, so that its
// memory and descriptors are its own; every client (roost::client_proxy over make_client) is in
// this process, on one thread. The routes are the run's own (`soak.<random>.sum`, a queue and
// consumer group of its own), as the brokers are shared. Every reply is checked: an error, a
// wrong value, a call unanswered in 10 s, or an event count other than the events sent (the
// server counts them; asked at the end) fails the run.
//
// The trends (Theil-Sen slopes over the samples after the warm-up; bench/trend.hpp), and why
// these limits:
// - resident memory: under max(256 KiB, 16 bytes per message) a minute. A leak of one small
//   allocation per message (32 bytes and up, malloc's smallest chunk) passes the second term;
//   the first is the noise of a steady server here (pages the allocator takes and gives back:
//   tens of KiB between samples), which a 60 s run cannot average away.
// - file descriptors: under 1 a minute. One a minute is 1,440 a day: a default limit of 1,024
//   runs out within a day.
// - p99 latency: its fitted rise over the measured time under the median p99 (and 5 ms), or
//   the last third of the samples not 1.5 times the first (median against median). A queue
//   or a table that grows with every call doubles the p99 long before it fails, and shows in
//   both; on a loaded machine single intervals jump by more, which medians leave out.
// Also the client process's memory and descriptors (`clients`), with the same limits.
// With --tsv, one line per transport is appended:
//   date transport seconds rate requests events failures rss_start_kb rss_end_kb
//   rss_slope_kb_min fds_start fds_end fd_slope_min p99_ms p99_slope_ms_min verdict
// With --samples, every sample: date transport t_s rss_kb fds p99_ms.
#include "proc_status.hpp"
#include "soak_lane.hpp"
#include "trend.hpp"

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/transports.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using bench::clock_type;

namespace {

struct soak_options {
  double seconds = 600, interval = 0, warmup = -1, rate = 20;
  std::vector<std::string> transports;
  std::string tsv, samples;
};

// The child: the lane's server, a byte written to `fd` once it serves; never returns.
[[noreturn]] void serve(const bench::soak_lane& lane, int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // a soak run that dies takes its servers with it
  auto u = roost::url::parse(lane.server_url);
  auto transport = u ? roost::make_server(*u) : make_error_code(roost::error::invalid_argument);
  if (!transport) {
    std::fprintf(stderr, "soak: %s: bad server URL %s\n", lane.name.c_str(),
                 lane.server_url.c_str());
    std::_Exit(2);
  }
  roost::router r;
  bench::add_soak_handlers(r, lane);
  roost::microservice app{r, {.threads = 1, .handle_signals = false}};
  app.add_transport(std::move(*transport));
  app.on_ready([fd] {
    const char ready = 1;
    if (write(fd, &ready, 1) != 1) std::_Exit(3);
    close(fd);
  });
  std::_Exit(app.run());
}

// Starts the lane's server; false (and why, on stderr) when it does not serve within 60 s.
bool start_server(bench::soak_lane& lane) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::fflush(nullptr);  // what is buffered is written once, not once per process
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    close(fds[0]);
    serve(lane, fds[1]);
  }
  close(fds[1]);
  lane.server_pid = child;
  pollfd p{fds[0], POLLIN, 0};
  char ready = 0;
  const bool ok = poll(&p, 1, 60'000) == 1 && read(fds[0], &ready, 1) == 1;
  close(fds[0]);
  if (!ok) std::fprintf(stderr, "soak: %s: the server did not start in 60 s\n", lane.name.c_str());
  return ok;
}

// Every interval: each server's memory, descriptors and the interval's p99, and the clients'.
asio::awaitable<void> sample(std::vector<std::unique_ptr<bench::soak_lane>>& lanes,
                             bench::series& clients, clock_type::time_point t0,
                             clock_type::time_point stop, std::chrono::milliseconds every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (auto next = t0 + every; next <= stop; next += every) {
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
    const double t = std::chrono::duration<double>(clock_type::now() - t0).count();
    for (auto& l : lanes) {
      l->samples.add(t, bench::status_kb(l->server_pid, "VmRSS"), bench::open_fds(l->server_pid),
                     l->take_p99_ms());
    }
    clients.add(t, bench::status_kb(getpid(), "VmRSS"), bench::open_fds(getpid()), 0);
  }
}

// `s`'s verdict after the warm-up, printed; true when nothing trends upward.
bool judge(const std::string& name, const bench::series& s, const bench::soak_lane* lane,
           double messages_per_second, const soak_options& o, std::ofstream* tsv,
           const std::string& date) {
  const bench::trend tr = s.fit(o.warmup, messages_per_second);
  const bool failures = lane && lane->failures() > 0;
  const bool ok = tr.ok() && !failures;
  std::printf(
      "soak: %-7s %s: RSS %ld -> %ld KiB (%+.0f KiB/min, limit %.0f), fds %ld -> %ld (%+.2f/min), "
      "p99 %.2f ms (%+.2f ms/min, limit %.2f)%s\n",
      name.c_str(), ok ? "ok  " : "FAIL", tr.rss_start, tr.rss_end, tr.rss_slope, tr.rss_limit,
      tr.fds_start, tr.fds_end, tr.fd_slope, tr.p99, tr.p99_slope, tr.p99_limit,
      tr.why.empty() ? "" : ("; " + tr.why).c_str());
  if (tsv) {
    *tsv << date << '\t' << name << '\t' << o.seconds << '\t' << o.rate << '\t'
         << (lane ? lane->requests_ok : 0) << '\t' << (lane ? lane->events_sent : 0) << '\t'
         << (lane ? lane->failures() : 0) << '\t' << tr.rss_start << '\t' << tr.rss_end << '\t'
         << tr.rss_slope << '\t' << tr.fds_start << '\t' << tr.fds_end << '\t' << tr.fd_slope
         << '\t' << tr.p99 << '\t' << tr.p99_slope << '\t' << (ok ? "pass" : "fail") << '\n';
  }
  return ok;
}

bool read_options(int argc, char** argv, soak_options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--seconds") {
      o.seconds = std::stod(v);
    } else if (k == "--interval") {
      o.interval = std::stod(v);
    } else if (k == "--warmup") {
      o.warmup = std::stod(v);
    } else if (k == "--rate") {
      o.rate = std::stod(v);
    } else if (k == "--transports") {
      std::stringstream in(v);
      for (std::string t; std::getline(in, t, ',');) o.transports.push_back(t);
    } else if (k == "--tsv") {
      o.tsv = v;
    } else if (k == "--samples") {
      o.samples = v;
    } else {
      std::fprintf(stderr, "soak: unknown option %s\n", k.c_str());
      return false;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "soak: %s wants a value\n", argv[argc - 1]);
    return false;
  }
  if (o.interval <= 0) o.interval = std::max(2.0, o.seconds / 60);
  if (o.warmup < 0) o.warmup = o.seconds / 4;
  if (o.seconds < o.warmup + 4 * o.interval || o.rate <= 0) {
    std::fprintf(stderr, "soak: too short: four samples after the warm-up are needed\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  soak_options o;
  if (!read_options(argc, argv, o)) return 2;
  std::vector<std::unique_ptr<bench::soak_lane>> lanes;
  try {
    const std::string run = "soak." + roost::testing::unique_number();
    for (auto& l : bench::soak_lanes(run, o.transports)) {
      lanes.push_back(std::make_unique<bench::soak_lane>(std::move(l)));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 2;
  }
  // Every server is forked before this process starts a thread or an io_context.
  bool started = true;
  for (auto& l : lanes) started = started && start_server(*l);
  auto stop_servers = [&] {
    for (auto& l : lanes) {
      if (l->server_pid > 0) {
        kill(l->server_pid, SIGKILL);
        waitpid(l->server_pid, nullptr, 0);
      }
    }
  };
  if (!started) {
    stop_servers();
    return 1;
  }

  asio::io_context ioc(1);
  for (auto& l : lanes) l->make_client(ioc.get_executor());
  bench::series clients;
  int ready = 0;
  for (auto& l : lanes) {
    asio::co_spawn(ioc, l->get_ready(), [&](std::exception_ptr) { ++ready; });
  }
  while (ready < static_cast<int>(lanes.size()) && !ioc.stopped()) ioc.run_one();
  bool all_ready = true;
  for (auto& l : lanes) all_ready = all_ready && l->failures() == 0;

  const auto every = std::chrono::milliseconds(static_cast<long>(o.interval * 1000));
  const auto t0 = clock_type::now();
  const auto stop = t0 + std::chrono::milliseconds(static_cast<long>(o.seconds * 1000));
  int finished = 0;
  if (all_ready) {
    std::printf(
        "soak: %zu transports, %.0f requests/s each and an event every second one, %.0f s "
        "(samples every %.1f s, trends after %.0f s)\n",
        lanes.size(), o.rate, o.seconds, o.interval, o.warmup);
    std::fflush(stdout);
    asio::co_spawn(ioc, sample(lanes, clients, t0, stop, every), asio::detached);
    for (auto& l : lanes) {
      asio::co_spawn(ioc, l->drive(t0, stop, o.rate), [&](std::exception_ptr) { ++finished; });
    }
    while (finished < static_cast<int>(lanes.size()) && !ioc.stopped()) ioc.run_one();
  }
  for (auto& l : lanes) l->close();
  ioc.run_for(1s);  // the closes' last steps
  // The clients go while their io_context is still there.
  for (auto& l : lanes) l->client.reset();
  ioc.run_for(100ms);
  stop_servers();

  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  std::unique_ptr<std::ofstream> tsv;
  if (!o.tsv.empty() && all_ready) tsv = std::make_unique<std::ofstream>(o.tsv, std::ios::app);
  bool ok = all_ready;
  double all_messages = 0;
  for (auto& l : lanes) {
    // A request, and an event after every second one (gRPC: requests only).
    const double messages = o.rate * (l->grpc ? 1 : 1.5);
    if (all_ready) ok = judge(l->name, l->samples, l.get(), messages, o, tsv.get(), date) && ok;
    all_messages += messages;
    l->report();
  }
  if (all_ready) ok = judge("clients", clients, nullptr, all_messages, o, tsv.get(), date) && ok;
  if (!o.samples.empty()) {
    std::ofstream out(o.samples, std::ios::app);
    for (auto& l : lanes) l->samples.write(out, date, l->name);
    clients.write(out, date, "clients");
  }
  std::printf("soak: %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}
