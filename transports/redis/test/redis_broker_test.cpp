// Tests against a real Redis server: $ROOST_REDIS_URL (scripts/brokers.sh start), plus a
// private redis-server this file starts on a free port for the broker-restart tests. A test
// fails, never skips, when the broker is missing. Channel names are unique per test, so tests
// may share the broker with others running in parallel.

#include <roost/redis.hpp>

#include <roost/redis/detail/resp.hpp>

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

namespace roost::redis::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using asio::use_awaitable;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// helpers

std::string broker_url() {
  return roost::testing::broker_url("ROOST_REDIS_URL");
}

connection_options broker(std::string_view url_text = {}) {
  auto u = url::parse(url_text.empty() ? broker_url() : std::string(url_text));
  EXPECT_TRUE(u);
  auto o = client_options_from(*u);
  EXPECT_TRUE(o);
  auto c = o ? o->connection : connection_options{};
  c.connect_timeout = 2s;
  return c;
}

// A prefix no other test (or test run) uses.
std::string unique(std::string_view what) {
  static std::atomic<int> n{0};
  std::random_device rd;
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000) + "-" +
         std::to_string(++n) + "." + std::string(what);
}

using roost::testing::eventually;
using roost::testing::pause_for;

/// A plain RESP connection, as a foreign publisher or subscriber would use.
class raw_redis {
 public:
  static awaitable<raw_redis> open(const connection_options& o) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver res(ex);
    auto eps = co_await res.async_resolve(o.host, std::to_string(o.port), use_awaitable);
    asio::ip::tcp::socket s(ex);
    co_await asio::async_connect(s, eps, use_awaitable);
    co_return raw_redis(std::move(s));
  }

  // Not coroutines: the arguments are encoded before the caller's co_await suspends (GCC 12
  // mishandles braced lists and owning temporaries held across a suspension).
  template <class... Args>
  awaitable<void> send(const Args&... args) {
    std::string out;
    detail::append_command(out, {std::string_view(args)...});
    return send_raw(std::move(out));
  }
  awaitable<void> send_raw(std::string out) {
    co_await asio::async_write(socket_, asio::buffer(out), use_awaitable);
  }

  /// The next reply, or nullptr after `timeout`.
  awaitable<detail::reply_ptr> next(milliseconds timeout = 5s) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer t(ex, timeout);
    for (;;) {
      auto r = reader_.next();
      if (!r) throw std::runtime_error("not RESP");
      if (*r) co_return std::move(*r);
      auto got = co_await (socket_.async_read_some(asio::buffer(chunk_), as_tuple(use_awaitable)) ||
                           t.async_wait(as_tuple(use_awaitable)));
      if (got.index() == 1) co_return nullptr;
      auto [ec, k] = std::get<0>(got);
      if (ec) co_return nullptr;
      reader_.feed(std::string_view(chunk_.data(), k));
    }
  }

  /// Sends a command and completes with its reply.
  template <class... Args>
  awaitable<detail::reply_ptr> call(const Args&... args) {
    std::string out;
    detail::append_command(out, {std::string_view(args)...});
    return call_raw(std::move(out));
  }
  awaitable<detail::reply_ptr> call_raw(std::string out) {
    co_await send_raw(std::move(out));
    auto r = co_await next();
    co_return r;
  }

  /// Subscribers of `channel` (PUBSUB NUMSUB).
  awaitable<long long> subscribers(std::string_view channel) {
    auto r = co_await call("PUBSUB", "NUMSUB", channel);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) co_return -1;
    co_return r->element[1]->integer;
  }

  /// The payload of the next message on a subscribed connection ("" after `timeout`).
  awaitable<std::string> message(milliseconds timeout = 5s) {
    for (;;) {
      auto r = co_await next(timeout);
      if (!r) co_return std::string();
      auto p = detail::classify(*r);
      if (p.type == detail::push::kind::message || p.type == detail::push::kind::pmessage) {
        last_channel = std::string(p.channel);
        co_return std::string(p.payload);
      }
    }
  }

  std::string last_channel;

 private:
  explicit raw_redis(asio::ip::tcp::socket s) : socket_(std::move(s)) {}
  asio::ip::tcp::socket socket_;
  detail::reader reader_;
  std::vector<char> chunk_ = std::vector<char>(64 * 1024);
};

struct recorded {
  std::mutex mutex;
  std::vector<std::string> events;
  std::vector<std::string> channels;
  void add(std::string e, std::string channel = {}) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(e));
    channels.push_back(std::move(channel));
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
};

std::string str(const json::value& v) {
  return json::serialize(v);
}
json::value J(const std::string& s) {
  return json::value(json::string(s));
}

// Handlers under routes prefixed with `p`.
router make_router(const std::string& p, recorded& rec) {
  router r;
  r.message(J(p + "sum"), [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(json::value{{"cmd", p + "sum"}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(J(p + "echo"), [](json::value v) { return v; });
  r.message(J(p + "count"), [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message(J(p + "fail"), [](std::string s) -> int { throw rpc_exception(s); });
  r.message(J(p + "slow"), [](int ms) -> awaitable<int> {
    co_await pause_for(milliseconds(ms));
    co_return ms;
  });
  r.message(J(p + "ctx"), [](redis::context& ctx) {
    json::object o{{"channel", ctx.channel()}, {"pattern", ctx.pattern()}};
    if (ctx.metadata()) o["metadata"] = *ctx.metadata();
    return o;
  });
  r.event(J(p + "note"), [&rec](json::value v, redis::context& ctx) {
    rec.add(json::serialize(v), ctx.channel());
  });
  return r;
}

microservice_options app_opts() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = 2s;
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

struct service {
  service(const router& r, server_options o)
      : app(r, app_opts()), srv(app.add_transport(redis::server(silenced(std::move(o))))) {}
  static server_options silenced(server_options o) {
    o.log = logger::silent();
    return o;
  }
  microservice app;
  redis::server& srv;
};

server_options server_opts(connection_options c = broker()) {
  server_options o;
  o.connection = std::move(c);
  o.log = logger::silent();
  return o;
}

redis::client make_client(connection_options c = broker()) {
  client_options o;
  o.connection = std::move(c);
  o.log = logger::silent();
  return redis::client(std::move(o));
}

// ---------------------------------------------------------------------------------------------
// roost client <-> roost server

TEST(redis_broker, request_reply_stream_error_event) {
  const auto p = unique("a.");
  recorded rec;
  router r = make_router(p, rec);
  testing::run([&]() -> awaitable<void> {
    service svc(r, server_opts());
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, make_client());
    const std::vector<double> one_two_three{1, 2, 3};
    auto six = co_await c.send<double>(J(p + "sum"), one_two_three);
    EXPECT_EQ(six, 6);
    json::value obj_pattern{{"role", "math"}, {"cmd", p + "sum"}};
    const std::vector<double> two_three{2, 3};
    auto five = co_await c.send<double>(obj_pattern, two_three);
    EXPECT_EQ(five, 5);
    auto st = c.stream<int>(J(p + "count"), 50);
    std::vector<int> got;
    for (;;) {
      auto v = co_await st.next();
      if (!v) break;
      got.push_back(*v);
    }
    std::vector<int> want(50);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
    std::string err;
    try {
      co_await c.send(J(p + "fail"), "bad thing");
    } catch (const rpc_error& e) {
      err = str(e.error());
    }
    EXPECT_EQ(err, R"({"status":"error","message":"bad thing"})");
    // No server subscribes to a route without a handler, so nobody answers (as with NestJS):
    // only the caller's timeout ends the call.
    bool timed_out = false;
    call_options short_wait;
    short_wait.timeout = 300ms;
    try {
      co_await c.send(J(p + "nope"), 1, short_wait);
    } catch (const timeout_error&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    for (int i = 0; i < 20; ++i) co_await c.emit(J(p + "note"), i);
    const bool all = co_await eventually([&] { return rec.size() == 20; });
    EXPECT_TRUE(all);
    {
      std::lock_guard lock(rec.mutex);
      for (int i = 0; i < 20 && i < static_cast<int>(rec.events.size()); ++i) {
        EXPECT_EQ(rec.events[i], std::to_string(i));
        EXPECT_EQ(rec.channels[i], p + "note");
      }
    }
    co_await svc.app.shutdown();
  });
}

TEST(redis_broker, many_concurrent_requests_share_one_reply_subscription) {
  const auto p = unique("b.");
  recorded rec;
  router r = make_router(p, rec);
  testing::run(
      [&]() -> awaitable<void> {
        service svc(r, server_opts());
        co_await svc.app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, make_client());
        auto probe = co_await raw_redis::open(broker());
        std::atomic<int> ok{0}, done{0};
        constexpr int n = 500;
        for (int i = 0; i < n; ++i) {
          asio::co_spawn(
              ex,
              [&, i]() -> awaitable<void> {
                json::value v{{"i", i}};
                auto back = co_await c.send(J(p + "echo"), v);
                if (back == v) ++ok;
              },
              [&](std::exception_ptr) { ++done; });
        }
        co_await eventually([&] { return c.pending() > 0; }, 2s);
        // While requests are in flight, exactly one subscription to the reply channel exists.
        auto during = co_await probe.subscribers(p + "echo.reply");
        const bool finished = co_await eventually([&] { return done == n; }, 15s);
        EXPECT_TRUE(finished);
        EXPECT_EQ(ok, n);
        EXPECT_LE(during, 1);
        // ...and it is released once none is pending.
        long long after = -1;
        for (int i = 0; i < 100 && after != 0; ++i) {
          after = co_await probe.subscribers(p + "echo.reply");
          if (after != 0) co_await pause_for(20ms);
        }
        EXPECT_EQ(after, 0);
        co_await svc.app.shutdown();
      },
      30s, 2);
}

TEST(redis_broker, context_channel_pattern_and_metadata) {
  const auto p = unique("c.");
  recorded rec;
  router r = make_router(p, rec);
  testing::run([&]() -> awaitable<void> {
    service svc(r, server_opts());
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, make_client());
    call_options o;
    o.metadata = json::object{{"traceparent", "00-abc-def-01"}};
    auto v = co_await c.send(J(p + "ctx"), 0, o);
    json::value want{{"channel", p + "ctx"},
                     {"pattern", p + "ctx"},
                     {"metadata", {{"traceparent", "00-abc-def-01"}}}};
    EXPECT_EQ(v, want) << str(v);
    co_await svc.app.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// the wire, seen by a foreign peer

TEST(redis_broker, server_wire_replies_and_bad_input) {
  const auto p = unique("d.");
  recorded rec;
  router r = make_router(p, rec);
  testing::run([&]() -> awaitable<void> {
    service svc(r, server_opts());
    co_await svc.app.start();
    auto sub = co_await raw_redis::open(broker());
    auto pub = co_await raw_redis::open(broker());
    const std::string reply_channel = p + "sum.reply";
    co_await sub.send("SUBSCRIBE", reply_channel);
    auto confirm = co_await sub.next();
    EXPECT_NE(confirm, nullptr);
    // The body's pattern is not used for routing: the channel is.
    co_await pub.call("PUBLISH", p + "sum", R"({"pattern":"IGNORED","data":[1,2],"id":"r1"})");
    auto reply = co_await sub.message();
    EXPECT_EQ(reply, R"({"response":3,"isDisposed":true,"id":"r1"})");
    // A non-JSON payload is an external event: its data is the raw text.
    co_await pub.call("PUBLISH", p + "note", "not json {");
    // A JSON document without pattern and data is external too, whole.
    co_await pub.call("PUBLISH", p + "note", R"({"x":1,"id":"lost"})");
    const bool both = co_await eventually([&] { return rec.size() == 2; });
    EXPECT_TRUE(both);
    {
      std::lock_guard lock(rec.mutex);
      if (rec.events.size() == 2) {
        EXPECT_EQ(rec.events[0], R"("not json {")");
        EXPECT_EQ(rec.events[1], R"({"x":1,"id":"lost"})");
      }
    }
    // Nothing of that cost the service anything: it still answers.
    co_await pub.call("PUBLISH", p + "sum", R"({"pattern":"x","data":[5],"id":7})");
    reply = co_await sub.message();
    EXPECT_EQ(reply, R"({"response":5,"isDisposed":true,"id":7})");
    // A route without a handler has no subscriber: the PUBLISH reaches nobody.
    auto receivers =
        co_await pub.call("PUBLISH", p + "nope", R"({"pattern":"n","data":1,"id":"r3"})");
    EXPECT_TRUE(receivers && receivers->type == REDIS_REPLY_INTEGER && receivers->integer == 0);
    co_await svc.app.shutdown();
  });
}

// A long run of messages in one read is answered in parts: the first replies are published
// while the rest are still being served, so the caller can work on them meanwhile. 96
// requests, published in one write, to a handler that takes 3 ms on a one-thread service; the
// last one is held until the reply subscriber (on a thread of its own) has the first reply:
// if the server kept every reply until the batch was served, it would wait in vain. An order,
// not a time bound, so that a slow machine cannot fail it.
TEST(redis_broker, a_long_batch_publishes_its_first_replies_before_serving_the_rest) {
  const auto p = unique("lb.");
  constexpr int n = 96;
  std::atomic<int> served{0};
  std::atomic<int> received{0};
  std::atomic<bool> last_saw_first{false};
  router r;
  r.message(J(p + "nap"), [&](int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
    if (++served == n) {
      const auto until = std::chrono::steady_clock::now() + 10s;
      while (received == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(milliseconds(1));
      }
      last_saw_first = received > 0;
    }
    return ms;
  });
  const auto o = broker();
  std::atomic<bool> subscribed{false};
  std::vector<std::string> replies;
  std::thread reader([&] {
    timeval tv{10, 0};
    redisContext* c = redisConnectWithTimeout(o.host.c_str(), o.port, tv);
    if (!c || c->err) {
      subscribed = true;
      if (c) redisFree(c);
      return;
    }
    redisSetTimeout(c, tv);
    const std::string channel = p + "nap.reply";
    auto* confirm = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE %s", channel.c_str()));
    if (confirm) freeReplyObject(confirm);
    subscribed = true;
    for (int i = 0; i < n; ++i) {
      void* got = nullptr;
      if (redisGetReply(c, &got) != REDIS_OK || !got) break;
      auto* m = static_cast<redisReply*>(got);
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3)
        replies.emplace_back(m->element[2]->str, m->element[2]->len);
      freeReplyObject(m);
      ++received;
    }
    redisFree(c);
  });
  testing::run(
      [&]() -> awaitable<void> {
        service svc(r, server_opts());
        co_await svc.app.start();
        co_await eventually([&] { return subscribed.load(); });
        auto pub = co_await raw_redis::open(broker());
        std::string requests;
        for (int i = 0; i < n; ++i) {
          detail::append_publish(
              requests, p + "nap",
              R"({"pattern":"nap","data":3,"id":"n)" + std::to_string(i) + "\"}");
        }
        co_await pub.send_raw(std::move(requests));
        const bool all = co_await eventually([&] { return received.load() == n; }, 20s);
        EXPECT_TRUE(all) << received.load() << " replies of " << n;
        co_await svc.app.shutdown();
      },
      30s);
  reader.join();
  ASSERT_EQ(replies.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(replies[i], R"({"response":3,"isDisposed":true,"id":"n)" + std::to_string(i) + "\"}");
  }
  EXPECT_TRUE(last_saw_first) << "the first reply came only after the whole batch";
}

TEST(redis_broker, client_wire_subscribes_before_publishing) {
  const auto p = unique("e.");
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    // A foreign server: subscribed to the request channel, answering by hand.
    auto srv_sub = co_await raw_redis::open(broker());
    auto srv_pub = co_await raw_redis::open(broker());
    co_await srv_sub.call("SUBSCRIBE", p + "sum");
    client_proxy c(ex, make_client());
    json::value obj_pattern{{"z", 1}, {"a", p}};
    std::optional<json::value> answer;
    auto call = [&]() -> awaitable<void> {
      const std::vector<int> data{1, 2};
      answer = co_await c.send(J(p + "sum"), data);
    };
    asio::co_spawn(ex, call, asio::detached);
    auto request = co_await srv_sub.message();
    auto doc = json::parse(request);
    EXPECT_EQ(doc.at("pattern"), json::value(p + "sum"));
    EXPECT_EQ(str(doc.at("data")), "[1,2]");
    const auto& id = doc.at("id").as_string();
    EXPECT_EQ(id.size(), 21u);
    // The client is subscribed to the reply channel before its request went out.
    auto n = co_await srv_pub.subscribers(p + "sum.reply");
    EXPECT_EQ(n, 1);
    // Replies for other ids and foreign documents are ignored; then the real one.
    co_await srv_pub.call("PUBLISH", p + "sum.reply",
                          R"({"response":99,"isDisposed":true,"id":"other"})");
    co_await srv_pub.call("PUBLISH", p + "sum.reply", "garbage");
    const std::string good = R"({"response":3,"isDisposed":true,"id":")" + std::string(id) + "\"}";
    co_await srv_pub.call("PUBLISH", p + "sum.reply", good);
    const bool got = co_await eventually([&] { return answer.has_value(); });
    EXPECT_TRUE(got);
    if (got) {
      EXPECT_EQ(*answer, json::value(3));
    }
    // Events: the caller's pattern in the body, the route as the channel, no id.
    co_await srv_sub.call("SUBSCRIBE", "{\"a\":\"" + p + "\",\"z\":1}");
    const json::value x1{{"x", 1}};
    co_await c.emit(obj_pattern, x1);
    auto event = co_await srv_sub.message();
    EXPECT_EQ(srv_sub.last_channel, "{\"a\":\"" + p + "\",\"z\":1}");
    EXPECT_EQ(event, R"({"pattern":{"z":1,"a":")" + p + R"("},"data":{"x":1}})");
  });
}

TEST(redis_broker, wildcards_route_by_glob_and_reply_to_concrete_channel) {
  const auto p = unique("f.");
  std::mutex m;
  std::vector<std::string> seen;
  router r;
  r.message(J(p + "users.*"), [&](json::value v, redis::context& ctx) {
    std::lock_guard lock(m);
    seen.push_back(ctx.channel() + " " + str(ctx.pattern()));
    return v;
  });
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    o.wildcards = true;
    service svc(r, std::move(o));
    co_await svc.app.start();
    auto sub = co_await raw_redis::open(broker());
    auto pub = co_await raw_redis::open(broker());
    co_await sub.call("SUBSCRIBE", p + "users.42.reply");
    co_await pub.call("PUBLISH", p + "users.42", R"({"pattern":"x","data":"hi","id":"w1"})");
    auto reply = co_await sub.message();
    EXPECT_EQ(reply, R"({"response":"hi","isDisposed":true,"id":"w1"})");
    EXPECT_EQ(sub.last_channel, p + "users.42.reply");
    std::lock_guard lock(m);
    // The reply channel matches the glob too, so the server hears its own reply as an
    // external event (NestJS 12 does the same): the first call is the request.
    EXPECT_GE(seen.size(), 1u);
    if (!seen.empty()) {
      EXPECT_EQ(seen[0], p + "users.42 \"" + p + "users.*\"");
    }
    co_await svc.app.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// connection failures

TEST(redis_broker, unreachable_broker_fails_promptly) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto c0 = broker("redis://127.0.0.1:1");  // nothing listens on port 1
    c0.retry.attempts = 0;
    client_proxy c(ex, make_client(c0));
    const auto t0 = std::chrono::steady_clock::now();
    std::string what;
    try {
      co_await c.send("x", 1);
    } catch (const connection_error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("cannot connect to 127.0.0.1:1"), std::string::npos) << what;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    // The default keeps trying in the background, but each call fails with an attempt's error.
    client_proxy k(ex, make_client(broker("redis://127.0.0.1:1")));
    what.clear();
    try {
      co_await k.send("x", 1);
    } catch (const connection_error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
  });
}

TEST(redis_broker, wrong_password_is_a_clear_error) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto o = broker();
    o.password = "not-the-password";
    o.retry.attempts = 0;
    client_proxy c(ex, make_client(o));
    std::string what;
    try {
      co_await c.connect();
    } catch (const connection_error& e) {
      what = e.what();
    }
    // The test broker has no password: Redis answers AUTH with an error either way.
    EXPECT_NE(what.find("AUTH"), std::string::npos) << what;
  });
}

// ---------------------------------------------------------------------------------------------
// a broker that goes away and comes back (a private redis-server on a free port)

class private_redis {
 public:
  private_redis() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = a.local_endpoint().port();
    dir_ = std::filesystem::temp_directory_path() /
           ("roost-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
  }
  ~private_redis() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string port() const { return std::to_string(port_); }

  const std::filesystem::path& dir() const { return dir_; }

  /// Starts redis-server and waits until it answers; false (with a test failure) otherwise.
  /// `tls`: the port speaks TLS only, with the certificate made by make_certificates(), and
  /// requires a client certificate signed by the same CA (mutual TLS).
  bool start(bool tls = false, std::string password = {}) {
    std::vector<std::string> args{
        "redis-server",         "--bind", "127.0.0.1", "--save",      "",
        "--appendonly",         "no",     "--dir",     dir_.string(), "--logfile",
        (dir_ / "log").string()};
    if (tls) {
      args.insert(
          args.end(),
          {"--port", "0", "--tls-port", std::to_string(port_), "--tls-auth-clients", "yes",
           "--tls-cert-file", (dir_ / "server.pem").string(), "--tls-key-file",
           (dir_ / "server.key").string(), "--tls-ca-cert-file", (dir_ / "ca.pem").string()});
    } else {
      args.insert(args.end(), {"--port", std::to_string(port_)});
    }
    if (!password.empty()) args.insert(args.end(), {"--requirepass", password});
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test that crashed
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      asio::io_context ioc;
      asio::ip::tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
      if (!ec) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(25ms);
    }
    ADD_FAILURE() << "redis-server did not start on port " << port_;
    return false;
  }

  /// A CA and a certificate for localhost / 127.0.0.1 signed by it, a client certificate
  /// (client.pem, client.key) signed by it too, and a CA of its own (other.pem, other.key) that
  /// the server does not trust, in dir().
  bool make_certificates() {
    const std::string d = dir_.string();
    const std::string cmd =
        "cd '" + d +
        "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
        "-days 1 -subj /CN=roost-test-ca && openssl req -newkey rsa:2048 -nodes -keyout "
        "server.key -out server.csr -subj /CN=localhost && printf "
        "'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf && openssl x509 -req -in "
        "server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile "
        "ext.cnf && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
        "-subj /CN=roost-test-client && printf 'extendedKeyUsage=clientAuth\\n' > client.cnf && "
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
        "client.pem -days 1 -extfile client.cnf && openssl req -x509 -newkey rsa:2048 -nodes "
        "-keyout other.key -out other.pem -days 1 -subj /CN=other-ca";
    const int rc = std::system(("(" + cmd + ") >/dev/null 2>&1").c_str());
    EXPECT_EQ(rc, 0) << "openssl failed";
    return rc == 0;
  }

  /// Kills it at once (no goodbye to its clients), as a crash would.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path dir_;
};

TEST(redis_broker_restart, pending_calls_fail_promptly_and_everyone_recovers) {
  private_redis broker_process;
  ASSERT_TRUE(broker_process.start());
  const auto p = unique("g.");
  recorded rec;
  router r = make_router(p, rec);
  auto conn = broker(broker_process.url());
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        service svc(r, server_opts(conn));
        co_await svc.app.start();
        std::vector<connection_status> statuses;  // outlives the client, which reports `closed`
        std::mutex sm;
        client_proxy c(ex, make_client(conn));
        c.on_status([&](connection_status s) {
          std::lock_guard lock(sm);
          statuses.push_back(s);
        });
        const std::vector<double> one_two{1, 2};
        auto three = co_await c.send<double>(J(p + "sum"), one_two);
        EXPECT_EQ(three, 3);
        // Load: requests whose replies are still to come when the broker dies (their handlers
        // take 2 s, so a slow machine cannot answer them first).
        std::atomic<int> failed_lost{0}, other{0}, done{0};
        constexpr int n = 200;
        for (int i = 0; i < n; ++i) {
          asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                try {
                  co_await c.send(J(p + "slow"), 2000);  // still pending when the broker dies
                  ++other;
                } catch (const connection_error&) {
                  ++failed_lost;
                } catch (...) {
                  ++other;
                }
              },
              [&](std::exception_ptr) { ++done; });
        }
        co_await eventually([&] { return c.pending() == static_cast<std::size_t>(n); }, 5s);
        co_await pause_for(50ms);
        broker_process.stop();
        const auto t0 = std::chrono::steady_clock::now();
        const bool all_ended = co_await eventually([&] { return done == n; }, 5s);
        EXPECT_TRUE(all_ended) << done << " of " << n << " calls ended";
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
        EXPECT_EQ(failed_lost, n);
        // While the broker is away, a call fails with a connection error instead of hanging.
        std::string during;
        try {
          co_await c.send(J(p + "sum"), one_two);
        } catch (const connection_error& e) {
          during = e.what();
        }
        EXPECT_FALSE(during.empty());
        co_await pause_for(300ms);
        EXPECT_TRUE(broker_process.start());
        // Client and server reconnect by themselves; the server subscribes again.
        bool recovered = false;
        for (int i = 0; i < 100 && !recovered; ++i) {
          try {
            call_options o;
            o.timeout = 1s;
            auto v = co_await c.send<double>(J(p + "sum"), one_two, o);
            recovered = v == 3;
          } catch (const std::exception&) {
          }
          if (!recovered) co_await pause_for(100ms);
        }
        EXPECT_TRUE(recovered);
        {
          std::lock_guard lock(sm);
          EXPECT_NE(std::find(statuses.begin(), statuses.end(), connection_status::reconnecting),
                    statuses.end());
          EXPECT_FALSE(statuses.empty());
          if (!statuses.empty()) {
            EXPECT_EQ(statuses.back(), connection_status::connected);
          }
        }
        co_await svc.app.shutdown();
      },
      40s);
}

TEST(redis_broker_restart, without_retries_the_next_call_connects_again) {
  private_redis broker_process;
  ASSERT_TRUE(broker_process.start());
  const auto p = unique("h.");
  recorded rec;
  router r = make_router(p, rec);
  auto conn = broker(broker_process.url());
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        service svc(r, server_opts(conn));  // the server keeps trying (roost's default)
        co_await svc.app.start();
        auto client_conn = conn;
        client_conn.retry.attempts = 0;  // NestJS's default: a lost connection is final
        client_proxy c(ex, make_client(client_conn));
        const std::vector<double> one_two{1, 2};
        auto three = co_await c.send<double>(J(p + "sum"), one_two);
        EXPECT_EQ(three, 3);
        broker_process.stop();
        const bool down =
            co_await eventually([&] { return c.status() == connection_status::disconnected; }, 3s);
        EXPECT_TRUE(down);
        EXPECT_TRUE(broker_process.start());
        bool again = false;
        for (int i = 0; i < 100 && !again; ++i) {
          try {
            call_options o;
            o.timeout = 1s;
            auto v = co_await c.send<double>(J(p + "sum"), one_two, o);
            again = v == 3;
          } catch (const std::exception&) {
          }
          if (!again) co_await pause_for(100ms);
        }
        EXPECT_TRUE(again);
        co_await svc.app.shutdown();
      },
      40s);
}

// ---------------------------------------------------------------------------------------------
// Streams mode (roost extension)

stream_options streams_in(const std::string& group, const std::string& consumer) {
  stream_options s;
  s.enabled = true;
  s.group = group;
  s.consumer = consumer;
  s.block = 200ms;
  s.claim_idle = 300ms;
  return s;
}

TEST(redis_streams, requests_and_shared_events_with_redelivery_of_failures) {
  const auto p = unique("s.");
  const std::string group = p + "group";
  std::mutex m;
  std::map<int, int> seen;        // job -> times handled successfully
  std::map<std::string, int> by;  // consumer -> jobs handled
  std::atomic<bool> failed_once{false};
  auto make = [&](const std::string& name) {
    router r;
    r.message(J(p + "sum"),
              [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
    r.event(J(p + "job"), [&, name](int n, redis::context& ctx) {
      EXPECT_FALSE(ctx.stream_id().empty());
      // The first delivery of job 13 fails: it stays pending and comes back.
      if (n == 13 && !failed_once.exchange(true)) throw std::runtime_error("transient");
      std::lock_guard lock(m);
      ++seen[n];
      ++by[name];
    });
    return r;
  };
  router ra = make("a"), rb = make("b");
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto oa = server_opts();
        oa.streams = streams_in(group, "a");
        auto ob = server_opts();
        ob.streams = streams_in(group, "b");
        service a(ra, std::move(oa)), b(rb, std::move(ob));
        co_await a.app.start();
        co_await b.app.start();
        client_options co;
        co.connection = broker();
        co.streams.enabled = true;
        co.log = logger::silent();
        client_proxy c(ex, redis::client(std::move(co)));
        const std::vector<double> one_two{1, 2};
        auto three = co_await c.send<double>(J(p + "sum"), one_two);
        EXPECT_EQ(three, 3);
        constexpr int n = 200;
        for (int i = 0; i < n; ++i) co_await c.emit(J(p + "job"), i);
        const bool all = co_await eventually(
            [&] {
              std::lock_guard lock(m);
              return static_cast<int>(seen.size()) == n;
            },
            10s);
        EXPECT_TRUE(all);
        co_await pause_for(700ms);  // time for a wrong second delivery to show
        std::lock_guard lock(m);
        EXPECT_EQ(static_cast<int>(seen.size()), n);
        for (const auto& [job, times] : seen) EXPECT_EQ(times, 1) << "job " << job;
        EXPECT_TRUE(failed_once);
        // Both consumers of the group took a share.
        EXPECT_GT(by["a"], 0);
        EXPECT_GT(by["b"], 0);
        EXPECT_EQ(by["a"] + by["b"], n);
        co_await a.app.shutdown();
        co_await b.app.shutdown();
      },
      40s, 2);
}

// The core's acknowledgement rule (roost/acknowledgement.hpp) as the Streams mode carries it
// out: a dead-letter outcome moves a failed entry to `<route>:dead` and acknowledges it;
// in manual mode the handler settles, and what it leaves unsettled stays pending.
TEST(redis_streams, failures_dead_lettered_and_manual_settlement) {
  const auto p = unique("d.");
  std::atomic<int> handled{0};
  router automatic;
  automatic.event(J(p + "bad"), [&](int) {
    ++handled;
    throw std::runtime_error("poison");
  });
  automatic.event(J(p + "good"), [&](int) { ++handled; });
  router manual;
  manual.event(J(p + "manual"), [&](int n, redis::context& ctx) {
    ++handled;
    if (n % 3 == 0) {
      EXPECT_TRUE(ctx.ack());
    } else if (n % 3 == 1) {
      EXPECT_TRUE(ctx.nack(false));  // dead-lettered
    }
    // n % 3 == 2: left unsettled
  });
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto oa = server_opts();
        oa.streams = streams_in(p + "ga", "a");
        oa.streams.claim_idle = 60s;  // nothing comes back during the test
        oa.streams.ack.on_failure = failure_outcome::dead_letter;
        auto om = server_opts();
        om.streams = streams_in(p + "gm", "m");
        om.streams.claim_idle = 60s;
        om.streams.ack = {true, failure_outcome::dead_letter};
        service a(automatic, std::move(oa)), m(manual, std::move(om));
        co_await a.app.start();
        co_await m.app.start();
        client_options co;
        co.connection = broker();
        co.streams.enabled = true;
        co.log = logger::silent();
        client_proxy c(ex, redis::client(std::move(co)));
        for (int i = 0; i < 3; ++i) co_await c.emit(J(p + "bad"), i);
        for (int i = 0; i < 2; ++i) co_await c.emit(J(p + "good"), i);
        for (int i = 0; i < 6; ++i) co_await c.emit(J(p + "manual"), i);
        const bool all = co_await eventually([&] { return handled == 11; });
        EXPECT_TRUE(all);
        auto raw = co_await raw_redis::open(broker());
        auto length = [&](std::string key) -> awaitable<long long> {
          auto r = co_await raw.call("XLEN", key);
          co_return r ? r->integer : -1;
        };
        auto pending = [&](std::string key, std::string group) -> awaitable<long long> {
          auto r = co_await raw.call("XPENDING", key, group);
          co_return r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0]->integer
                                                                         : -1;
        };
        co_await pause_for(300ms);  // the last XADD/XACK reach the broker
        std::vector<long long> got;
        for (const auto& [key, group] : std::vector<std::pair<std::string, std::string>>{
                 {p + "bad", p + "ga"}, {p + "good", p + "ga"}, {p + "manual", p + "gm"}}) {
          const long long dead = co_await length(key + ":dead");
          const long long left = co_await pending(key, group);
          got.push_back(dead);
          got.push_back(left);
        }
        // bad: 3 dead, none pending; good: none; manual: 2 dead (n % 3 == 1), 2 left pending.
        EXPECT_EQ(got, (std::vector<long long>{3, 0, 0, 0, 2, 2}));
        // A dead-lettered entry keeps its payload and names the entry it came from.
        auto first = co_await raw.call("XRANGE", p + "bad:dead", "-", "+", "COUNT", "1");
        const bool one = first && first->type == REDIS_REPLY_ARRAY && first->elements == 1 &&
                         first->element[0]->element[1]->elements == 4;
        EXPECT_TRUE(one);
        if (one) {
          const auto* fields = first->element[0]->element[1];
          EXPECT_EQ(detail::text(*fields->element[0]), "m");
          EXPECT_NE(detail::text(*fields->element[1]).find("\"data\":0"), std::string_view::npos);
          EXPECT_EQ(detail::text(*fields->element[2]), "id");
        }
        co_await a.app.shutdown();
        co_await m.app.shutdown();
      },
      30s, 2);
}

TEST(redis_streams, an_event_survives_the_crash_of_its_consumer) {
  const auto p = unique("t.");
  const std::string group = p + "group";
  std::atomic<int> a_holding{0};
  std::mutex m;
  std::vector<std::string> done;  // "consumer:job"
  router ra, rb;
  asio::steady_timer* gate = nullptr;
  // `a` takes the job and does not finish it before its connections are gone (it "crashes"
  // with the job in hand); the test lets the handler end afterwards, to shut down cleanly.
  ra.event(J(p + "job"), [&](int) -> awaitable<void> {
    ++a_holding;
    boost::system::error_code ec;
    co_await gate->async_wait(asio::redirect_error(use_awaitable, ec));
  });
  rb.event(J(p + "job"), [&](int n) {
    std::lock_guard lock(m);
    done.push_back("b:" + std::to_string(n));
  });
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer held_until(ex, std::chrono::steady_clock::time_point::max());
        gate = &held_until;
        auto oa = server_opts();
        oa.streams = streams_in(group, "a");
        auto a = std::make_unique<service>(ra, std::move(oa));
        co_await a->app.start();
        client_options co;
        co.connection = broker();
        co.streams.enabled = true;
        co.log = logger::silent();
        client_proxy c(ex, redis::client(std::move(co)));
        co_await c.emit(J(p + "job"), 7);
        const bool held = co_await eventually([&] { return a_holding == 1; }, 5s);
        EXPECT_TRUE(held);
        // `a` goes away without acknowledging; `b` joins the group and claims the idle entry.
        auto ob = server_opts();
        ob.streams = streams_in(group, "b");
        service b(rb, std::move(ob));
        co_await b.app.start();
        a->srv.close();  // a's connections go at once; its handler has not finished
        const bool claimed = co_await eventually(
            [&] {
              std::lock_guard lock(m);
              return !done.empty();
            },
            10s);
        EXPECT_TRUE(claimed);
        {
          std::lock_guard lock(m);
          EXPECT_EQ(done, std::vector<std::string>{"b:7"});
        }
        held_until.cancel();  // a's handler ends now, with nowhere to acknowledge
        co_await a->app.shutdown();
        co_await b.app.shutdown();
      },
      40s, 2);
}

TEST(redis_broker_tls, rediss_with_password_and_db) {
  private_redis broker_process;
  ASSERT_TRUE(broker_process.make_certificates());
  ASSERT_TRUE(broker_process.start(true, "s3cret"));
  const auto p = unique("u.");
  recorded rec;
  router r = make_router(p, rec);
  const auto& d = broker_process.dir();
  const std::string ca = (d / "ca.pem").string();
  const std::string cert =
      "&cert=" + (d / "client.pem").string() + "&key=" + (d / "client.key").string();
  const std::string base = "rediss://:s3cret@localhost:" + broker_process.port() + "/3";
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    service svc(r, server_opts(broker(base + "?ca=" + ca + cert)));
    co_await svc.app.start();
    client_proxy c(ex, make_client(broker(base + "?ca=" + ca + cert)));
    const std::vector<double> one_two{1, 2};
    auto three = co_await c.send<double>(J(p + "sum"), one_two);
    EXPECT_EQ(three, 3);
    // A CA that did not sign the server's certificate: a clear TLS error, not a hang.
    auto wrong = broker(base + "?ca=" + (d / "other.pem").string() + cert);
    wrong.retry.attempts = 0;
    client_proxy bad(ex, make_client(wrong));
    std::string what;
    try {
      co_await bad.send(J(p + "sum"), one_two);
    } catch (const connection_error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("TLS handshake"), std::string::npos) << what;
    // The right CA and a wrong password: AUTH's error.
    auto no_pass =
        broker("rediss://:nope@localhost:" + broker_process.port() + "/?ca=" + ca + cert);
    no_pass.retry.attempts = 0;
    client_proxy denied(ex, make_client(no_pass));
    what.clear();
    try {
      co_await denied.send(J(p + "sum"), one_two);
    } catch (const connection_error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("WRONGPASS"), std::string::npos) << what;
    // The right CA and password but no client certificate: AUTH never gets its answer.
    auto no_cert = broker(base + "?ca=" + ca);
    no_cert.retry.attempts = 0;
    client_proxy refused(ex, make_client(no_cert));
    what.clear();
    try {
      co_await refused.send(J(p + "sum"), one_two);
    } catch (const connection_error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("client certificate"), std::string::npos) << what;
    co_await svc.app.shutdown();
  });
}

// No AUTH or SELECT to wait for: under TLS 1.3 the handshake completes on the client's side before
// the server judges its certificate, so without a check of its own a connection would look up and
// then be dropped.
TEST(redis_broker_tls, client_certificate_is_required) {
  private_redis broker_process;
  ASSERT_TRUE(broker_process.make_certificates());
  ASSERT_TRUE(broker_process.start(true));
  const auto p = unique("v.");
  recorded rec;
  router r = make_router(p, rec);
  const auto& d = broker_process.dir();
  const std::string base =
      "rediss://localhost:" + broker_process.port() + "/?ca=" + (d / "ca.pem").string();
  const std::string with_cert =
      base + "&cert=" + (d / "client.pem").string() + "&key=" + (d / "client.key").string();
  // None, and one the server's CA did not sign.
  const std::vector<std::string> refused_urls{
      base, base + "&cert=" + (d / "other.pem").string() + "&key=" + (d / "other.key").string()};
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    service svc(r, server_opts(broker(with_cert)));
    co_await svc.app.start();
    client_proxy c(ex, make_client(broker(with_cert)));
    const std::vector<double> one_two{1, 2};
    auto three = co_await c.send<double>(J(p + "sum"), one_two);
    EXPECT_EQ(three, 3);
    for (const auto& url : refused_urls) {
      // A clear error from the first attempt, long before the connect timeout.
      auto o = broker(url);
      o.connect_timeout = 10s;
      o.retry.attempts = 0;
      client_proxy bad(ex, make_client(o));
      const auto t0 = std::chrono::steady_clock::now();
      std::string what;
      try {
        co_await bad.send(J(p + "sum"), one_two);
      } catch (const connection_error& e) {
        what = e.what();
      }
      EXPECT_NE(what.find("client certificate"), std::string::npos) << url << ": " << what;
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s) << url;
      // A server does not start (its reconnection loop is not left running behind it).
      auto so = broker(url);
      so.connect_timeout = 10s;
      service no_cert(r, server_opts(so));
      what.clear();
      try {
        co_await no_cert.app.start();
      } catch (const connection_error& e) {
        what = e.what();
      }
      EXPECT_NE(what.find("client certificate"), std::string::npos) << url << ": " << what;
      no_cert.srv.close();
    }
    // The server and client with the certificate were not disturbed.
    auto again = co_await c.send<double>(J(p + "sum"), one_two);
    EXPECT_EQ(again, 3);
    co_await svc.app.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// Limits (roost/limits.hpp): on Redis "per connection" is the server's subscription connection,
// so the limit is the server's; the requests already running complete, and once they have the
// server answers again.

using roost::testing::error_of;

awaitable<void> call_and_record(client_proxy& c, json::value pattern, int x,
                                std::vector<int>& results, std::atomic<int>& done) {
  const int v = co_await c.send<int>(std::move(pattern), x);
  results.push_back(v);
  ++done;
}

TEST(redis_limits, requests_over_the_in_flight_limit_get_the_error_and_the_held_ones_complete) {
  const auto p = unique("lim.");
  recorded rec;
  router r = make_router(p, rec);
  std::atomic<bool> open{false};
  std::atomic<int> held{0};
  r.message(J(p + "hold"), [&](int x) -> awaitable<int> {
    ++held;
    while (!open) co_await pause_for(2ms);
    co_return x;
  });
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    o.serving.max_in_flight_per_connection = 2;
    service svc(r, o);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, make_client());
    client_proxy other(ex, make_client());
    std::atomic<int> done{0};
    std::vector<int> results;
    for (int i = 1; i <= 2; ++i) {
      asio::co_spawn(ex, call_and_record(c, J(p + "hold"), i, results, done), asio::detached);
    }
    const bool both_held = co_await eventually([&] { return held == 2; });
    EXPECT_TRUE(both_held);
    json::value sum_pattern = J(p + "sum"), one_two = json::array{1, 2};
    const std::string refused = co_await error_of(other, sum_pattern, one_two);
    EXPECT_EQ(refused, "Too many requests in flight on this connection");
    open = true;
    const bool finished = co_await eventually([&] { return done == 2; });
    EXPECT_TRUE(finished);
    std::sort(results.begin(), results.end());
    EXPECT_EQ(results, (std::vector<int>{1, 2}));
    const std::vector<double> xs{1, 2};
    const double sum = co_await other.send<double>(J(p + "sum"), xs);
    EXPECT_EQ(sum, 3);
    EXPECT_EQ(svc.app.dispatcher().in_flight(), 0u);
    co_await svc.app.shutdown();
  });
}

TEST(redis_limits, a_message_too_large_is_refused_before_it_is_parsed) {
  const auto p = unique("big.");
  recorded rec;
  router r = make_router(p, rec);
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    o.serving.max_message_size = 300;
    service svc(r, o);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, make_client());
    const json::value echo = J(p + "echo"), note = J(p + "note"), big(std::string(400, 'x'));
    const std::string refused = co_await error_of(c, echo, big);
    EXPECT_EQ(refused.rfind("Message too large: ", 0), 0u) << refused;
    EXPECT_NE(refused.find("bytes, the limit is 300"), std::string::npos) << refused;
    // An event that large is dropped; the next one is served.
    co_await c.emit(note, big);
    co_await c.emit(note, std::string("small"));
    const bool one = co_await eventually([&] { return rec.size() == 1; });
    EXPECT_TRUE(one);
    {
      std::lock_guard lock(rec.mutex);
      EXPECT_EQ(rec.events, (std::vector<std::string>{R"("small")"}));
    }
    const std::string echoed = co_await c.send<std::string>(echo, std::string("ok"));
    EXPECT_EQ(echoed, "ok");
    co_await svc.app.shutdown();
  });
}

// In the Streams mode an entry too large is answered (a request) and acknowledged: it would never
// be served, so it does not stay pending to be claimed again and again.
TEST(redis_limits, a_stream_entry_too_large_is_answered_and_acknowledged) {
  const auto p = unique("bigs.");
  const std::string group = p + "group";
  recorded rec;
  router r = make_router(p, rec);
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto o = server_opts();
        o.streams = streams_in(group, "a");
        o.serving.max_message_size = 300;
        service svc(r, std::move(o));
        co_await svc.app.start();
        client_options co;
        co.connection = broker();
        co.streams.enabled = true;
        co.log = logger::silent();
        client_proxy c(ex, redis::client(std::move(co)));
        const json::value echo = J(p + "echo"), note = J(p + "note"), big(std::string(400, 'x'));
        const std::string refused = co_await error_of(c, echo, big);
        EXPECT_EQ(refused.rfind("Message too large: ", 0), 0u) << refused;
        co_await c.emit(note, big);
        co_await c.emit(note, std::string("small"));
        const bool one = co_await eventually([&] { return rec.size() == 1; });
        EXPECT_TRUE(one);
        auto raw = co_await raw_redis::open(broker());
        // Every entry acknowledged: nothing pending in the group (XACKs are sent without
        // waiting, so poll).
        const auto count = [](const detail::reply_ptr& r) {
          return r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0]->integer : -1;
        };
        long long left = -1;
        for (int i = 0; i < 500 && left != 0; ++i) {
          auto echo_pending = co_await raw.call("XPENDING", p + "echo", group);
          auto note_pending = co_await raw.call("XPENDING", p + "note", group);
          const long long a = count(echo_pending), b = count(note_pending);
          left = a < 0 || b < 0 ? -1 : a + b;
          if (left != 0) co_await pause_for(10ms);
        }
        EXPECT_EQ(left, 0);
        co_await svc.app.shutdown();
      },
      40s, 2);
}

TEST(redis_limits, read_from_the_url) {
  auto u = url::parse("redis://127.0.0.1:6379?maxMessageSize=1000&maxInFlight=5");
  ASSERT_TRUE(u);
  auto o = server_options_from(*u);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->serving.max_message_size, 1000u);
  EXPECT_EQ(o->serving.max_in_flight, 5u);
  EXPECT_EQ(o->serving.max_in_flight_per_connection, 0u);
}

}  // namespace roost::redis::test
