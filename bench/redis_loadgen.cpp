// Load generator for NestJS-Redis-protocol servers: keeps K requests in flight through a Redis
// server (PUBLISH <pattern>, replies on <pattern>.reply) for a fixed time and reports
// throughput and latency percentiles as JSON, like bench/loadgen.
//   redis_loadgen --port P [--host H] [--inflight K] [--seconds S] [--warmup W]
//                 [--pattern sum] [--data '[1,2,3]']
// Two connections, as a NestJS client has: one subscribed to the reply channel, one that
// publishes. Replies that arrive together are answered with one pipelined write.
// Every reply is checked, warm-up included (bench/reply_check.hpp): it must answer a request in
// flight with the response 6 (--expect), and every PUBLISH must succeed. An error, a wrong
// value, an unknown id or a request not answered 2 s after the end fails the run (exit 1).

#include <roost/redis/detail/resp.hpp>
#include "load_run.hpp"

#include <boost/asio.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using bench::clock_type;
namespace rd = roost::redis::detail;

namespace {

struct options : bench::load_options {
  std::string host = "127.0.0.1";
  unsigned short port = 6379;
};

struct state {
  options opt;
  tcp::socket pub, sub;
  rd::reader sub_reader, pub_reader;
  std::vector<clock_type::time_point> sent;  // by id (ids are indexes); {} once answered
  std::uint64_t next_id = 0;
  bench::load_run run{"redis_loadgen"};
  std::string out, writing;
  bool write_busy = false;
  std::vector<char> sub_buf = std::vector<char>(256 * 1024), pub_buf = std::vector<char>(64 * 1024);
  int outstanding = 0;

  asio::io_context& io;
  explicit state(asio::io_context& c) : pub(c), sub(c), io(c) {}

  void queue_request() {
    const auto id = next_id++;
    if (sent.size() <= id) sent.resize(id + 1 + 1024);
    sent[id] = clock_type::now();
    std::string body = "{\"pattern\":\"" + opt.pattern + "\",\"data\":" + opt.data + ",\"id\":\"" +
                       std::to_string(id) + "\"}";
    rd::append_publish(out, opt.pattern, body);
    ++outstanding;
  }

  void flush() {
    if (write_busy || out.empty()) return;
    write_busy = true;
    writing.swap(out);
    asio::async_write(pub, asio::buffer(writing),
                      [this](boost::system::error_code ec, std::size_t) {
                        write_busy = false;
                        writing.clear();
                        if (ec) {
                          std::fprintf(stderr, "redis_loadgen: write: %s\n", ec.message().c_str());
                          return;
                        }
                        flush();
                      });
  }

  // PUBLISH replies (integers) are read and dropped.
  void read_pub() {
    pub.async_read_some(asio::buffer(pub_buf), [this](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      pub_reader.feed(std::string_view(pub_buf.data(), n));
      for (;;) {
        auto r = pub_reader.next();
        if (!r || !*r) break;
        if ((*r)->type == REDIS_REPLY_ERROR) {
          ++run.failed.errors;
          run.failed.complain("PUBLISH failed", rd::text(**r));
        }
      }
      read_pub();
    });
  }

  void read_sub() {
    sub.async_read_some(asio::buffer(sub_buf), [this](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      sub_reader.feed(std::string_view(sub_buf.data(), n));
      const auto now = clock_type::now();
      for (;;) {
        auto r = sub_reader.next();
        if (!r || !*r) break;
        auto p = rd::classify(**r);
        if (p.type != rd::push::kind::message) continue;
        const auto reply = bench::read_reply(p.payload);
        const auto id = reply.id;
        if (!reply.has_id || id >= next_id || sent[id] == clock_type::time_point{}) {
          run.failed.not_in_flight(p.payload);
          continue;
        }
        --outstanding;
        const auto at = sent[id];
        sent[id] = {};
        if (run.failed.check(reply, opt.expect, p.payload)) run.served(at, now);
        if (run.running(now)) queue_request();
      }
      flush();
      if (run.running(now) || outstanding > 0) {
        read_sub();
      } else {
        io.stop();  // every reply is in: done
      }
    });
  }
};

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
    else {
      std::fprintf(stderr, "redis_loadgen: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  asio::io_context io;
  state s(io);
  s.opt = o;
  tcp::resolver res(io);
  auto eps = res.resolve(o.host, std::to_string(o.port));
  asio::connect(s.pub, eps);
  asio::connect(s.sub, eps);
  s.pub.set_option(tcp::no_delay(true));
  s.sub.set_option(tcp::no_delay(true));
  // Subscribe and wait for the confirmation before the first request.
  std::string cmd;
  rd::append_command(cmd, {"SUBSCRIBE", o.pattern + ".reply"});
  asio::write(s.sub, asio::buffer(cmd));
  for (;;) {
    const std::size_t n = s.sub.read_some(asio::buffer(s.sub_buf));
    s.sub_reader.feed(std::string_view(s.sub_buf.data(), n));
    auto r = s.sub_reader.next();
    if (r && *r) break;
  }
  s.run.start(o);
  for (int i = 0; i < o.inflight; ++i) s.queue_request();
  s.flush();
  s.read_pub();
  s.read_sub();
  // Stop at the end even if replies stopped coming (a server that fell over).
  asio::steady_timer end(io, s.run.stop() + std::chrono::seconds(2));
  end.async_wait([&](boost::system::error_code) { io.stop(); });
  io.run_until(s.run.stop() + std::chrono::seconds(3));
  s.run.failed.lost = static_cast<std::uint64_t>(std::max(0, s.outstanding));
  return s.run.finish(o, 2, 0);  // a subscriber and a publisher, as a NestJS client has
}
