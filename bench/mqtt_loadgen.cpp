// The MQTT benchmark's raw programs (bench/mqtt.sh). Each speaks MQTT 3.1.1 itself (QoS 0,
// NestJS's default) on one socket and one thread: CONNECT, one SUBSCRIBE, then PUBLISH packets,
// several read and written per system call, so that neither roost's client nor NestJS's (nor
// libmosquitto, which reads one packet per wake-up in a few small reads) is what is measured:
//
// - the load generator keeps K requests `sum [1,2,3]` in flight for a fixed time (or --pattern
//   with --data, answered by --expect), as a NestJS client sends them: the JSON packet
//   `{"pattern":…,"data":…,"id":"…"}` published to the topic of the pattern, the replies taken
//   from `<pattern>/reply`, matched by the id in their body; each reply sends the next request of
//   its slot. Every reply is checked, warm-up included (bench/reply_check.hpp): its id must name a
//   request in flight, and its body must be the expected response without an error. An error, a
//   wrong value, a stray reply or a request not answered 2 s after the end fails the run (exit 1).
//     mqtt_loadgen --url mqtt://127.0.0.1:1883 [--inflight K] [--seconds S] [--warmup W]
//
// - with --limit, the broker's ceiling for this traffic: a server subscribed to the pattern's
//   topic that answers each request with the reply a NestJS server sends
//   (`{"response":6,"isDisposed":true,"id":"…"}` on `<topic>/reply`, the id copied from the
//   request's body) and does nothing else. Prints READY 0; stops on SIGTERM.
//     mqtt_loadgen --limit --url mqtt://127.0.0.1:1883

#include "load_run.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using bench::clock_type;

namespace {

struct options : bench::load_options {
  std::string host = "127.0.0.1", port = "1883";
  bool limit = false;
};

// mqtt://host:port[/][?…] (the benchmark's broker: no authentication, no TLS).
bool parse_url(const std::string& url, options& o) {
  if (!url.starts_with("mqtt://")) return false;
  std::string hostport = url.substr(7);
  hostport = hostport.substr(0, hostport.find_first_of("/?"));
  const auto colon = hostport.rfind(':');
  o.host = hostport.substr(0, colon);
  if (colon != std::string::npos) o.port = hostport.substr(colon + 1);
  return !o.host.empty() && !o.port.empty();
}

// ---- MQTT 3.1.1 packets -------------------------------------------------------------------

void put_length(std::string& out, std::size_t n) {  // the fixed header's remaining length
  do {
    auto byte = static_cast<unsigned char>(n % 128);
    n /= 128;
    if (n > 0) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (n > 0);
}
void put_string(std::string& out, std::string_view s) {
  out += static_cast<char>(s.size() >> 8);
  out += static_cast<char>(s.size() & 0xff);
  out += s;
}
void put_publish(std::string& out, std::string_view topic, std::string_view payload) {
  out += '\x30';  // PUBLISH, QoS 0, no retain
  put_length(out, 2 + topic.size() + payload.size());
  put_string(out, topic);
  out += payload;
}

// A packet read from `in` at `pos`: its type and its body; false when not all of it is there.
struct packet {
  unsigned type = 0;
  std::string_view body;
};
bool next_packet(std::string_view in, std::size_t& pos, packet& p) {
  if (pos + 2 > in.size()) return false;
  std::size_t len = 0, i = pos + 1;
  for (int shift = 0;; shift += 7) {
    if (i >= in.size()) return false;
    const auto byte = static_cast<unsigned char>(in[i++]);
    len |= static_cast<std::size_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
  }
  if (i + len > in.size()) return false;
  p.type = static_cast<unsigned char>(in[pos]) >> 4;
  p.body = in.substr(i, len);
  pos = i + len;
  return true;
}
// A QoS 0 PUBLISH's topic and payload.
void read_publish(std::string_view body, std::string_view& topic, std::string_view& payload) {
  const std::size_t n = body.size() >= 2 ? (static_cast<unsigned char>(body[0]) << 8) |
                                               static_cast<unsigned char>(body[1])
                                         : 0;
  topic = body.substr(2, n);
  payload = body.size() >= 2 + n ? body.substr(2 + n) : std::string_view();
}

// ---- the connection -------------------------------------------------------------------------

class connection {
 public:
  ~connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Connects, and subscribes to `filter` (QoS 0); false, said on stderr, when it cannot.
  bool open(const options& o, const std::string& filter) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &res) != 0 || !res) {
      return fail("cannot resolve " + o.host);
    }
    fd_ = ::socket(res->ai_family, SOCK_STREAM, 0);
    const bool up = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
    ::freeaddrinfo(res);
    if (!up) return fail("cannot connect to " + o.host + ":" + o.port);
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    std::random_device rd;
    const std::string id = "bench_" + std::to_string(rd());
    std::string hello;
    hello += '\x10';  // CONNECT: MQTT 3.1.1, a clean session, no keep-alive
    put_length(hello, 10 + 2 + id.size());
    put_string(hello, "MQTT");
    hello += '\x04';
    hello += '\x02';
    hello += '\0';
    hello += '\0';
    put_string(hello, id);
    hello += '\x82';  // SUBSCRIBE, packet id 1
    put_length(hello, 2 + 2 + filter.size() + 1);
    hello += '\0';
    hello += '\x01';
    put_string(hello, filter);
    hello += '\0';
    out = hello;
    if (!flush()) return false;
    // The CONNACK, then the SUBACK: the subscription is in place.
    bool connacked = false;
    for (;;) {
      if (!read_some(5000)) return fail("no CONNACK or SUBACK from the broker");
      packet p;
      std::size_t pos = 0;
      while (next_packet(in, pos, p)) {
        if (p.type == 2 && (p.body.size() < 2 || p.body[1] != 0)) return fail("connection refused");
        if (p.type == 2) connacked = true;
        if (p.type == 9 && connacked) {
          in.erase(0, pos);
          return true;
        }
      }
      in.erase(0, pos);
    }
  }
  // Reads what came within `timeout_ms` into `in`; false on a timeout or a lost connection.
  bool read_some(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    char buf[256 * 1024];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      lost_ = true;
      return false;
    }
    in.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  // Writes all of `out`.
  bool flush() {
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        lost_ = true;
        return fail("the connection was lost");
      }
      done += static_cast<std::size_t>(n);
    }
    out.clear();
    return true;
  }
  bool lost() const { return lost_; }

  std::string in, out;

 private:
  static bool fail(const std::string& why) {
    std::fprintf(stderr, "mqtt_loadgen: %s\n", why.c_str());
    return false;
  }
  int fd_ = -1;
  bool lost_ = false;
};

volatile std::sig_atomic_t stopping = 0;

// The id of a request's body: the text of `"id":"…"`.
std::string_view request_id(std::string_view body) {
  const auto p = body.rfind("\"id\":\"");
  if (p == std::string_view::npos) return {};
  const auto end = body.find('"', p + 6);
  return end == std::string_view::npos ? std::string_view() : body.substr(p + 6, end - p - 6);
}

int serve_limit(const options& o) {
  connection c;
  if (!c.open(o, o.pattern)) return 1;
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::printf("READY 0\n");
  std::fflush(stdout);
  std::string reply_topic, reply;
  while (!stopping) {
    if (!c.read_some(200)) {
      if (c.lost()) return 1;
      continue;
    }
    std::size_t pos = 0;
    packet p;
    while (next_packet(c.in, pos, p)) {
      if (p.type != 3) continue;
      std::string_view topic, payload;
      read_publish(p.body, topic, payload);
      const std::string_view id = request_id(payload);
      if (id.empty()) continue;  // an event: nothing to answer
      reply_topic.assign(topic).append("/reply");
      reply.assign(R"({"response":6,"isDisposed":true,"id":")").append(id).append("\"}");
      put_publish(c.out, reply_topic, reply);
    }
    c.in.erase(0, pos);
    if (!c.out.empty() && !c.flush()) return 1;
  }
  return 0;
}

int generate_load(const options& o) {
  connection c;
  if (!c.open(o, o.pattern + "/reply")) return 1;
  const auto slots = static_cast<std::size_t>(o.inflight);
  std::vector<clock_type::time_point> sent(slots);
  std::vector<std::uint64_t> slot_id(slots, 0);
  std::vector<std::uint64_t> round(slots, 0);
  bench::load_run run("mqtt_loadgen");
  int outstanding = 0;
  std::string body;
  // Request ids say their slot: id % slots.
  auto issue = [&](std::size_t slot) {
    const std::uint64_t id = ++round[slot] * slots + slot;
    body.assign("{\"pattern\":\"")
        .append(o.pattern)
        .append("\",\"data\":")
        .append(o.data)
        .append(",\"id\":\"")
        .append(std::to_string(id))
        .append("\"}");
    slot_id[slot] = id;
    sent[slot] = clock_type::now();
    ++outstanding;
    put_publish(c.out, o.pattern, body);
  };
  run.start(o);
  const auto drain_until = run.stop() + std::chrono::seconds(2);
  for (std::size_t k = 0; k < slots; ++k) issue(k);
  if (!c.flush()) return 1;
  while (outstanding > 0 && clock_type::now() < drain_until) {
    if (!c.read_some(100)) {
      if (c.lost()) {
        std::fprintf(stderr, "mqtt_loadgen: the connection was lost\n");
        break;
      }
      continue;
    }
    const auto now = clock_type::now();
    std::size_t pos = 0;
    packet p;
    while (next_packet(c.in, pos, p)) {
      if (p.type != 3) continue;
      std::string_view topic, payload;
      read_publish(p.body, topic, payload);
      const bench::reply r = bench::read_reply(payload);
      const std::size_t slot = r.has_id ? r.id % slots : slots;
      if (slot >= slots || slot_id[slot] == 0 || slot_id[slot] != r.id) {
        run.failed.not_in_flight(payload);
        continue;
      }
      slot_id[slot] = 0;
      --outstanding;
      if (run.failed.check(r, o.expect, payload)) run.served(sent[slot], now);
      if (run.running(now)) issue(slot);
    }
    c.in.erase(0, pos);
    if (!c.out.empty() && !c.flush()) break;
  }
  run.failed.lost = static_cast<std::uint64_t>(std::max(0, outstanding));
  return run.finish(o, 1, 0);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string url;
  const auto own = [&](const std::string& k, const std::string& v) {
    if (k == "--limit") return o.limit = true;
    if (k != "--url") return false;
    url = v;
    return true;
  };
  if (!bench::read_command_line(argc, argv, "mqtt_loadgen", o, own, {"--limit"})) return 2;
  o.inflight = std::max(1, o.inflight);
  if (!parse_url(url, o)) {
    std::fprintf(stderr, "mqtt_loadgen: --url mqtt://HOST:PORT\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  return o.limit ? serve_limit(o) : generate_load(o);
}
