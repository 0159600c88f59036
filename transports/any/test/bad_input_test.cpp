// The bad-input corpus (docs/reliability.md), the same cases on every server a client can send
// raw bytes to: TCP (raw frames on a socket), WebSocket (raw frames after the upgrade), NATS
// and Redis (raw payloads published to the service's subject and channel, over the brokers' own
// text protocols, the reply read where the server sends it). Each case states what the sender must
// get (a clear error reply, the connection closed, or nothing), and meanwhile a well-behaved roost
// client calls the same service every 20 ms: every one of its calls must succeed, whatever the
// others send. The server's limits are set low enough for the corpus to reach them (a 64 KiB
// message size, 64 requests in flight per connection on TCP and WebSocket).
// ROOST_BAD_INPUT_OUT=FILE appends one line per case and transport
// (bench/data/reliability-bad-input.tsv is made so):
//   date transport case pass|fail what-came-back

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/transports.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace roost::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t max_message = 64 * 1024;

// A socket of the test's own: bytes out, lines and counted bytes in, each read bounded by a
// timeout (nullopt then, or when the peer closed: `closed()` tells which).
class raw_conn {
 public:
  static awaitable<std::unique_ptr<raw_conn>> open(std::uint16_t port) {
    auto c = std::make_unique<raw_conn>(co_await asio::this_coro::executor);
    co_await c->socket_.async_connect({asio::ip::make_address("127.0.0.1"), port},
                                      asio::use_awaitable);
    co_return c;
  }
  explicit raw_conn(asio::any_io_executor ex) : socket_(std::move(ex)) {}

  awaitable<void> write(std::string bytes) {
    co_await asio::async_write(socket_, asio::buffer(bytes), asio::use_awaitable);
  }
  // The next line without its CRLF (or LF).
  awaitable<std::optional<std::string>> line(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto at = in_.find('\n'); at != std::string::npos) {
        std::string l = in_.substr(0, at > 0 && in_[at - 1] == '\r' ? at - 1 : at);
        in_.erase(0, at + 1);
        co_return l;
      }
      if (!co_await fill(until)) co_return std::nullopt;
    }
  }
  // The next `n` bytes.
  awaitable<std::optional<std::string>> bytes(std::size_t n, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (in_.size() < n) {
      if (!co_await fill(until)) co_return std::nullopt;
    }
    std::string b = in_.substr(0, n);
    in_.erase(0, n);
    co_return b;
  }
  bool closed() const { return closed_; }

 private:
  awaitable<bool> fill(std::chrono::steady_clock::time_point until) {
    if (closed_) co_return false;
    asio::steady_timer t(socket_.get_executor(), until);
    char buf[16384];
    auto r =
        co_await (socket_.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)) ||
                  t.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (r.index() == 1) co_return false;
    auto [ec, n] = std::get<0>(r);
    if (ec) {
      closed_ = true;
      co_return false;
    }
    in_.append(buf, n);
    co_return true;
  }
  asio::ip::tcp::socket socket_;
  std::string in_;
  bool closed_ = false;
};

// What came back for one message: its reply, nothing, or the connection closed.
struct outcome {
  std::vector<std::string> replies;
  bool closed = false;
};

// A transport's raw side: sends each of `bodies` (whole envelopes, as bytes) to `subject` and
// collects the replies that come within `wait` (the count of bodies at most).
struct raw_sender {
  std::string name;
  std::string server_url;
  std::function<awaitable<outcome>(std::string subject, std::vector<std::string> bodies,
                                   std::chrono::milliseconds wait, bool half)>
      exchange;
};

std::uint16_t port_of(const std::string& url) {
  auto u = roost::url::parse(url);
  return u && u->port ? *u->port : 0;
}

// NestJS's TCP framing: `<length>#<json>`, the length in UTF-16 units; the corpus's texts are
// ASCII but for lone bytes that a JavaScript peer would read as one unit each.
std::string tcp_frame(const std::string& body) {
  return std::to_string(body.size()) + "#" + body;
}

raw_sender tcp_sender() {
  raw_sender s{"tcp", "tcp://127.0.0.1:" + std::to_string(roost::testing::free_port()), {}};
  const std::uint16_t port = port_of(s.server_url);
  s.exchange = [port](std::string, std::vector<std::string> bodies, std::chrono::milliseconds wait,
                      bool half) -> awaitable<outcome> {
    auto c = co_await raw_conn::open(port);
    std::string all;
    for (const auto& b : bodies) all += tcp_frame(b);
    if (half) all.resize(all.size() / 2);
    co_await c->write(std::move(all));
    outcome o;
    // Frames: the prefix up to '#', then that many bytes (the replies are ASCII).
    while (o.replies.size() < bodies.size()) {
      std::string prefix;
      for (;;) {
        auto ch = co_await c->bytes(1, wait);
        if (!ch || *ch == "#") {
          if (!ch) o.closed = c->closed();
          break;
        }
        prefix += *ch;
      }
      if (o.closed || prefix.empty()) break;
      auto body = co_await c->bytes(std::stoul(prefix), wait);
      if (!body) break;
      o.replies.push_back(*body);
    }
    co_return o;
  };
  return s;
}

// A WebSocket client of the test's own (RFC 6455): the upgrade, then each body as one masked
// text frame; the server's text frames are the replies, its close frame or EOF a close.
std::string ws_frame(const std::string& body) {
  std::string f(1, '\x81');  // FIN, text
  const std::size_t n = body.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(body[i] ^ mask[i % 4]);
  return f;
}

raw_sender ws_sender() {
  raw_sender s{"ws", "ws://127.0.0.1:" + std::to_string(roost::testing::free_port()), {}};
  const std::uint16_t port = port_of(s.server_url);
  s.exchange = [port](std::string, std::vector<std::string> bodies, std::chrono::milliseconds wait,
                      bool half) -> awaitable<outcome> {
    auto c = co_await raw_conn::open(port);
    co_await c->write(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    outcome o;
    auto status = co_await c->line(wait);
    if (!status || status->find(" 101 ") == std::string::npos) {
      o.closed = true;
      co_return o;
    }
    for (;;) {  // the upgrade's headers, up to the empty line
      const auto header = co_await c->line(wait);
      if (!header || header->empty()) break;
    }
    std::string all;
    for (const auto& b : bodies) all += ws_frame(b);
    if (half) all.resize(all.size() / 2);
    co_await c->write(std::move(all));
    while (o.replies.size() < bodies.size()) {
      auto head = co_await c->bytes(2, wait);
      if (!head) break;
      const int opcode = (*head)[0] & 0x0f;
      std::size_t n = static_cast<unsigned char>((*head)[1]) & 0x7f;
      const int ext = n == 126 ? 2 : n == 127 ? 8 : 0;
      if (ext) {
        auto len = co_await c->bytes(ext, wait);
        if (!len) break;
        n = 0;
        for (char b : *len) n = (n << 8) | static_cast<unsigned char>(b);
      }
      auto payload = co_await c->bytes(n, wait);
      if (!payload) break;
      if (opcode == 8) {  // close
        o.closed = true;
        break;
      }
      if (opcode == 1) o.replies.push_back(*payload);
    }
    if (c->closed()) o.closed = true;
    co_return o;
  };
  return s;
}

raw_sender nats_sender() {
  raw_sender s{"nats", roost::testing::broker_url("ROOST_NATS_URL"), {}};
  const std::uint16_t port = port_of(s.server_url);
  s.exchange = [port](std::string subject, std::vector<std::string> bodies,
                      std::chrono::milliseconds wait, bool half) -> awaitable<outcome> {
    (void)half;  // a broker delivers whole messages
    auto c = co_await raw_conn::open(port);
    const std::string inbox = "_INBOX.bad." + roost::testing::unique_number();
    std::string all = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB " + inbox + " 1\r\n";
    for (const auto& b : bodies) {
      all += "PUB " + subject + " " + inbox + " " + std::to_string(b.size()) + "\r\n" + b + "\r\n";
    }
    co_await c->write(std::move(all));
    outcome o;
    while (o.replies.size() < bodies.size()) {
      auto l = co_await c->line(wait);
      if (!l) break;
      if (l->rfind("PING", 0) == 0) co_await c->write("PONG\r\n");
      if (l->rfind("MSG ", 0) != 0) continue;  // INFO, +OK, PING
      const auto size = std::stoul(l->substr(l->rfind(' ') + 1));
      auto payload = co_await c->bytes(size + 2, wait);
      if (!payload) break;
      o.replies.push_back(payload->substr(0, size));
    }
    o.closed = c->closed();
    co_return o;
  };
  return s;
}

// Whether `reply` answers one of the corpus's requests (ids "bad", or numbers as text), not
// the well-behaved client's.
bool ours(const std::string& reply) {
  boost::system::error_code ec;
  const auto v = json::parse(reply, ec);
  const auto* o = v.if_object();
  const auto* id = o ? o->if_contains("id") : nullptr;
  if (ec || !id || !id->is_string()) return false;
  const std::string_view t = id->get_string();
  return t == "bad" ||
         (!t.empty() && t.size() <= 4 && t.find_first_not_of("0123456789") == std::string::npos);
}

std::string resp(const std::vector<std::string>& parts) {
  std::string r = "*" + std::to_string(parts.size()) + "\r\n";
  for (const auto& p : parts) r += "$" + std::to_string(p.size()) + "\r\n" + p + "\r\n";
  return r;
}

raw_sender redis_sender() {
  raw_sender s{"redis", roost::testing::broker_url("ROOST_REDIS_URL"), {}};
  const std::uint16_t port = port_of(s.server_url);
  s.exchange = [port](std::string subject, std::vector<std::string> bodies,
                      std::chrono::milliseconds wait, bool half) -> awaitable<outcome> {
    (void)half;  // a broker delivers whole messages
    // Replies go to `<channel>.reply`, subscribed to before anything is published.
    auto sub = co_await raw_conn::open(port);
    // (Each message made before its co_await: GCC 12 cannot keep an initializer list's array
    // across one.)
    const std::string subscribe = resp({"SUBSCRIBE", subject + ".reply"});
    co_await sub->write(subscribe);
    for (int i = 0; i < 6; ++i) {  // *3 $9 subscribe $n channel :1
      const auto confirm = co_await sub->line(wait);
      if (!confirm) break;
    }
    auto pub = co_await raw_conn::open(port);
    std::string all;
    for (const auto& b : bodies) all += resp({"PUBLISH", subject, b});
    co_await pub->write(std::move(all));
    outcome o;
    // The well-behaved client's replies keep coming: the wait is for them all, not each read.
    const auto until = std::chrono::steady_clock::now() + wait;
    while (o.replies.size() < bodies.size()) {
      wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (wait <= 0ms) break;
      // *3 $7 message $n channel $n payload
      // (Each line kept in a variable: GCC 12 mishandles a temporary optional or a conditional
      // around a co_await, destroying the string twice.)
      std::optional<std::string> size;
      for (int i = 0; i < 6; ++i) {
        size = co_await sub->line(wait);
        if (!size) break;
      }
      if (!size || size->empty() || (*size)[0] != '$') break;
      auto payload = co_await sub->bytes(std::stoul(size->substr(1)) + 2, wait);
      if (!payload) break;
      std::string reply = payload->substr(0, payload->size() - 2);
      // The channel is the route's, so the well-behaved client's replies come here too.
      if (ours(reply)) o.replies.push_back(std::move(reply));
    }
    o.closed = pub->closed();
    co_return o;
  };
  return s;
}

// What a case must get back.
enum class expect {
  error_reply,     // one reply, an error (`err`) with `what` in it
  closed,          // the connection closed, no reply
  no_reply,        // nothing (an event, or a message no handler is subscribed to)
  all_answered,    // every message answered: the value, or the error `what`
  not_applicable,  // a case that cannot happen on this kind of server
};

struct bad_case {
  std::string name;
  std::string route;  // under the service's prefix
  std::function<std::vector<std::string>(const std::string& prefix)> bodies;
  expect tcp, ws, broker;
  std::string what;   // in the error
  bool half = false;  // only the first half of the bytes is sent, then nothing
};

std::string envelope(const std::string& pattern, const std::string& data, const std::string& id) {
  return R"({"pattern":")" + pattern + R"(","data":)" + data + R"(,"id":")" + id + R"("})";
}

std::vector<bad_case> corpus() {
  auto one = [](std::string route, std::string data) {
    return [route, data](const std::string& p) {
      return std::vector<std::string>{envelope(p + route, data, "bad")};
    };
  };
  // Each case: its name, the route it goes to, the messages, and what TCP, WebSocket and a
  // broker's sender must get (a broker routes by subject or channel, not by the message's
  // pattern; a message that is no request envelope is an external event there, as in NestJS).
  return {
      {"oversized", "sum", one("sum", "\"" + std::string(max_message, 'x') + "\""),
       expect::error_reply, expect::error_reply, expect::error_reply, "Message too large"},
      // Past the parser's depth (512) the message is no JSON to roost: as "not JSON" below.
      {"deep nesting", "sum", one("sum", std::string(20'000, '[') + std::string(20'000, ']')),
       expect::closed, expect::no_reply, expect::no_reply, ""},
      // TCP reads the string as bytes (the handler then refuses a string for numbers); a
      // WebSocket text message must be UTF-8 (RFC 6455), so that server fails the connection;
      // on a broker it is no JSON, so an external event.
      {"invalid UTF-8", "sum", one("sum", "\"\xff\xfe\xc3\""), expect::error_reply, expect::closed,
       expect::no_reply, "Invalid payload"},
      {"wrong types", "sum", one("sum", R"({"not":"numbers"})"), expect::error_reply,
       expect::error_reply, expect::error_reply, ""},
      {"unknown pattern", "nope", one("nope", "[1,2]"), expect::error_reply, expect::error_reply,
       expect::no_reply, "There is no matching message handler"},
      {"not JSON", "sum", [](const std::string&) { return std::vector<std::string>{"hello {"}; },
       expect::closed, expect::no_reply, expect::no_reply, ""},
      {"flood", "sum",
       [](const std::string& p) {
         std::vector<std::string> b;
         for (int i = 0; i < 2000; ++i) {
           b.push_back(envelope(p + "sum", "[1,2,3]", std::to_string(i)));
         }
         return b;
       },
       expect::all_answered, expect::all_answered, expect::all_answered,
       "Too many requests in flight"},
      // Half a frame, then silence: no handler runs, and the connection is closed once the
      // server's timeout passes (TCP's incompleteMessageTimeout, WebSocket's idleTimeout, as
      // the test sets them). A broker only ever delivers whole messages.
      {"half-written frame", "sum", one("sum", "[1,2,3]"), expect::closed, expect::closed,
       expect::not_applicable, "", true},
  };
}

std::string outcome_text(const outcome& o) {
  if (o.closed && o.replies.empty()) return "connection closed";
  if (o.replies.empty()) return "no reply";
  if (o.replies.size() == 1) return "reply " + o.replies.front().substr(0, 200);
  std::size_t errors = 0;
  for (const auto& r : o.replies) errors += r.find("\"err\"") != std::string::npos;
  return std::to_string(o.replies.size()) + " replies, " + std::to_string(errors) +
         " of them errors";
}

// Whether `o` is what `e` asks for.
bool as_expected(expect e, const outcome& o, std::size_t sent, const std::string& what) {
  switch (e) {
    case expect::error_reply:
      return o.replies.size() == 1 && o.replies[0].find("\"err\"") != std::string::npos &&
             o.replies[0].find(what) != std::string::npos;
    case expect::closed:
      return o.replies.empty() && o.closed;
    case expect::no_reply:
      return o.replies.empty();
    case expect::not_applicable:
      return true;
    case expect::all_answered:
      if (o.replies.size() != sent) return false;
      for (const auto& r : o.replies) {
        if (r.find("\"response\":6") == std::string::npos && r.find(what) == std::string::npos)
          return false;
      }
      return true;
  }
  return false;
}

void record(const std::string& transport, const std::string& name, bool ok,
            const std::string& text) {
  if (const char* out = std::getenv("ROOST_BAD_INPUT_OUT")) {
    char date[16];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::ofstream o(out, std::ios::app);
    o << date << '\t' << transport << '\t' << name << '\t' << (ok ? "pass" : "fail") << '\t' << text
      << '\n';
  }
}

void run_corpus(raw_sender s) {
  const std::string prefix = "bad" + roost::testing::unique_number() + ".";
  const bool broker = s.name != "tcp" && s.name != "ws";
  const std::string url = roost::testing::with_query(
      s.server_url, "maxMessageSize=" + std::to_string(max_message) +
                        (broker ? "" : "&maxInFlightPerConnection=64") +
                        (s.name == "tcp" ? "&incompleteMessageTimeout=1000" : "") +
                        (s.name == "ws" ? "&idleTimeout=2000" : ""));
  // (A broker's server has one connection, which brings every publisher's messages: a limit
  // per connection there would refuse the well-behaved client too.)
  roost::testing::run(
      [&]() -> awaitable<void> {
        router r;
        r.message(json::value(prefix + "sum"), [](const std::vector<int>& xs) {
          int t = 0;
          for (int x : xs) t += x;
          return t;
        });
        auto server = make_server(*url::parse(url), logger::silent());
        EXPECT_TRUE(server) << url;
        if (!server) co_return;
        microservice app{r, roost::testing::app_options()};
        app.add_transport(std::move(*server));
        co_await app.start();
        // The well-behaved client, calling all along.
        auto client_url = s.server_url;
        auto t = make_client(*url::parse(client_url), logger::silent());
        client_proxy good(co_await asio::this_coro::executor, std::move(*t));
        int good_ok = 0, good_failed = 0;
        std::string good_error;
        bool done = false, finished = false;
        asio::co_spawn(
            co_await asio::this_coro::executor,
            [&]() -> awaitable<void> {
              const std::vector<int> xs{1, 2, 3};
              call_options o;
              o.timeout = 10s;
              while (!done) {
                try {
                  const int v = co_await good.send<int>(json::value(prefix + "sum"), xs, o);
                  if (v == 6)
                    ++good_ok;
                  else
                    ++good_failed;
                } catch (const std::exception& e) {
                  ++good_failed;
                  good_error = e.what();
                }
                co_await roost::testing::pause_for(20ms);
              }
              finished = true;
            },
            asio::detached);
        for (const auto& c : corpus()) {
          const auto bodies = c.bodies(prefix);
          const int good_before = good_ok;
          const expect e = s.name == "tcp" ? c.tcp : s.name == "ws" ? c.ws : c.broker;
          // A reply is expected within seconds; "nothing" is waited for a second.
          const auto wait = e == expect::no_reply ? 1s : 10s;
          if (e == expect::not_applicable) continue;
          const auto sent = std::chrono::steady_clock::now();
          const outcome o = co_await s.exchange(prefix + c.route, bodies, wait, c.half);
          const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - sent);
          // Half a frame is closed by the timeout (1 s and 2 s here), not by anything sooner.
          const bool ok = as_expected(e, o, bodies.size(), c.what) && (!c.half || took >= 900ms);
          std::string text = outcome_text(o);
          if (c.half) text += " after " + std::to_string(took.count()) + " ms";
          EXPECT_TRUE(ok) << s.name << ", " << c.name << ": got " << text;
          record(s.name, c.name, ok, text);
          // The well-behaved client is served after the case as before it.
          const bool served = co_await roost::testing::eventually(
              [&] { return good_ok >= good_before + 3 || good_failed > 0; }, 20s);
          EXPECT_TRUE(served && good_failed == 0)
              << s.name << ", " << c.name << ": the well-behaved client was not served after it";
        }
        done = true;
        const bool stopped = co_await roost::testing::eventually([&] { return finished; }, 15s);
        EXPECT_TRUE(stopped) << "the well-behaved client's last call did not end";
        EXPECT_EQ(good_failed, 0) << s.name << ": the well-behaved client failed: " << good_error;
        good.close();
        co_await app.shutdown();
      },
      120s);
}

TEST(bad_input, tcp) {
  if (!find_transport("tcp")) GTEST_FAIL() << "this build has no TCP transport";
  run_corpus(tcp_sender());
}

TEST(bad_input, websocket) {
  if (!find_transport("ws")) GTEST_FAIL() << "this build has no WebSocket transport";
  run_corpus(ws_sender());
}

TEST(bad_input, nats) {
  if (!find_transport("nats")) GTEST_FAIL() << "this build has no NATS transport";
  run_corpus(nats_sender());
}

TEST(bad_input, redis) {
  if (!find_transport("redis")) GTEST_FAIL() << "this build has no Redis transport";
  run_corpus(redis_sender());
}

}  // namespace
}  // namespace roost::test
