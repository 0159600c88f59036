// Load generator for NestJS-NATS-protocol servers: keeps K requests in flight through a NATS
// broker for a fixed time and reports throughput and latency percentiles as JSON (the same
// fields as bench/loadgen). It speaks the NATS text protocol itself on one socket and one
// thread, so that the broker, which shares its core, gets as much of it as possible, and
// neither roost's client nor NestJS's is measured: one wildcard reply subscription, request k
// of the K in flight replies to `<inbox>.<k>`, and each reply sends the next request of its
// slot; the requests that replies arriving together cause go out in one write.
// Every reply is checked, warm-up included (bench/reply_check.hpp): it must come to a slot with
// a request in flight, carry that request's id and the response 6 (--expect). An error, a
// wrong value, a stray reply, a "no responders" status or a request not answered 2 s after the
// end fails the run (exit 1).
//   nats_loadgen --url nats://127.0.0.1:4222 [--inflight K] [--seconds S] [--warmup W]
//                [--pattern sum] [--data '[1,2,3]']

#include "load_run.hpp"

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using bench::clock_type;

namespace {

struct options : bench::load_options {
  std::string url = "nats://127.0.0.1:4222";
};

std::size_t number(std::string_view digits) {
  std::size_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<std::size_t>(c - '0');
  return n;
}

struct state {
  options opt;
  tcp::socket sock;
  std::string inbox = "_INBOX.bench.";
  std::vector<clock_type::time_point> sent;  // by slot
  std::vector<std::uint64_t> slot_id;        // the id in flight in each slot, 0 for none
  std::uint64_t next_id = 0;
  bench::load_run run{"nats_loadgen"};
  std::string in, out, writing;
  std::vector<char> buf = std::vector<char>(256 * 1024);
  bool write_busy = false;
  int outstanding = 0;
  asio::io_context& io;
  explicit state(asio::io_context& c) : sock(c), io(c) {}

  void issue(int slot) {
    const std::string body = "{\"pattern\":\"" + opt.pattern + "\",\"data\":" + opt.data +
                             ",\"id\":\"" + std::to_string(++next_id) + "\"}";
    slot_id[static_cast<std::size_t>(slot)] = next_id;
    out += "PUB ";
    out += opt.pattern;
    out += ' ';
    out += inbox;
    out += std::to_string(slot);
    out += ' ';
    out += std::to_string(body.size());
    out += "\r\n";
    out += body;
    out += "\r\n";
    sent[static_cast<std::size_t>(slot)] = clock_type::now();
    ++outstanding;
  }

  void flush() {
    if (write_busy || out.empty()) return;
    write_busy = true;
    writing.swap(out);
    asio::async_write(sock, asio::buffer(writing),
                      [this](boost::system::error_code ec, std::size_t) {
                        write_busy = false;
                        writing.clear();
                        if (ec) {
                          std::fprintf(stderr, "nats_loadgen: write: %s\n", ec.message().c_str());
                          return;
                        }
                        flush();
                      });
  }

  void on_reply(std::string_view subject, std::string_view payload, clock_type::time_point now) {
    const auto slot =
        subject.size() > inbox.size() ? number(subject.substr(inbox.size())) : sent.size();
    if (slot >= sent.size() || slot_id[slot] == 0) {
      run.failed.not_in_flight(payload);
      return;
    }
    if (payload.empty()) {  // a status message: no responders, or a timeout
      ++run.failed.errors;
      run.failed.complain("a reply without a payload (no responders?)", subject);
      return;  // the slot stays busy: its request is lost
    }
    const auto reply = bench::read_reply(payload);
    if (!reply.has_id || reply.id != slot_id[slot]) {
      run.failed.not_in_flight(payload);
      return;
    }
    slot_id[slot] = 0;
    --outstanding;
    if (run.failed.check(reply, opt.expect, payload)) run.served(sent[slot], now);
    if (run.running(now)) issue(static_cast<int>(slot));
  }

  // Consumes the complete protocol lines (and MSG/HMSG payloads) buffered in `in`.
  bool parse(clock_type::time_point now) {
    std::size_t pos = 0;
    for (;;) {
      const auto eol = in.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const std::string_view line(in.data() + pos, eol - pos);
      if (line.starts_with("MSG ") || line.starts_with("HMSG ")) {
        // MSG <subject> <sid> [reply] <bytes> | HMSG <subject> <sid> [reply] <hdr> <bytes>
        std::array<std::string_view, 6> f;
        std::size_t count = 0;
        for (std::size_t a = 0; a < line.size() && count < f.size();) {
          const auto b = std::min(line.find(' ', a), line.size());
          if (b > a) f[count++] = line.substr(a, b - a);
          a = b + 1;
        }
        if (count < 4) return false;
        const bool with_headers = f[0] == "HMSG";
        const std::size_t total = number(f[count - 1]);
        const std::size_t head = with_headers ? number(f[count - 2]) : 0;
        if (in.size() < eol + 2 + total + 2) break;  // the payload is not all here yet
        on_reply(f[1], std::string_view(in.data() + eol + 2 + head, total - head), now);
        pos = eol + 2 + total + 2;
        continue;
      }
      if (line == "PING") out += "PONG\r\n";
      if (line.starts_with("-ERR")) {
        std::fprintf(stderr, "nats_loadgen: %.*s\n", static_cast<int>(line.size()), line.data());
        return false;
      }
      pos = eol + 2;  // PONG, +OK, INFO
    }
    in.erase(0, pos);
    return true;
  }

  void read() {
    sock.async_read_some(asio::buffer(buf), [this](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      in.append(buf.data(), n);
      const auto now = clock_type::now();
      if (!parse(now)) {
        io.stop();
        return;
      }
      flush();
      if (run.running(now) || outstanding > 0) {
        read();
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
    if (k == "--url") {
      o.url = v;
    } else {
      std::fprintf(stderr, "nats_loadgen: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  o.inflight = std::max(1, o.inflight);
  // nats://host:port (the benchmark's broker has no authentication).
  std::string hostport =
      o.url.substr(o.url.find("://") == std::string::npos ? 0 : o.url.find("://") + 3);
  hostport = hostport.substr(0, hostport.find('/'));
  const auto colon = hostport.rfind(':');
  const std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  const std::string port = colon == std::string::npos ? "4222" : hostport.substr(colon + 1);

  asio::io_context io;
  state s(io);
  s.opt = o;
  s.sent.resize(static_cast<std::size_t>(o.inflight));
  s.slot_id.resize(static_cast<std::size_t>(o.inflight));
  try {
    tcp::resolver res(io);
    asio::connect(s.sock, res.resolve(host, port));
    s.sock.set_option(tcp::no_delay(true));
    // INFO, then CONNECT + SUB + PING, and wait for the PONG: the subscription is in place.
    const std::string hello =
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,"
        "\"no_responders\":true,\"protocol\":1,\"name\":\"nats_loadgen\"}\r\n"
        "SUB " +
        s.inbox + "* 1\r\nPING\r\n";
    asio::write(s.sock, asio::buffer(hello));
    for (;;) {
      const std::size_t n = s.sock.read_some(asio::buffer(s.buf));
      s.in.append(s.buf.data(), n);
      if (s.in.find("-ERR") != std::string::npos) {
        std::fprintf(stderr, "nats_loadgen: %s\n", s.in.c_str());
        return 1;
      }
      if (s.in.find("PONG\r\n") != std::string::npos) break;
    }
    s.in.clear();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nats_loadgen: cannot connect to %s: %s\n", o.url.c_str(), e.what());
    return 1;
  }
  s.run.start(o);
  for (int k = 0; k < o.inflight; ++k) s.issue(k);
  s.flush();
  s.read();
  io.run_until(s.run.stop() + std::chrono::seconds(2));
  s.run.failed.lost = static_cast<std::uint64_t>(std::max(0, s.outstanding));
  return s.run.finish(o, 1, 0);
}
