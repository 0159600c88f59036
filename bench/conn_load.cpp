// Many concurrent TCP connections on one roost server, a call on each, and what they cost the
// server: its peak resident memory over its footprint before them, per connection.
//   conn_load [--connections N] [--tsv FILE]        (N: 10000 by default)
// The server (a roost microservice on one thread, TCP on 127.0.0.1, port 0) runs in a child
// process, so that the client's sockets and buffers are not counted in its memory. Both raise
// their file limit (RLIMIT_NOFILE) to the hard limit; a hard limit below what N needs fails
// the run with a clear message. The client opens every connection, sends `sum` [1,2] on each
// and waits for every reply while all the connections stay open, then reads the server's
// /proc/PID/status. Every reply is checked; an error, a wrong value, a failed connection or a
// missing reply fails the run (exit 1). With --tsv, one line is appended:
//   date connections nofile_hard seconds base_kb peak_kb rss_kb bytes_per_connection
#include "proc_status.hpp"

#include <roost/roost.hpp>
#include <roost/tcp/detail/frame_codec.hpp>
#include <roost/tcp/server.hpp>

#include <boost/asio.hpp>
#include <boost/json/parse.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// Raises the soft file limit to the hard one; returns the hard limit.
rlim_t raise_file_limit() {
  rlimit l{};
  getrlimit(RLIMIT_NOFILE, &l);
  l.rlim_cur = l.rlim_max;
  setrlimit(RLIMIT_NOFILE, &l);
  return l.rlim_max;
}

// The child: a roost service answering `sum`, its port written to `fd` once it listens.
[[noreturn]] void serve(int fd) {
  roost::router r;
  r.message("sum", [](const std::vector<int>& xs) {
    int s = 0;
    for (int x : xs) s += x;
    return s;
  });
  roost::microservice app{r, {.threads = 1, .handle_signals = false}};
  auto server = std::make_unique<roost::tcp::server>(
      roost::tcp::server_options{.host = "127.0.0.1", .port = 0});
  auto* s = server.get();
  app.add_transport(std::move(server));
  app.on_ready([&] {
    const std::uint16_t port = s->port();
    if (write(fd, &port, sizeof port) != sizeof port) std::_Exit(3);
    close(fd);
  });
  std::_Exit(app.run());
}

struct run_state {
  tcp::endpoint server;
  int connecting = 0;  // connects under way: kept under the listen backlog
  int replied = 0, failed = 0;
  std::string first_failure;
  std::vector<std::shared_ptr<tcp::socket>> open;  // held until the measurement
};

void fail(run_state& rs, const std::string& why) {
  if (rs.failed++ == 0) rs.first_failure = why;
}

asio::awaitable<void> one_call(run_state& rs, int id) {
  auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<tcp::socket>(ex);
  ++rs.connecting;
  auto [ec] = co_await s->async_connect(rs.server, asio::as_tuple(asio::use_awaitable));
  --rs.connecting;
  if (ec) {
    fail(rs, "connect: " + ec.message());
    co_return;
  }
  rs.open.push_back(s);
  std::string frame;
  roost::tcp::detail::append_frame(
      frame, R"({"pattern":"sum","data":[1,2],"id":")" + std::to_string(id) + "\"}");
  auto [wec, n] =
      co_await asio::async_write(*s, asio::buffer(frame), asio::as_tuple(asio::use_awaitable));
  if (wec) {
    fail(rs, "write: " + wec.message());
    co_return;
  }
  roost::tcp::detail::frame_decoder dec;
  char buf[512];
  for (;;) {
    auto [rec, got] =
        co_await s->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec) {
      fail(rs, "read: " + rec.message());
      co_return;
    }
    dec.feed(std::string_view(buf, got));
    auto f = dec.next();
    if (!f) {
      fail(rs, "bad frame: " + dec.error_message());
      co_return;
    }
    if (!*f) continue;
    boost::system::error_code pec;
    const auto reply = boost::json::parse(**f, pec);
    const auto* o = reply.if_object();
    const auto* response = o ? o->if_contains("response") : nullptr;
    if (pec || !response || !response->is_number() || response->to_number<double>() != 3 ||
        o->if_contains("err")) {
      fail(rs, "bad reply: " + std::string(**f));
    } else {
      ++rs.replied;
    }
    co_return;
  }
}

asio::awaitable<void> open_all(run_state& rs, int connections) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer pause(ex);
  for (int i = 0; i < connections; ++i) {
    // Connects beyond the listen backlog would be dropped and retried a second later.
    while (rs.connecting >= 1000) {
      pause.expires_after(std::chrono::milliseconds(1));
      co_await pause.async_wait(asio::use_awaitable);
    }
    asio::co_spawn(ex, one_call(rs, i), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int connections = 10'000;
  std::string tsv;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--connections") == 0) connections = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--tsv") == 0) tsv = argv[i + 1];
  }
  const rlim_t hard = raise_file_limit();
  // Each side holds one descriptor a connection, and a few of its own.
  if (connections <= 0 || hard < static_cast<rlim_t>(connections) + 64) {
    std::fprintf(stderr,
                 "conn_load: %d connections need a file limit of %d; the hard limit is %lu\n",
                 connections, connections + 64, static_cast<unsigned long>(hard));
    return 2;
  }

  int fds[2];
  if (pipe(fds) != 0) return 2;
  const pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) {
    close(fds[0]);
    serve(fds[1]);
  }
  close(fds[1]);
  std::uint16_t port = 0;
  const bool started = read(fds[0], &port, sizeof port) == sizeof port;
  close(fds[0]);
  auto stop_child = [&] {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  };
  if (!started) {
    std::fprintf(stderr, "conn_load: the server did not start\n");
    stop_child();
    return 1;
  }

  asio::io_context ioc;
  run_state rs;
  rs.server = tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
  // One call first, so that what the server sets up on its first request is in its base.
  asio::co_spawn(ioc, one_call(rs, -1), asio::detached);
  ioc.run();
  if (rs.replied != 1) {
    std::fprintf(stderr, "conn_load: the first call failed: %s\n", rs.first_failure.c_str());
    stop_child();
    return 1;
  }
  rs.open.clear();
  rs.replied = 0;
  ioc.restart();
  const long base_kb = bench::status_kb(child, "VmRSS");

  const auto t0 = clock_type::now();
  asio::co_spawn(ioc, open_all(rs, connections), asio::detached);
  ioc.run();
  const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  const long peak_kb = bench::status_kb(child, "VmHWM"), rss_kb = bench::status_kb(child, "VmRSS");
  const int held = static_cast<int>(rs.open.size());
  rs.open.clear();
  stop_child();

  const double per_conn = (peak_kb - base_kb) * 1024.0 / connections;
  std::printf(
      "conn_load: %d connections (file limit %lu): %d replied, %d failed, %d held open at the "
      "end, in %.2f s\n"
      "conn_load: server RSS %ld KiB before, peak %ld KiB, %ld KiB with all open: %.0f bytes "
      "per connection\n",
      connections, static_cast<unsigned long>(hard), rs.replied, rs.failed, held, seconds, base_kb,
      peak_kb, rss_kb, per_conn);
  if (rs.failed > 0)
    std::fprintf(stderr, "conn_load: first failure: %s\n", rs.first_failure.c_str());
  const bool ok = rs.failed == 0 && rs.replied == connections && held == connections;
  if (ok && !tsv.empty()) {
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::ofstream out(tsv, std::ios::app);
    out << date << '\t' << connections << '\t' << hard << '\t' << seconds << '\t' << base_kb << '\t'
        << peak_kb << '\t' << rss_kb << '\t' << static_cast<long>(per_conn) << '\n';
  }
  return ok ? 0 : 1;
}
