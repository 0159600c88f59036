// The RabbitMQ transport against a real rabbitmq-server (ROOST_RABBITMQ_URL; scripts/brokers.sh
// starts one). Each test uses queues of its own, so tests may share the broker and run in
// parallel.
// GCC 12: no co_await inside call arguments or conditions, and no owning temporaries in a
// co_await full-expression (see docs/contributing.md).

#include <roost/rmq.hpp>

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/testing/url_options.hpp>

#include "relay.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

namespace roost::rmq::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using roost::testing::app_options;
using roost::testing::call_and_count;
using roost::testing::error_of;
using roost::testing::eventually;
using roost::testing::pause_for;
using roost::testing::with_query;
using std::chrono::milliseconds;

std::string broker_url() {
  return roost::testing::broker_url("ROOST_RABBITMQ_URL");
}

// A queue name no other test (or run) uses.
std::string unique_queue(std::string_view test) {
  return "roost-test-" + roost::testing::unique_number() + "-" + std::string(test);
}

template <class Options>
Options options_from(const std::string& text) {
  if constexpr (std::is_same_v<Options, server_options>) {
    return roost::testing::options_from_url(text,
                                            [](const url& u) { return server_options_from(u); });
  } else {
    return roost::testing::options_from_url(text,
                                            [](const url& u) { return client_options_from(u); });
  }
}

std::string text(const amqp_bytes_t& b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}
amqp_bytes_t bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

// A plain rabbitmq-c connection, for exact bytes and properties as a NestJS peer would see
// them. Blocking: run it on a thread the service does not need.
struct raw_amqp {
  amqp_connection_state_t conn = amqp_new_connection();
  explicit raw_amqp(const std::string& text_url) {
    auto u = url::parse(text_url);
    if (!u) throw std::runtime_error("bad url " + text_url);
    auto* sock = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(sock, u->host.c_str(), u->port.value_or(5672)) != AMQP_STATUS_OK) {
      throw std::runtime_error("raw connection failed");
    }
    auto r = amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, u->user.c_str(),
                        u->password.c_str());
    if (r.reply_type != AMQP_RESPONSE_NORMAL) throw std::runtime_error("raw login failed");
    amqp_channel_open(conn, 1);
    if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
      throw std::runtime_error("raw channel failed");
    }
  }
  ~raw_amqp() {
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
  }
  void consume_replies() {
    amqp_basic_consume(conn, 1, amqp_cstring_bytes("amq.rabbitmq.reply-to"), amqp_empty_bytes, 0, 1,
                       0, amqp_empty_table);
    if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
      throw std::runtime_error("raw consume failed");
    }
  }
  void publish(const std::string& queue, const std::string& body,
               const std::string& correlation_id = {}) {
    amqp_basic_properties_t p{};
    if (!correlation_id.empty()) {
      p._flags = AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
      p.reply_to = amqp_cstring_bytes("amq.rabbitmq.reply-to");
      p.correlation_id = bytes(correlation_id);
    }
    amqp_basic_publish(conn, 1, amqp_empty_bytes, bytes(queue), 0, 0, &p, bytes(body));
  }
  // The next message: {correlation id, body}, or empty strings after 5 s.
  std::pair<std::string, std::string> next() {
    amqp_envelope_t e{};
    timeval limit{5, 0};
    auto r = amqp_consume_message(conn, &e, &limit, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) return {};
    std::pair<std::string, std::string> out;
    if (e.message.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
      out.first = text(e.message.properties.correlation_id);
    }
    out.second = text(e.message.body);
    amqp_destroy_envelope(&e);
    return out;
  }
  // Messages ready in `queue` (a passive declare), or -1 when it does not exist.
  long ready(const std::string& queue) {
    auto* ok = amqp_queue_declare(conn, 1, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    if (!ok) return -1;
    return static_cast<long>(ok->message_count);
  }
  void declare(const std::string& queue, bool durable) {
    amqp_queue_declare(conn, 1, bytes(queue), 0, durable, 0, 0, amqp_empty_table);
  }
  void remove(const std::string& queue) { amqp_queue_delete(conn, 1, bytes(queue), 0, 0); }
  // A fanout exchange and a queue bound to it: a dead-letter destination.
  void dead_letter_pair(const std::string& exchange, const std::string& queue) {
    amqp_exchange_declare(conn, 1, bytes(exchange), amqp_cstring_bytes("fanout"), 0, 0, 1, 0,
                          amqp_empty_table);
    declare(queue, false);
    amqp_queue_bind(conn, 1, bytes(queue), bytes(exchange), amqp_empty_bytes, amqp_empty_table);
  }
  // A queue that refuses every message published to it (no room, overflow refused).
  void declare_full(const std::string& queue) {
    amqp_table_entry_t args[2] = {};
    args[0].key = amqp_cstring_bytes("x-max-length");
    args[0].value.kind = AMQP_FIELD_KIND_I32;
    args[0].value.value.i32 = 0;
    args[1].key = amqp_cstring_bytes("x-overflow");
    args[1].value.kind = AMQP_FIELD_KIND_UTF8;
    args[1].value.value.bytes = amqp_cstring_bytes("reject-publish");
    amqp_queue_declare(conn, 1, bytes(queue), 0, 0, 0, 0, amqp_table_t{2, args});
  }
};

struct service_state {
  std::atomic<int> events{0};
  std::atomic<int> attempts{0};
  std::mutex mutex;
  std::vector<std::string> seen;
  void record(std::string s) {
    std::lock_guard lock(mutex);
    seen.push_back(std::move(s));
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

router make_router(service_state& st) {
  router r;
  r.message("sum", [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(json::value{{"cmd", "sum"}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message("count", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message("boom", []() -> int { throw rpc_exception("bad thing"); });
  r.message("whoami", [](json::value, rmq::context& ctx) {
    json::object o;
    for (const auto& [k, v] : ctx.headers()) o[k] = v;
    o["transport"] = std::string(ctx.transport());
    o["routing_key"] = ctx.message().routing_key;
    o["has_reply_to"] = !ctx.message().reply_to.empty();
    o["delivery_mode"] = ctx.message().delivery_mode;
    if (ctx.message().priority) o["priority"] = ctx.message().priority;
    if (!ctx.message().message_id.empty()) o["message_id"] = ctx.message().message_id;
    if (!ctx.message().content_type.empty()) o["content_type"] = ctx.message().content_type;
    if (!ctx.message().expiration.empty()) o["expiration"] = ctx.message().expiration;
    return o;
  });
  r.event("note", [&st](json::value v) {
    st.record(json::serialize(v));
    ++st.events;
  });
  // Fails the first time it sees each event, succeeds when the broker delivers it again.
  r.event("flaky", [&st](json::value v, rmq::context& ctx) {
    ++st.attempts;
    if (!ctx.message().redelivered) throw std::runtime_error("first time fails");
    st.record("again " + json::serialize(v));
    ++st.events;
  });
  return r;
}

class rmq_broker : public ::testing::Test {
 protected:
  std::string base = broker_url();
  std::string queue = unique_queue(::testing::UnitTest::GetInstance()->current_test_info()->name());
  // Non-durable: the test's queues go with the broker.
  std::string url = with_query(base, "queue=" + queue + "&durable=false");
  service_state st;
  router r = make_router(st);

  void TearDown() override {
    try {
      raw_amqp raw(base);
      raw.remove(queue);
      amqp_exchange_delete(raw.conn, 1, bytes(queue), 0);  // a wildcards test's
    } catch (...) {
    }
  }
};

TEST_F(rmq_broker, send_stream_emit_errors_and_no_handler) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(url)));

    const std::vector<double> xs{1, 2, 3};
    const double sum = co_await c.send<double>("sum", xs);
    EXPECT_EQ(sum, 6);
    const json::value by_object = {{"role", "math"}, {"cmd", "sum"}};
    const double by_object_sum = co_await c.send<double>(by_object, xs);
    EXPECT_EQ(by_object_sum, 6);

    auto counter = c.stream<int>("count", 300);
    int next = 0;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      EXPECT_EQ(*v, next++);
    }
    EXPECT_EQ(next, 300);

    try {
      (void)co_await c.send<int>("boom", 0);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(json::serialize(e.error()), R"({"status":"error","message":"bad thing"})");
    }
    try {
      (void)co_await c.send("nope", 1);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(), no_handler_message);
    }

    for (int i = 0; i < 50; ++i) co_await c.emit("note", i);
    const bool got = co_await eventually([&] { return st.events.load() == 50; });
    EXPECT_TRUE(got);
    std::vector<std::string> want;
    for (int i = 0; i < 50; ++i) want.push_back(std::to_string(i));
    EXPECT_EQ(st.all(), want);  // one queue, one consumer: in order
    EXPECT_EQ(c.pending(), 0u);
    c.close();
    co_await app.shutdown();
  });
}

// Many requests in flight on one client: each reply finds its call by correlationId.
TEST_F(rmq_broker, concurrent_requests_match_their_replies) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(url)));
    // All sent before any reply is awaited.
    std::atomic<int> right{0}, done{0};
    for (int i = 0; i < 500; ++i) {
      asio::co_spawn(
          ex,
          [&c, &right, &done, i]() -> awaitable<void> {
            const std::vector<double> xs{static_cast<double>(i), 1};
            const double v = co_await c.send<double>("sum", xs);
            if (v == i + 1) ++right;
            ++done;
          },
          asio::detached);
    }
    const bool all = co_await eventually([&] { return done.load() == 500; });
    EXPECT_TRUE(all);
    EXPECT_EQ(right, 500);
    co_await app.shutdown();
  });
}

// What goes on the wire, as a NestJS client sees it: the reply's body has no `id` and carries
// the request's correlationId; the no-handler reply alone has the `id`.
TEST_F(rmq_broker, exact_reply_bytes_and_properties) {
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(rmq::server(options_from<server_options>(url)));
        co_await app.start();
        raw_amqp raw(base);
        raw.consume_replies();
        raw.publish(queue, R"({"pattern":"sum","data":[1,2],"id":"x1"})", "x1");
        auto [id1, body1] = raw.next();
        EXPECT_EQ(id1, "x1");
        EXPECT_EQ(body1, R"({"response":3,"isDisposed":true})");
        raw.publish(queue, R"({"pattern":"nope","data":1,"id":"x2"})", "x2");
        auto [id2, body2] = raw.next();
        EXPECT_EQ(id2, "x2");
        EXPECT_EQ(body2, R"({"id":"x2","status":"error","err":")" +
                             std::string(no_handler_message) + "\"}");
        raw.publish(queue, R"({"pattern":"count","data":2,"id":"x3"})", "x3");
        auto [id3, body3] = raw.next();
        auto [id4, body4] = raw.next();
        EXPECT_EQ(id3 + " " + id4, "x3 x3");
        EXPECT_EQ(body3, R"({"response":0})");
        EXPECT_EQ(body4, R"({"response":1,"isDisposed":true})");
        co_await app.shutdown();
      },
      20s, 2);  // the raw peer blocks one thread while the service runs on the other
}

// A body that is not JSON, or a request without a replyTo, stalls nothing: what follows is
// served.
TEST_F(rmq_broker, bad_messages_cost_nothing) {
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(rmq::server(options_from<server_options>(url)));
        co_await app.start();
        raw_amqp raw(base);
        raw.publish(queue, "this is not JSON");
        raw.publish(queue, "");
        raw.publish(queue, R"({"pattern":"sum","data":[1],"id":"r1"})");  // no replyTo
        raw.publish(queue, R"({"pattern":"note","data":"after"})");
        const bool noted = co_await eventually([&] { return st.events.load() == 1; });
        EXPECT_TRUE(noted);
        EXPECT_EQ(st.all(), (std::vector<std::string>{R"("after")"}));
        co_await app.shutdown();
      },
      20s, 2);
}

TEST_F(rmq_broker, headers_both_ways) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(
                           with_query(url, "headers.x-default=d&headers.x-trace=default"))));
    call_options o;
    o.metadata = json::object{{"x-trace", "abc"}, {"n", 5}};
    const json::value got = co_await c.send("whoami", 0, o);
    EXPECT_EQ(got, json::parse(R"({"x-trace":"abc","n":"5","x-default":"d","transport":"rmq",)"
                               R"("routing_key":")" +
                               queue + R"(","has_reply_to":true,"delivery_mode":1})"))
        << json::serialize(got);
    // A call's own properties (NestJS's RmqRecordBuilder): its headers win over the call's and
    // the client's.
    call_options own;
    own.metadata = json::object{{"x-trace", "call"}};
    rmq::record rec;
    rec.headers.add("x-trace", "record");
    rec.priority = 3;
    rec.expiration = 60s;
    rec.message_id = "m-1";
    rec.persistent = true;
    rec.content_type = "application/json";
    own.record = rec;
    const json::value with_record = co_await c.send("whoami", 0, own);
    EXPECT_EQ(with_record, json::parse(R"({"x-trace":"record","x-default":"d","transport":"rmq",)"
                                       R"("routing_key":")" +
                                       queue +
                                       R"(","has_reply_to":true,"delivery_mode":2,"priority":3,)"
                                       R"("message_id":"m-1","content_type":"application/json",)"
                                       R"("expiration":"60000"})"))
        << json::serialize(with_record);
    co_await app.shutdown();
  });
}

// noAck=false: an event is acknowledged once its handler returned; one whose handler threw
// is requeued and served again (redelivered); nothing stays in the queue.
TEST_F(rmq_broker, acknowledged_after_the_handler_and_requeued_when_it_throws) {
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(rmq::server(
            options_from<server_options>(with_query(url, "noAck=false&prefetchCount=10"))));
        co_await app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(url)));
        for (int i = 0; i < 5; ++i) co_await c.emit("flaky", i);
        co_await c.emit("note", "plain");
        const std::vector<double> two_twos{2, 2};
        const double sum = co_await c.send<double>("sum", two_twos);
        EXPECT_EQ(sum, 4);
        const bool all = co_await eventually([&] { return st.events.load() == 6; });
        EXPECT_TRUE(all);
        EXPECT_EQ(st.attempts.load(), 10);  // each flaky event twice
        raw_amqp raw(base);
        const bool drained = co_await eventually([&] { return raw.ready(queue) == 0; });
        EXPECT_TRUE(drained);
        co_await app.shutdown();
      },
      30s, 2);
}

// A queue declared elsewhere with other properties: the server does not start, and says why
// in the broker's words.
TEST_F(rmq_broker, a_queue_declared_with_other_properties_is_a_clear_error) {
  testing::run([&]() -> awaitable<void> {
    {
      raw_amqp raw(base);
      raw.declare(queue, false);
    }
    microservice app(r, app_options());
    app.add_transport(
        rmq::server(options_from<server_options>(with_query(base, "queue=" + queue))));
    try {
      co_await app.start();
      ADD_FAILURE() << "started against a queue of other properties";
    } catch (const connection_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("PRECONDITION_FAILED"), std::string::npos) << what;
      EXPECT_NE(what.find("durable"), std::string::npos) << what;
    }
    // The client's assert fails the same way, as a failed call.
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex,
                   rmq::client(options_from<client_options>(with_query(base, "queue=" + queue))));
    try {
      (void)co_await c.send("sum", 1);
      ADD_FAILURE() << "sent to a queue of other properties";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("durable"), std::string::npos) << e.what();
    }
  });
}

TEST_F(rmq_broker, unreachable_broker_and_bad_credentials_are_clear) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(
                           "amqp://127.0.0.1:1/?queue=x&connectTimeout=500")));
    try {
      co_await c.connect();
      ADD_FAILURE() << "connected to port 1";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
    }
    auto u = url::parse(base);
    client_proxy d(ex, rmq::client(options_from<client_options>(
                           "amqp://nobody:wrong@" + u->host + ":" +
                           std::to_string(u->port.value_or(5672)) + "/?queue=" + queue)));
    try {
      co_await d.connect();
      ADD_FAILURE() << "logged in with a wrong password";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot log in"), std::string::npos) << e.what();
    }
  });
}

// Closing the client fails what is pending; the next call connects again.
TEST_F(rmq_broker, close_fails_pending_calls_and_the_next_call_reconnects) {
  testing::run([&]() -> awaitable<void> {
    router slow;
    slow.message("never", [](int) -> awaitable<int> {
      auto ex = co_await asio::this_coro::executor;
      asio::steady_timer t(ex, 2s);
      co_await t.async_wait(asio::use_awaitable);
      co_return 0;
    });
    slow.message("sum", [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
    microservice app(slow, app_options());
    app.add_transport(rmq::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(url)));
    co_await c.connect();
    std::atomic<bool> failed{false};
    asio::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          try {
            (void)co_await c.send("never", 1);
            ADD_FAILURE() << "answered after close()";
          } catch (const connection_error&) {
            failed = true;
          } catch (const std::exception& e) {
            ADD_FAILURE() << "failed with " << e.what();
          }
        },
        asio::detached);
    const bool sent = co_await eventually([&] { return c.pending() == 1; });
    EXPECT_TRUE(sent);
    c.close();
    const bool failed_at_once = co_await eventually([&] { return failed.load(); });
    EXPECT_TRUE(failed_at_once);
    const std::vector<double> ones{1, 1};
    const double sum = co_await c.send<double>("sum", ones);
    EXPECT_EQ(sum, 2);
    co_await app.shutdown();
  });
}

// wildcards (NestJS's option): the client publishes to the exchange (the queue's name) with the
// pattern as the routing key; the server bound each handler route, and a pattern without a
// handler of its own is served by the wildcard route it matches (topic rules).
TEST_F(rmq_broker, wildcards_route_through_the_exchange) {
  testing::run([&]() -> awaitable<void> {
    router w;
    w.message("sum", [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
    w.message("orders.*", [](json::value v, rmq::context& ctx) {
      return json::object{{"route", ctx.route()},
                          {"routing_key", ctx.message().routing_key},
                          {"exchange", ctx.message().exchange},
                          {"data", v}};
    });
    w.event("audit.#", [this](json::value v, rmq::context& ctx) {
      st.record(ctx.route() + " " + ctx.message().routing_key + " " + json::serialize(v));
      ++st.events;
    });
    const std::string wild = with_query(url, "wildcards=true");
    microservice app(w, app_options());
    app.add_transport(rmq::server(options_from<server_options>(wild)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(wild)));
    const std::vector<double> xs{1, 2};
    const double sum = co_await c.send<double>("sum", xs);
    EXPECT_EQ(sum, 3);
    const json::value got = co_await c.send("orders.created", 7);
    EXPECT_EQ(got, (json::value{{"route", "orders.*"},
                                {"routing_key", "orders.created"},
                                {"exchange", queue},
                                {"data", 7}}))
        << json::serialize(got);
    co_await c.emit("audit.user.login", 1);
    const bool noted = co_await eventually([&] { return st.events.load() == 1; });
    EXPECT_TRUE(noted);
    EXPECT_EQ(st.all(), (std::vector<std::string>{"audit.# audit.user.login 1"}));
    // No binding takes `nope.x`: the exchange drops it, and the call times out.
    call_options o;
    o.timeout = 300ms;
    try {
      (void)co_await c.send("nope.x", 1, o);
      ADD_FAILURE() << "answered";
    } catch (const timeout_error&) {
    }
    co_await app.shutdown();
  });
}

// emit completes once the broker confirmed the event (publisher confirms, as NestJS's confirm
// channel); an event the broker cannot take fails the emit with the broker's reason.
TEST_F(rmq_broker, emit_waits_for_the_broker_and_fails_clearly) {
  testing::run(
      [&]() -> awaitable<void> {
        const std::string wild = with_query(url, "wildcards=true");
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(wild)));
        co_await c.emit("audit.x", 1);  // confirmed: the exchange takes it (and drops it)
        {
          raw_amqp raw(base);
          amqp_exchange_delete(raw.conn, 1, bytes(queue), 0);
        }
        try {
          co_await c.emit("audit.x", 2);
          ADD_FAILURE() << "confirmed without an exchange";
        } catch (const connection_error& e) {
          EXPECT_NE(std::string(e.what()).find("NOT_FOUND"), std::string::npos) << e.what();
        }
      },
      20s, 2);
}

// The broker cancels the server's consumer (its queue was deleted): the server connects again,
// declares the queue and consumes again by itself; calls then go through.
TEST_F(rmq_broker, the_server_comes_back_after_losing_its_consumer) {
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(
            rmq::server(options_from<server_options>(with_query(url, "reconnectTime=100"))));
        co_await app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(url)));
        const std::vector<double> xs{1, 2};
        const double before = co_await c.send<double>("sum", xs);
        EXPECT_EQ(before, 3);
        {
          raw_amqp raw(base);
          raw.remove(queue);
        }
        // Until the server has declared the queue again, a request goes nowhere (the default
        // exchange drops what no queue takes): try with a short timeout until one is answered.
        call_options o;
        o.timeout = 300ms;
        bool answered = false;
        for (int attempt = 0; attempt < 30 && !answered; ++attempt) {
          try {
            const double after = co_await c.send<double>("sum", xs, o);
            answered = after == 3;
          } catch (const timeout_error&) {
          }
        }
        EXPECT_TRUE(answered);
        co_await app.shutdown();
      },
      30s, 2);
}

// Shutting down lets the request in flight finish: its reply still reaches the caller.
TEST_F(rmq_broker, shutdown_answers_what_is_in_flight) {
  testing::run(
      [&]() -> awaitable<void> {
        router slow;
        std::atomic<bool> started{false};
        slow.message("slow", [&started](int ms) -> awaitable<int> {
          started = true;
          auto ex = co_await asio::this_coro::executor;
          asio::steady_timer t(ex, milliseconds(ms));
          co_await t.async_wait(asio::use_awaitable);
          co_return ms;
        });
        auto app = std::make_shared<microservice>(slow, app_options());
        app->add_transport(rmq::server(options_from<server_options>(url)));
        co_await app->start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(url)));
        std::atomic<int> got{0};
        asio::co_spawn(
            ex,
            [&]() -> awaitable<void> {
              const int v = co_await c.send<int>("slow", 300);
              got = v;
            },
            asio::detached);
        const bool running = co_await eventually([&] { return started.load(); });
        EXPECT_TRUE(running);
        co_await app->shutdown();
        const bool answered = co_await eventually([&] { return got.load() == 300; });
        EXPECT_TRUE(answered);
      },
      30s, 2);
}

// Limits (roost/limits.hpp): "per connection" is the server's connection to the broker, so the
// limit is the server's; the requests already running complete, and then it answers again.

TEST_F(rmq_broker, limits_refuse_what_goes_over_them_and_the_rest_is_served) {
  std::atomic<bool> open{false};
  std::atomic<int> held{0};
  r.message("hold", [&](int x) -> awaitable<int> {
    ++held;
    while (!open) {
      auto ex = co_await asio::this_coro::executor;
      asio::steady_timer t(ex, 2ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    co_return x;
  });
  testing::run([&]() -> awaitable<void> {
    auto o = options_from<server_options>(
        with_query(url, "maxInFlightPerConnection=2&maxMessageSize=300"));
    EXPECT_EQ(o.serving.max_in_flight_per_connection, 2u);
    microservice app(r, app_options());
    app.add_transport(rmq::server(std::move(o)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(url)));
    client_proxy other(ex, rmq::client(options_from<client_options>(url)));
    std::atomic<int> done{0};
    for (int i = 0; i < 2; ++i) {
      asio::co_spawn(ex, call_and_count(c, json::value("hold"), done), asio::detached);
    }
    const bool both_held = co_await eventually([&] { return held == 2; });
    EXPECT_TRUE(both_held);
    json::value sum = json::value("sum"), xs = json::array{1, 2};
    const std::string refused = co_await error_of(other, sum, xs);
    EXPECT_EQ(refused, "Too many requests in flight on this connection");
    open = true;
    const bool finished = co_await eventually([&] { return done == 2; });
    EXPECT_TRUE(finished);
    const double served = co_await other.send<double>(sum, xs);
    EXPECT_EQ(served, 3);
    // Too large: refused without being parsed; an event that large is dropped.
    const json::value big(std::string(400, 'x'));
    const std::string too_large = co_await error_of(c, sum, big);
    EXPECT_EQ(too_large.rfind("Message too large: ", 0), 0u) << too_large;
    const json::value note("note");
    co_await c.emit(note, big);
    co_await c.emit(note, std::string("small"));
    const bool one = co_await eventually([&] { return st.events == 1; });
    EXPECT_TRUE(one);
    EXPECT_EQ(st.all(), (std::vector<std::string>{R"("small")"}));
    EXPECT_EQ(app.dispatcher().in_flight(), 0u);
    c.close();
    other.close();
    co_await app.shutdown();
  });
}

// amqps://: the TLS node of scripts/brokers.sh (ROOST_RABBITMQS_URL), which requires a client
// certificate signed by its CA.
std::string tls_broker_url() {
  return roost::testing::broker_url("ROOST_RABBITMQS_URL");
}

// The TLS broker's URL with only the TLS parameters `keep` of it, and `extra`.
std::string tls_url_with(const std::vector<std::string>& keep, const std::string& extra) {
  auto u = url::parse(tls_broker_url());
  std::string out =
      "amqps://guest:guest@" + u->host + ":" + std::to_string(*u->port) + "/?" + extra;
  for (const auto& k : keep) out += "&" + k + "=" + std::string(*u->param(k));
  return out;
}

TEST_F(rmq_broker, tls_with_a_client_certificate) {
  // Auto-deleted: TearDown cleans the plain node only.
  const std::string tls =
      with_query(tls_broker_url(), "queue=" + queue + "&durable=false&autoDelete=true");
  r.message("echo", [](json::value v) { return v; });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(tls)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(tls)));
    const std::vector<double> xs{1, 2, 3};
    const double sum = co_await c.send<double>("sum", xs);
    EXPECT_EQ(sum, 6);
    auto counter = c.stream<int>("count", 100);
    int next = 0;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      EXPECT_EQ(*v, next++);
    }
    EXPECT_EQ(next, 100);
    // Bigger than a TLS record (16 KiB) and than a frame (128 KiB): read whole.
    const std::string big(300'000, 'x');
    const std::string echoed = co_await c.send<std::string>("echo", big);
    EXPECT_EQ(echoed, big);
    for (int i = 0; i < 20; ++i) co_await c.emit("note", i);
    const bool got = co_await eventually([&] { return st.events.load() == 20; });
    EXPECT_TRUE(got);
    c.close();
    co_await app.shutdown();
  });
}

// Each way TLS can fail says why, and costs nothing else.
TEST_F(rmq_broker, tls_failures_are_clear) {
  const std::string q = "queue=" + queue + "&durable=false&autoDelete=true&connectTimeout=3000";
  // The URLs are made before the coroutine: no braced lists in a co_await's expression.
  const std::string untrusted_url = tls_url_with({"cert", "key"}, q);
  const std::string other_name_url =
      tls_url_with({"ca", "cert", "key"}, q + "&servername=broker.example");
  const std::string no_certificate_url = tls_url_with({"ca"}, q);
  const std::string missing_ca_url = tls_url_with({"cert", "key"}, q + "&ca=/nonexistent/ca.pem");
  const std::string unverified_url =
      tls_url_with({"cert", "key"}, q + "&verify=false&servername=broker.example");
  const std::string by_name_url = tls_url_with({"ca", "cert", "key"}, q + "&servername=localhost");
  auto failure = [](std::string u) -> awaitable<std::string> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(u)));
    try {
      co_await c.connect();
    } catch (const connection_error& e) {
      co_return std::string(e.what());
    }
    co_return std::string("connected");
  };
  testing::run(
      [&]() -> awaitable<void> {
        // The broker's certificate is signed by a CA the system does not know.
        const std::string untrusted = co_await failure(untrusted_url);
        EXPECT_NE(untrusted.find("certificate verify failed"), std::string::npos) << untrusted;
        // Trusted, but issued to another name.
        const std::string other_name = co_await failure(other_name_url);
        EXPECT_NE(other_name.find("certificate verify failed"), std::string::npos) << other_name;
        // The broker requires a client certificate.
        const std::string no_certificate = co_await failure(no_certificate_url);
        EXPECT_NE(no_certificate.find("cannot"), std::string::npos) << no_certificate;
        // A CA file that is not there.
        const std::string missing = co_await failure(missing_ca_url);
        EXPECT_NE(missing.find("TLS: cannot load CA /nonexistent/ca.pem"), std::string::npos)
            << missing;
        // verify=false: any certificate and name are accepted (tests only).
        const std::string unverified = co_await failure(unverified_url);
        EXPECT_EQ(unverified, "connected");
        // The name checked may be another than the host dialled: localhost is in the
        // certificate too.
        const std::string by_name = co_await failure(by_name_url);
        EXPECT_EQ(by_name, "connected");
      },
      60s);
}

// What a call failed with: the message of an rpc_error or of a connection_error ("" when it
// did not fail).
awaitable<std::string> failure_of(client_proxy& c) {
  try {
    const std::vector<double> xs{1, 2};
    (void)co_await c.send<double>("sum", xs);
  } catch (const std::exception& e) {
    co_return std::string(e.what());
  }
  co_return std::string();
}

// Heartbeats: a broker that goes silent with the connection open (here a relay that passes
// nothing on) is noticed after two intervals; the call waiting on it fails saying so, and
// both sides connect again by themselves once it answers again.
TEST_F(rmq_broker, heartbeats_notice_a_silent_broker_and_both_sides_come_back) {
  auto u = url::parse(base);
  relay rl(u->host, u->port.value_or(5672));
  const std::string via = "amqp://guest:guest@127.0.0.1:" + std::to_string(rl.port()) +
                          "/?queue=" + queue + "&durable=false&heartbeat=1&reconnectTime=100";
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(rmq::server(options_from<server_options>(via)));
        co_await app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(via)));
        const std::string before = co_await failure_of(c);
        EXPECT_EQ(before, "");
        rl.freeze();
        const std::string silent = co_await failure_of(c);
        EXPECT_NE(silent.find("no heartbeat from the broker"), std::string::npos) << silent;
        EXPECT_NE(c.status(), connection_status::connected);
        rl.thaw();
        // Back by itself: no call is needed to bring the client back.
        const bool back =
            co_await eventually([&] { return c.status() == connection_status::connected; }, 20s);
        EXPECT_TRUE(back) << to_string(c.status());
        std::string after = "not called";
        for (int i = 0; i < 200 && !after.empty(); ++i) {
          after = co_await failure_of(c);
          if (!after.empty()) co_await pause_for(100ms);
        }
        EXPECT_EQ(after, "");
        c.close();
        co_await app.shutdown();
      },
      60s);
}

// Failover under load: server and client know two addresses of the broker (here two relays);
// the first goes away with calls in flight. Those fail with a clear error, none hangs, and
// the work carries on through the second.
TEST_F(rmq_broker, failover_under_load_when_a_broker_goes_away) {
  auto u = url::parse(base);
  relay first(u->host, u->port.value_or(5672)), second(u->host, u->port.value_or(5672));
  const std::string both = "amqp://guest:guest@127.0.0.1:" + std::to_string(first.port()) +
                           ",127.0.0.1:" + std::to_string(second.port()) + "/?queue=" + queue +
                           "&durable=false&reconnectTime=100";
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(rmq::server(options_from<server_options>(both)));
        co_await app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(both)));
        co_await c.connect();
        EXPECT_EQ(first.connections(), 2);  // the first address first
        std::atomic<bool> stop{false};
        std::atomic<int> ok{0}, failed{0}, unclear{0}, workers{0};
        constexpr int k = 32;
        for (int w = 0; w < k; ++w) {
          ++workers;
          asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                while (!stop) {
                  const std::string e = co_await failure_of(c);
                  if (e.empty()) {
                    ++ok;
                  } else {
                    ++failed;
                    // A lost connection says so; a new one that could not be made says why.
                    if (e.find("Connection closed") == std::string::npos &&
                        e.find("rmq: ") == std::string::npos) {
                      ++unclear;
                      ADD_FAILURE() << e;
                    }
                  }
                }
                --workers;
              },
              asio::detached);
        }
        const bool loaded = co_await eventually([&] { return ok.load() >= 300; }, 20s);
        EXPECT_TRUE(loaded);
        first.go_down();
        const int at_drop = ok.load();
        const bool resumed = co_await eventually([&] { return ok.load() >= at_drop + 300; }, 30s);
        EXPECT_TRUE(resumed) << ok.load() - at_drop << " served after the drop";
        stop = true;
        const bool ended = co_await eventually([&] { return workers.load() == 0; }, 30s);
        EXPECT_TRUE(ended) << workers.load() << " calls hang";
        EXPECT_GT(failed.load(), 0);  // those in flight when the connection went
        EXPECT_EQ(unclear.load(), 0);
        EXPECT_GE(second.connections(), 2);  // the server and the client moved over
        c.close();
        co_await app.shutdown();
      },
      90s);
}

// At-least-once from the URL (noAck=false): what becomes of an event whose handler throws,
// as `onFailure` and `maxRetries` say, with the queue's dead-letter exchange.
TEST_F(rmq_broker, failure_outcomes_dead_letter_retries_and_drop) {
  raw_amqp raw(base);
  const std::string dlx = queue + "-dlx", dlq = queue + "-dlq";
  raw.dead_letter_pair(dlx, dlq);
  struct outcome_case {
    std::string name, query;
    int attempts;  // handler runs
    long dead;     // messages in the dead-letter queue after
  };
  const std::vector<outcome_case> cases = {
      {"dead", "onFailure=deadLetter&deadLetterExchange=" + dlx, 1, 1},
      {"retry", "maxRetries=2&deadLetterExchange=" + dlx, 3, 2},
      {"drop", "onFailure=drop&deadLetterExchange=" + dlx, 1, 2},
  };
  for (const auto& oc : cases) {
    SCOPED_TRACE(oc.name);
    const std::string q = queue + "-" + oc.name;
    const std::string u = with_query(base, "queue=" + q + "&durable=false&noAck=false&" + oc.query);
    std::atomic<int> attempts{0};
    std::atomic<int> retried{0};  // deliveries that carried the retry count
    router fr;
    fr.event("fails", [&](json::value, rmq::context& ctx) {
      ++attempts;
      if (ctx.header("x-retries")) ++retried;
      throw std::runtime_error("always fails");
    });
    testing::run([&]() -> awaitable<void> {
      microservice app(fr, app_options());
      app.add_transport(rmq::server(options_from<server_options>(u)));
      co_await app.start();
      auto ex = co_await asio::this_coro::executor;
      // The client asserts the queue with the same dead-letter exchange (both sides agree).
      client_proxy c(ex, rmq::client(options_from<client_options>(u)));
      co_await c.emit("fails", 1);
      const bool settled = co_await eventually([&] {
        return attempts.load() == oc.attempts && raw.ready(dlq) == oc.dead && raw.ready(q) == 0;
      });
      EXPECT_TRUE(settled) << attempts.load() << " attempts, " << raw.ready(dlq) << " dead";
      co_await pause_for(200ms);  // nothing more comes
      EXPECT_EQ(attempts.load(), oc.attempts);
      EXPECT_EQ(retried.load(), oc.attempts - 1);
      c.close();
      co_await app.shutdown();
    });
    raw.remove(q);
  }
  raw.remove(dlq);
  amqp_exchange_delete(raw.conn, 1, bytes(dlx), 0);
}

// A request the broker refuses (here a full queue that rejects what is published to it)
// fails its call at once, not by its timeout.
TEST_F(rmq_broker, a_refused_request_fails_its_call_at_once) {
  raw_amqp raw(base);
  raw.declare_full(queue);
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(
                           with_query(base, "queue=" + queue + "&noAssert=true"))));
    call_options slow;
    slow.timeout = 60s;  // longer than the test's deadline: only the refusal can end the call
    const std::vector<double> xs{1, 2};
    try {
      (void)co_await c.send<double>("sum", xs, slow);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(), "rmq: the broker refused the request");
    }
    std::string emitted;
    try {
      co_await c.emit("note", 1);
    } catch (const connection_error& e) {
      emitted = e.what();
    }
    EXPECT_EQ(emitted, "rmq: the broker refused the message");
    c.close();
  });
}

// Acknowledging from the handler (noAck=false), as NestJS handlers do with
// `channel.ack(message)` / `channel.nack(message, false, requeue)`: an ack after a co_await,
// a second settlement ignored, a nack with requeue served again, a nack without requeue
// dead-lettered by the queue (or discarded, on a queue without a dead-letter exchange), and a
// message its handler left settled by the policy. Nothing is settled twice (RabbitMQ would
// close the channel for an unknown delivery tag, and the messages would come again), and
// nothing stays unacknowledged: once the server is gone the queue is empty.
TEST_F(rmq_broker, a_handler_acks_and_nacks_its_own_message) {
  raw_amqp raw(base);
  const std::string dlx = queue + "-dlx", dlq = queue + "-dlq";
  raw.dead_letter_pair(dlx, dlq);
  struct settle_case {
    std::string name, query;
    long dead;  // messages it adds to the dead-letter queue
  };
  const std::vector<settle_case> cases = {
      {"dlx", "deadLetterExchange=" + dlx, 1},
      {"plain", "prefetchCount=10", 0},
  };
  for (const auto& sc : cases) {
    SCOPED_TRACE(sc.name);
    const std::string q = queue + "-" + sc.name;
    const std::string u = with_query(base, "queue=" + q + "&durable=false&noAck=false&" + sc.query);
    std::atomic<int> acked{0}, ignored{0}, requeued{0}, rejected{0}, left{0}, again{0};
    const long dead_before = raw.ready(dlq);
    router hr;
    hr.event("acks", [&](int, rmq::context& ctx) -> awaitable<void> {
      co_await pause_for(10ms);  // settled after a co_await, as a handler that did some work
      if (ctx.ack()) ++acked;
      if (!ctx.ack() && !ctx.nack(true)) ++ignored;  // settled already: nothing happens
    });
    hr.event("requeues", [&](int, rmq::context& ctx) {
      if (ctx.message().redelivered) {
        ++again;  // left to the policy this time
        return;
      }
      if (ctx.nack(true)) ++requeued;
    });
    hr.event("rejects", [&](int, rmq::context& ctx) {
      if (ctx.nack(false)) ++rejected;
    });
    hr.event("returns", [&](int, rmq::context& ctx) {
      EXPECT_FALSE(ctx.settled());
      ++left;
    });
    testing::run([&]() -> awaitable<void> {
      microservice app(hr, app_options());
      app.add_transport(rmq::server(options_from<server_options>(u)));
      co_await app.start();
      auto ex = co_await asio::this_coro::executor;
      client_proxy c(ex, rmq::client(options_from<client_options>(u)));
      co_await c.emit("acks", 1);
      co_await c.emit("requeues", 2);
      co_await c.emit("rejects", 3);
      co_await c.emit("returns", 4);
      const bool served = co_await eventually([&] {
        return acked.load() == 1 && ignored.load() == 1 && requeued.load() == 1 &&
               again.load() == 1 && rejected.load() == 1 && left.load() == 1 &&
               raw.ready(dlq) - dead_before == sc.dead;
      });
      EXPECT_TRUE(served) << acked.load() << ignored.load() << requeued.load() << again.load()
                          << rejected.load() << left.load() << ", " << raw.ready(dlq) - dead_before
                          << " dead";
      co_await pause_for(200ms);  // nothing comes again
      EXPECT_EQ(acked.load() + requeued.load() + again.load() + rejected.load() + left.load(), 5);
      c.close();
      co_await app.shutdown();
    });
    // What the server held unacknowledged would be back in the queue now.
    EXPECT_EQ(raw.ready(q), 0);
    EXPECT_EQ(raw.ready(dlq) - dead_before, sc.dead);
    raw.remove(q);
  }
  raw.remove(dlq);
  amqp_exchange_delete(raw.conn, 1, bytes(dlx), 0);
}

// An ack from a handler whose connection was lost meanwhile is refused: ack() returns false
// and nothing is sent (the delivery tag would name another message on the new connection);
// the broker delivers the message again, on the new connection, where its ack is taken.
TEST_F(rmq_broker, an_ack_after_the_connection_was_lost_is_refused) {
  auto u = url::parse(base);
  relay rl(u->host, u->port.value_or(5672));
  const std::string via = "amqp://guest:guest@127.0.0.1:" + std::to_string(rl.port()) +
                          "/?queue=" + queue + "&durable=false&noAck=false&reconnectTime=100";
  std::atomic<int> runs{0}, first_ack{-1}, second_ack{-1};
  std::atomic<bool> release{false};
  router hr;
  hr.event("slow", [&](int, rmq::context& ctx) -> awaitable<void> {
    ++runs;
    if (ctx.message().redelivered) {
      second_ack = ctx.ack();
      co_return;
    }
    (void)co_await eventually([&] { return release.load(); }, 30s);
    first_ack = ctx.ack();
  });
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(hr, app_options());
        app.add_transport(rmq::server(options_from<server_options>(via)));
        co_await app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(url)));  // not through it
        co_await c.emit("slow", 1);
        const bool started = co_await eventually([&] { return runs.load() == 1; });
        EXPECT_TRUE(started);
        rl.go_down();  // the server's connection is reset, its handler still running
        rl.come_up();
        // Delivered again once the server is back: its new connection is up.
        const bool redelivered = co_await eventually([&] { return second_ack.load() != -1; }, 20s);
        EXPECT_TRUE(redelivered);
        EXPECT_EQ(second_ack.load(), 1);
        release = true;
        const bool acked = co_await eventually([&] { return first_ack.load() != -1; });
        EXPECT_TRUE(acked);
        EXPECT_EQ(first_ack.load(), 0);  // refused
        co_await pause_for(200ms);
        EXPECT_EQ(runs.load(), 2);
        c.close();
        co_await app.shutdown();
      },
      60s);
  raw_amqp raw(base);
  EXPECT_EQ(raw.ready(queue), 0);
}

// One server consuming several queues (`queue` repeated) on one channel: each queue's clients
// are served, a handler knows the queue, and a retry goes back to the queue it came from. A
// client with `noAck=false` (NestJS's option) still gets its replies by direct reply-to.
TEST_F(rmq_broker, several_queues_and_a_no_ack_false_client) {
  const std::string billing = queue + "-billing", audit = queue + "-audit";
  router q;
  q.message("where", [](json::value, rmq::context& ctx) { return ctx.message().queue; });
  q.event("flaky", [this](json::value, rmq::context& ctx) {
    const auto* retries = ctx.header("x-retries");
    st.record(ctx.message().queue + " " + (retries ? *retries : "0"));
    if (!retries) throw std::runtime_error("first time fails");
    ++st.events;
  });
  const auto on = [&](const std::string& name) {
    return with_query(base, "queue=" + name + "&durable=false");
  };
  testing::run([&]() -> awaitable<void> {
    microservice app(q, app_options());
    app.add_transport(rmq::server(options_from<server_options>(
        with_query(url, "queue=" + billing + "&queue=" + audit + "&noAck=false&maxRetries=1"))));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy first(ex, rmq::client(options_from<client_options>(on(queue))));
    client_proxy second(ex, rmq::client(options_from<client_options>(on(billing))));
    client_proxy acking(
        ex, rmq::client(options_from<client_options>(with_query(on(audit), "noAck=false"))));
    std::string where = co_await first.send<std::string>("where", 0);
    EXPECT_EQ(where, queue);
    where = co_await second.send<std::string>("where", 0);
    EXPECT_EQ(where, billing);
    for (int i = 0; i < 20; ++i) {
      where = co_await acking.send<std::string>("where", i);
      EXPECT_EQ(where, audit);
    }
    co_await second.emit("flaky", 1);
    const bool retried = co_await eventually([&] { return st.events.load() == 1; });
    EXPECT_TRUE(retried);
    EXPECT_EQ(st.all(), (std::vector<std::string>{billing + " 0", billing + " 1"}));
    co_await app.shutdown();
  });
  raw_amqp raw(base);
  EXPECT_EQ(raw.ready(billing), 0);
  EXPECT_EQ(raw.ready(audit), 0);
  raw.remove(billing);
  raw.remove(audit);
}

// exchangeArguments reach the broker: with `alternate-exchange`, what no binding takes goes
// there; an exchange asserted again with another one is the broker's clear refusal.
TEST_F(rmq_broker, exchange_arguments) {
  raw_amqp raw(base);
  const std::string alternate = queue + "-ae", unrouted = queue + "-unrouted";
  raw.dead_letter_pair(alternate, unrouted);  // a fanout exchange and its queue
  const std::string wild =
      with_query(url, "wildcards=true&exchangeArguments.alternate-exchange=" + alternate);
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(wild)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, rmq::client(options_from<client_options>(wild)));
    const std::vector<double> xs{1, 2};
    const double sum = co_await c.send<double>("sum", xs);
    EXPECT_EQ(sum, 3);
    co_await c.emit("nobody.listens", 1);  // no binding: to the alternate exchange
    const bool moved = co_await eventually([&] { return raw.ready(unrouted) == 1; });
    EXPECT_TRUE(moved);
    client_proxy other(
        ex,
        rmq::client(options_from<client_options>(with_query(
            url, "wildcards=true&exchangeArguments.alternate-exchange=" + alternate + "-other"))));
    const std::string failed = co_await failure_of(other);
    EXPECT_NE(failed.find("inequivalent arg 'alternate-exchange'"), std::string::npos) << failed;
    c.close();
    co_await app.shutdown();
  });
  raw.remove(unrouted);
  amqp_exchange_delete(raw.conn, 1, bytes(alternate), 0);
}

// queueOptions' numbers reach the broker as queue arguments: a client asserting the queue with
// the same ones works, and one without them is the broker's refusal naming an argument.
TEST_F(rmq_broker, queue_arguments) {
  const std::string args = "messageTtl=60000&expires=600000&maxLength=100&maxPriority=10";
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(with_query(url, args))));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy same(ex, rmq::client(options_from<client_options>(with_query(url, args))));
    const std::vector<double> xs{1, 2};
    const double sum = co_await same.send<double>("sum", xs);
    EXPECT_EQ(sum, 3);
    client_proxy without(ex, rmq::client(options_from<client_options>(url)));
    const std::string failed = co_await failure_of(without);
    EXPECT_NE(failed.find("inequivalent arg"), std::string::npos) << failed;
    co_await app.shutdown();
  });
}

// NestJS's `replyQueue`: replies come to a queue of the application's instead of direct
// reply-to; one that does not exist is a clear error (the client consumes it as it is).
TEST_F(rmq_broker, a_reply_queue_of_the_applications) {
  const std::string replies = queue + "-replies";
  raw_amqp raw(base);
  raw.declare(replies, false);
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(
        ex, rmq::client(options_from<client_options>(with_query(url, "replyQueue=" + replies))));
    const std::vector<double> xs{1, 2, 3};
    const double sum = co_await c.send<double>("sum", xs);
    EXPECT_EQ(sum, 6);
    auto counter = c.stream<int>("count", 3);
    int next = 0;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      EXPECT_EQ(*v, next++);
    }
    EXPECT_EQ(next, 3);
    client_proxy missing(ex, rmq::client(options_from<client_options>(
                                 with_query(url, "replyQueue=" + queue + "-nowhere"))));
    const std::string failed = co_await failure_of(missing);
    EXPECT_NE(failed.find("cannot consume the reply queue \"" + queue + "-nowhere\""),
              std::string::npos)
        << failed;
    EXPECT_NE(failed.find("NOT_FOUND"), std::string::npos) << failed;
    c.close();
    co_await app.shutdown();
  });
  raw.remove(replies);
}

// queueOptions spelled NestJS's way: a quorum queue (`arguments: {'x-queue-type': 'quorum'}`),
// which a side without the argument cannot assert, and `overflow` (`x-overflow`): a queue
// of no room that refuses what is published to it.
TEST_F(rmq_broker, quorum_queues_and_overflow) {
  // A quorum queue is durable (the broker refuses it otherwise).
  const std::string quorum = with_query(base, "queue=" + queue + "&arguments.x-queue-type=quorum");
  const std::string full = queue + "-full";
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(quorum)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy same(ex, rmq::client(options_from<client_options>(quorum)));
    const std::vector<double> xs{1, 2};
    const double sum = co_await same.send<double>("sum", xs);
    EXPECT_EQ(sum, 3);
    client_proxy classic(
        ex, rmq::client(options_from<client_options>(with_query(base, "queue=" + queue))));
    const std::string refused = co_await failure_of(classic);
    EXPECT_NE(refused.find("inequivalent arg 'x-queue-type'"), std::string::npos) << refused;
    co_await app.shutdown();

    client_proxy no_room(
        ex, rmq::client(options_from<client_options>(with_query(
                base, "queue=" + full + "&durable=false&maxLength=0&overflow=reject-publish"))));
    std::string emitted;
    try {
      co_await no_room.emit("note", 1);
    } catch (const connection_error& e) {
      emitted = e.what();
    }
    EXPECT_EQ(emitted, "rmq: the broker refused the message");
    no_room.close();
  });
  raw_amqp raw(base);
  raw.remove(full);
}

// A frame of the broker's on channel 0: class 10 (connection), `method`, its arguments.
std::string connection_frame(std::uint16_t method, const std::string& arguments) {
  const std::string payload = std::string{0, 10, 0, static_cast<char>(method)} + arguments;
  std::string f{1, 0, 0};
  for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>(payload.size() >> shift);
  return f + payload + '\xCE';
}

// connection.blocked (a memory or disk alarm): publishes wait for connection.unblocked; a
// client's call or emit fails clearly once the block outlasts `blockedTimeout`. The broker is
// made to say it through a relay: an alarm of the shared broker would block every test on it.
TEST_F(rmq_broker, a_blocked_broker_holds_publishes_and_fails_them_past_the_bound) {
  auto u = url::parse(base);
  relay rl(u->host, u->port.value_or(5672));
  // No heartbeats: the connections are idle when the relay speaks for the broker.
  const std::string via = "amqp://guest:guest@127.0.0.1:" + std::to_string(rl.port()) +
                          "/?queue=" + queue + "&durable=false&heartbeat=0";
  std::atomic<int> blocked{0};
  const logger counting(log_level::info, [&](log_level, std::string_view, std::string_view m) {
    if (m.find("the broker blocks publishing (low on memory)") != std::string_view::npos) {
      ++blocked;
    }
  });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(rmq::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    auto bounded_options = options_from<client_options>(with_query(via, "blockedTimeout=1000"));
    bounded_options.log = counting;
    auto waiting_options = options_from<client_options>(via);  // 30 s
    waiting_options.log = counting;
    client_proxy bounded(ex, rmq::client(bounded_options));
    client_proxy waiting(ex, rmq::client(waiting_options));
    const std::vector<double> xs{1, 2};
    const double before = co_await bounded.send<double>("sum", xs);
    EXPECT_EQ(before, 3);
    co_await waiting.connect();

    rl.say_to_clients(connection_frame(60, std::string(1, '\x0d') + "low on memory"));
    const bool heard = co_await eventually([&] { return blocked.load() == 2; });
    EXPECT_TRUE(heard);
    call_options slow;
    slow.timeout = 60s;  // longer than the test's deadline: only the block can end the call
    std::optional<double> late;
    asio::co_spawn(
        ex, [&]() -> awaitable<void> { late = co_await waiting.send<double>("sum", xs, slow); },
        asio::detached);
    try {
      (void)co_await bounded.send<double>("sum", xs, slow);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(), "rmq: the broker blocks publishing (low on memory)");
    }
    std::string emitted;
    try {
      co_await bounded.emit("note", 1);
    } catch (const connection_error& e) {
      emitted = e.what();
    }
    EXPECT_EQ(emitted, "rmq: the broker blocks publishing (low on memory)");
    EXPECT_FALSE(late) << "published while blocked";

    rl.say_to_clients(connection_frame(61, ""));
    const bool served = co_await eventually([&] { return late.has_value(); });
    EXPECT_TRUE(served);
    EXPECT_EQ(late.value_or(0), 3);
    const double after = co_await bounded.send<double>("sum", xs);
    EXPECT_EQ(after, 3);
    bounded.close();
    waiting.close();
    co_await app.shutdown();
  });
  EXPECT_EQ(st.events.load(), 0);  // the refused emit never reached the server
}

// At-least-once: a consumer killed (SIGKILL) in the middle of its handler has not acknowledged
// the message, so the broker delivers it again, here to another consumer.
TEST_F(rmq_broker, a_consumer_killed_mid_handler_loses_nothing) {
  const std::string u = with_query(url, "noAck=false&prefetchCount=1");
  const std::string mark = (std::filesystem::temp_directory_path() / (queue + ".mark")).string();
  std::filesystem::remove(mark);
  // The consumer to kill is a program of its own (victim_consumer.cpp), started as a child.
  std::string victim = ROOST_RMQ_VICTIM_CONSUMER, url_arg = u, mark_arg = mark;
  char* argv[] = {victim.data(), url_arg.data(), mark_arg.data(), nullptr};
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, victim.c_str(), nullptr, nullptr, argv, environ), 0);
  std::atomic<int> again{0};
  std::atomic<bool> redelivered{false};
  std::string body;
  std::mutex body_mutex;
  router rr;
  rr.event("work", [&](json::value v, rmq::context& ctx) {
    if (ctx.message().redelivered) redelivered = true;
    std::lock_guard lock(body_mutex);
    body = json::serialize(v);
    ++again;
  });
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(u)));
        const json::value order = {{"order", 42}};
        co_await c.emit("work", order);
        const bool handling =
            co_await eventually([&] { return std::filesystem::exists(mark); }, 60s);
        EXPECT_TRUE(handling) << "the child never handled the event";
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        microservice app(rr, app_options());
        app.add_transport(rmq::server(options_from<server_options>(u)));
        co_await app.start();
        const bool got = co_await eventually([&] { return again.load() == 1; }, 20s);
        EXPECT_TRUE(got);
        co_await pause_for(200ms);
        EXPECT_EQ(again.load(), 1);
        EXPECT_TRUE(redelivered.load());
        {
          std::lock_guard lock(body_mutex);
          EXPECT_EQ(body, R"({"order":42})");
        }
        c.close();
        co_await app.shutdown();
      },
      90s);
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::filesystem::remove(mark);
}

// Readiness (/readyz): ready once the broker confirmed the consumer, so that a message sent
// right then is served; not ready from a lost connection (here a relay that goes down) until
// the server consumes again; not ready from the stop on.
TEST_F(rmq_broker, ready_only_while_consuming) {
  auto u = url::parse(base);
  relay rl(u->host, u->port.value_or(5672));
  const std::string via = "amqp://guest:guest@127.0.0.1:" + std::to_string(rl.port()) +
                          "/?queue=" + queue + "&durable=false&reconnectTime=100";
  std::atomic<int> seen{0};
  router hr;
  hr.event("seen", [&](int n) { seen = n; });
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(hr, app_options());
        auto& srv = app.add_transport(rmq::server(options_from<server_options>(via)));
        EXPECT_FALSE(app.ready());
        co_await app.start();
        EXPECT_TRUE(srv.ready());
        EXPECT_TRUE(app.ready());
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, rmq::client(options_from<client_options>(url)));  // not through it
        co_await c.emit("seen", 1);
        EXPECT_TRUE(co_await eventually([&] { return seen.load() == 1; }));

        rl.go_down();
        EXPECT_TRUE(co_await eventually([&] { return !srv.ready(); }))
            << "still ready with its connection lost";
        EXPECT_FALSE(app.ready());
        co_await pause_for(300ms);  // three reconnection attempts, all refused
        EXPECT_FALSE(srv.ready());
        rl.come_up();
        EXPECT_TRUE(co_await eventually([&] { return srv.ready(); }, 20s))
            << "not ready again after the broker came back";
        EXPECT_TRUE(app.ready());
        co_await c.emit("seen", 2);  // right after ready: consumed
        EXPECT_TRUE(co_await eventually([&] { return seen.load() == 2; }));

        app.stop();
        EXPECT_FALSE(app.ready());
        c.close();
        co_await app.shutdown();
        EXPECT_FALSE(srv.ready());
      },
      60s);
}

}  // namespace
}  // namespace roost::rmq::test
