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
#include "reply_check.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int inflight = 16;
  int connections = 1;
  double seconds = 5;
  double warmup = 1;
  std::string pattern = "sum", data = "[1,2,3]";
  int slow_every = 0;
  int idle = 0;  // open this many connections, send nothing, hold them for `seconds`
  std::string slow_pattern = "slow", slow_data = "5";
  double expect = 6, slow_expect = 5;
  bool slow_expect_given = false;
};

struct stats {
  std::vector<std::uint32_t> latencies_us;  // fast requests only
  std::uint64_t completed = 0;
  std::uint64_t in_flight = 0;  // what is left when the run ends is lost
  bench::failures failed{"loadgen"};
};

struct run_state {
  const options* opt;
  tcp::resolver::results_type endpoints;  // resolved once for all connections
  clock_type::time_point start, measure_from, stop;
  std::uint64_t next_id = 0;
};

std::string frame_for(const std::string& pattern, const std::string& data, std::uint64_t id) {
  std::string body = "{\"pattern\":\"" + pattern + "\",\"data\":" + data + ",\"id\":\"" +
                     std::to_string(id) + "\"}";
  std::string out;
  roost::tcp::detail::append_frame(out, body);
  return out;
}

asio::awaitable<void> connection(run_state& rs, stats& st, int inflight) {
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
    ++st.in_flight;
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
        st.failed.not_in_flight(**f);
        continue;
      }
      const auto [sent, slow] = it->second;
      pending.erase(it);
      --st.in_flight;
      const bool good = st.failed.check(r, slow ? rs.opt->slow_expect : rs.opt->expect, **f);
      if (good && sent >= rs.measure_from && now < rs.stop) {
        ++st.completed;
        if (!slow) {
          st.latencies_us.push_back(static_cast<std::uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count()));
        }
      }
      if (now < rs.stop) issue();
    }
  }
}

double pct(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p / 100.0 * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = static_cast<unsigned short>(std::stoi(v));
    else if (k == "--inflight")
      o.inflight = std::stoi(v);
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--warmup")
      o.warmup = std::stod(v);
    else if (k == "--pattern")
      o.pattern = v;
    else if (k == "--data")
      o.data = v;
    else if (k == "--slow-every")
      o.slow_every = std::stoi(v);
    else if (k == "--slow-pattern")
      o.slow_pattern = v;
    else if (k == "--slow-data")
      o.slow_data = v;
    else if (k == "--idle")
      o.idle = std::stoi(v);
    else if (k == "--expect")
      o.expect = std::stod(v);
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
  std::printf("START\n");  // the warm-up begins: bench/lib.sh times its CPU samples from here
  std::fflush(stdout);
  rs.start = clock_type::now();
  rs.measure_from = rs.start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(o.warmup));
  rs.stop = rs.measure_from + std::chrono::duration_cast<clock_type::duration>(
                                  std::chrono::duration<double>(o.seconds));
  stats st;
  int failed = 0;
  for (int c = 0; c < o.connections; ++c) {
    const int share = o.inflight / o.connections + (c < o.inflight % o.connections ? 1 : 0);
    asio::co_spawn(ioc, connection(rs, st, std::max(share, 1)), [&](std::exception_ptr e) {
      if (e) ++failed;
    });
  }
  // A server that stops answering must not hang the run: what is still in flight 5 s after
  // the end is lost.
  ioc.run_until(rs.stop + std::chrono::seconds(5));
  st.failed.lost = st.in_flight;
  const double rate = st.completed / o.seconds;
  auto& l = st.latencies_us;
  std::printf("{\"inflight\":%d,\"connections\":%d,\"seconds\":%.1f,\"requests\":%llu,", o.inflight,
              o.connections, o.seconds, static_cast<unsigned long long>(st.completed));
  st.failed.print_fields();
  std::printf(
      "\"failed_connections\":%d,\"rps\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
      "\"p999_us\":%.0f}\n",
      failed, rate, pct(l, 50), pct(l, 99), pct(l, 99.9));
  std::fflush(stdout);
  return st.failed.verdict(st.completed, failed);
}
