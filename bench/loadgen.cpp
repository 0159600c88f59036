// Load generator for NestJS-TCP-protocol servers: keeps K requests in flight over C
// connections for a fixed time and reports throughput and latency percentiles as JSON. The K
// requests are shared out over the connections (K=1000 over C=1000: one each; K=256 over 64:
// four each), each connection sending a new request as soon as one of its replies arrives.
//   loadgen --port P [--host H] [--inflight K] [--connections C] [--seconds S]
//           [--pattern sum] [--data '[1,2,3]'] [--slow-every N --slow-pattern slow --slow-data 5]
// With --slow-every N, every Nth request goes to the slow pattern and only the others count
// in the latency figures (head-of-line blocking shows in their p99).
// Every reply is checked, warm-up included: its id must be one in flight, and its `response`
// must equal --expect (6, the sum of the default data; --slow-expect for the slow pattern, by
// default its data). An error reply, a wrong value, an unknown id, a reply that never came or a
// failed connection is counted apart, never as served, and makes the run fail (exit 1, with the
// first few reasons on stderr).

#include <roost/tcp/detail/frame_codec.hpp>
#include "load_run.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using bench::clock_type;

namespace {

struct options : bench::load_options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int connections = 1;
  int slow_every = 0;
  int idle = 0;  // open this many connections, send nothing, hold them for `seconds`
  std::string slow_pattern = "slow", slow_data = "5";
  double slow_expect = 5;
  bool slow_expect_given = false;
};

struct run_state {
  const options* opt;
  tcp::resolver::results_type endpoints;  // resolved once for all connections
  bench::load_run run{"loadgen"};         // the latencies are the fast requests' only
  std::uint64_t in_flight = 0;            // what is left when the run ends is lost
  std::uint64_t next_id = 0;
};

std::string frame_for(const std::string& pattern, const std::string& data, std::uint64_t id) {
  std::string body = "{\"pattern\":\"" + pattern + "\",\"data\":" + data + ",\"id\":\"" +
                     std::to_string(id) + "\"}";
  std::string out;
  roost::tcp::detail::append_frame(out, body);
  return out;
}

asio::awaitable<void> connection(run_state& rs, int inflight) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  co_await asio::async_connect(s, rs.endpoints, asio::use_awaitable);
  s.set_option(tcp::no_delay(true));
  std::unordered_map<std::uint64_t, std::pair<clock_type::time_point, bool>> pending;
  std::string out;
  auto issue = [&] {
    const auto id = ++rs.next_id;
    const bool slow = rs.opt->slow_every > 0 && id % rs.opt->slow_every == 0;
    out += slow ? frame_for(rs.opt->slow_pattern, rs.opt->slow_data, id)
                : frame_for(rs.opt->pattern, rs.opt->data, id);
    pending.emplace(id, std::pair{clock_type::now(), slow});
    ++rs.in_flight;
  };
  for (int i = 0; i < inflight; ++i) issue();
  roost::tcp::detail::frame_decoder dec;
  // Room for every reply in flight many times over (about 45 bytes each), so that a thousand
  // connections do not each hold 256 KiB.
  std::vector<char> buf(
      std::clamp<std::size_t>(inflight * std::size_t{1024}, 16 * 1024, 256 * 1024));
  bool writing = false;
  std::string sending;
  // Writes whatever was issued, batching: one write per read turn.
  for (;;) {
    if (!out.empty() && !writing) {
      sending.swap(out);
      out.clear();
      co_await asio::async_write(s, asio::buffer(sending), asio::use_awaitable);
      sending.clear();
    }
    if (pending.empty()) break;
    const std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
    dec.feed(std::string_view(buf.data(), n));
    const auto now = clock_type::now();
    for (;;) {
      auto f = dec.next();
      if (!f || !*f) break;
      const bench::reply r = bench::read_reply(**f);
      auto it = r.has_id ? pending.find(r.id) : pending.end();
      if (it == pending.end()) {
        rs.run.failed.not_in_flight(**f);
        continue;
      }
      const auto [sent, slow] = it->second;
      pending.erase(it);
      --rs.in_flight;
      if (rs.run.failed.check(r, slow ? rs.opt->slow_expect : rs.opt->expect, **f)) {
        rs.run.served(sent, now, !slow);
      }
      if (rs.run.running(now)) issue();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (o.read(k, v)) continue;
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = static_cast<unsigned short>(std::stoi(v));
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--slow-every")
      o.slow_every = std::stoi(v);
    else if (k == "--slow-pattern")
      o.slow_pattern = v;
    else if (k == "--slow-data")
      o.slow_data = v;
    else if (k == "--idle")
      o.idle = std::stoi(v);
    else if (k == "--slow-expect") {
      o.slow_expect = std::stod(v);
      o.slow_expect_given = true;
    } else {
      std::fprintf(stderr, "loadgen: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (!o.port) {
    std::fprintf(stderr, "loadgen: --port is required\n");
    return 2;
  }
  if (!o.slow_expect_given) o.slow_expect = std::stod(o.slow_data);  // `slow` answers its data
  asio::io_context ioc(1);
  if (o.idle > 0) {
    // Idle connections, for measuring what each costs the server.
    std::vector<tcp::socket> held;
    tcp::resolver r(ioc);
    auto eps = r.resolve(o.host, std::to_string(o.port));
    for (int i = 0; i < o.idle; ++i) {
      tcp::socket s(ioc);
      asio::connect(s, eps);
      held.push_back(std::move(s));
    }
    std::printf("IDLE %d\n", o.idle);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    return 0;
  }
  run_state rs{&o};
  rs.endpoints = tcp::resolver(ioc).resolve(o.host, std::to_string(o.port));
  rs.run.start(o);
  int failed = 0;
  for (int c = 0; c < o.connections; ++c) {
    const int share = o.inflight / o.connections + (c < o.inflight % o.connections ? 1 : 0);
    asio::co_spawn(ioc, connection(rs, std::max(share, 1)), [&](std::exception_ptr e) {
      if (e) ++failed;
    });
  }
  // A server that stops answering must not hang the run: what is still in flight 5 s after
  // the end is lost.
  ioc.run_until(rs.run.stop() + std::chrono::seconds(5));
  rs.run.failed.lost = rs.in_flight;
  return rs.run.finish(o, o.connections, failed);
}
