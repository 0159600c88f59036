#include <roost/client_proxy.hpp>

#include <roost/errors.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/stream.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

// Tier 2: a roost::client_proxy calling a roost::microservice over the in-memory transport, so
// every packet goes through the real codec. The service is started inside the test body with
// `co_await app.start()` and shut down (drained) before the body ends.

namespace roost_client_test {

struct order {
  std::string id;
  std::vector<int> items;
};
BOOST_DESCRIBE_STRUCT(order, (), (id, items))

struct summary {
  std::string id;
  int total = 0;
  std::optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(summary, (), (id, total, note))

}  // namespace roost_client_test

namespace roost {
namespace {

using namespace std::chrono_literals;
using roost::test::gate;
using roost::test::log_capture;
using roost::test::sleep_for;
using roost::test::wait_until;
using roost_client_test::order;
using roost_client_test::summary;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

microservice_options quiet(logger log = logger::silent(),
                           std::chrono::milliseconds drain = std::chrono::seconds(5)) {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = drain;
  o.handle_signals = false;
  o.log = std::move(log);
  return o;
}

/// A router served over an in-memory broker.
struct service {
  explicit service(const router& r, microservice_options o = quiet()) : app(r, std::move(o)) {
    app.add_transport(broker.server());
  }
  roost::testing::memory_broker broker;
  microservice app;
};

/// Completes with what `op` threw, or nullptr.
template <class T>
awaitable<std::exception_ptr> failure_of(awaitable<T> op) {
  std::exception_ptr e;
  try {
    co_await std::move(op);
  } catch (...) {
    e = std::current_exception();
  }
  co_return e;
}

/// The exception of type E in `e`, if that is what it holds.
template <class E>
std::optional<E> caught(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const E& x) {
    return x;
  } catch (...) {
  }
  return std::nullopt;
}

std::string describe(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "non-standard exception";
  }
  return "no exception";
}

/// Reads a whole client stream; what it threw goes to `error`.
template <class T>
awaitable<std::vector<T>> read_all(stream<T>& s, std::exception_ptr& error) {
  std::vector<T> out;
  try {
    for (;;) {
      auto v = co_await s.next();
      if (!v) break;
      out.push_back(std::move(*v));
    }
  } catch (...) {
    error = std::current_exception();
  }
  co_return out;
}

/// Runs `body` with a started service and a client; shuts the service down afterwards.
void with_client(const router& r, std::function<awaitable<void>(service&, client_proxy&)> body,
                 microservice_options o = quiet(), client_options copts = {}) {
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    service svc(r, std::move(o));
    co_await svc.app.start();
    client_proxy client(ex, svc.broker.client(), copts);
    co_await body(svc, client);
    EXPECT_EQ(client.pending(), 0u);
    co_await svc.app.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// Typed calls

TEST(client_proxy, send_typed_values) {
  router r;
  r.message("sum", [](std::vector<int> xs) {
    int s = 0;
    for (int x : xs) s += x;
    return s;
  });
  r.message("greet", [](const std::string& name) { return "hello " + name; });
  r.message("raw", [](json::value v) { return v; });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const std::vector<int> xs{1, 2, 3};
    const int sum = co_await client.send<int>("sum", xs);
    EXPECT_EQ(sum, 6);
    const std::string name = "roost";
    const auto hello = co_await client.send<std::string>("greet", name);
    EXPECT_EQ(hello, "hello roost");
    const json::value doc = json::parse(R"({"b":[1,{"c":null}],"a":"é"})");
    const json::value echoed = co_await client.send("raw", doc);
    EXPECT_EQ(echoed, doc);
    EXPECT_EQ(client.pending(), 0u);
  });
}

TEST(client_proxy, every_handler_shape_end_to_end) {
  router r;
  r.message("none", [] { return 1; });
  r.message("payload", [](int x) { return x + 1; });
  r.message("payload-ctx",
            [](int x, context& ctx) { return ctx.route() + ":" + std::to_string(x); });
  r.message("ctx", [](context& ctx) { return std::string(ctx.transport()); });
  r.message("await", [](int x) -> awaitable<int> {
    co_await sleep_for(1ms);
    co_return x * 2;
  });
  r.message("stream", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message("optional", [](int x) -> std::optional<int> {
    if (x) return x;
    return std::nullopt;
  });
  r.message("void", [](int) {});
  r.message("await-void", [](int) -> awaitable<void> { co_await sleep_for(1ms); });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const int a = co_await client.send<int>("none", nullptr);
    EXPECT_EQ(a, 1);
    const int b = co_await client.send<int>("payload", 1);
    EXPECT_EQ(b, 2);
    const auto c = co_await client.send<std::string>("payload-ctx", 3);
    EXPECT_EQ(c, "payload-ctx:3");
    const auto d = co_await client.send<std::string>("ctx", 0);
    EXPECT_EQ(d, "memory");
    const int e = co_await client.send<int>("await", 21);
    EXPECT_EQ(e, 42);
    // send() on a stream completes with the last value.
    const int f = co_await client.send<int>("stream", 4);
    EXPECT_EQ(f, 3);
    const int g = co_await client.send<int>("optional", 5);
    EXPECT_EQ(g, 5);
    // undefined (void, nullopt, an empty stream) arrives as no value at all: null.
    const json::value h = co_await client.send("optional", 0);
    EXPECT_TRUE(h.is_null());
    const json::value i = co_await client.send("void", 0);
    EXPECT_TRUE(i.is_null());
    co_await client.send<void>("await-void", 0);
    const json::value j = co_await client.send("stream", 0);
    EXPECT_TRUE(j.is_null());
  });
}

TEST(client_proxy, described_structs_as_payload_and_result) {
  router r;
  r.message("order.summary", [](const order& o) {
    int total = 0;
    for (int x : o.items) total += x;
    return summary{o.id, total,
                   o.items.empty() ? std::optional<std::string>("empty") : std::nullopt};
  });
  r.message("order.get", [](std::string id) -> awaitable<order> {
    co_await sleep_for(1ms);
    order o;
    o.id = id;
    o.items = {7, 8};
    co_return o;
  });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    order o;
    o.id = "o1";
    o.items = {1, 2, 3};
    const summary s = co_await client.send<summary>("order.summary", o);
    EXPECT_EQ(s.id, "o1");
    EXPECT_EQ(s.total, 6);
    EXPECT_FALSE(s.note.has_value());
    // The wire form is the struct's members in declaration order.
    const json::value raw = co_await client.send("order.summary", o);
    EXPECT_EQ(json::serialize(raw), R"({"id":"o1","total":6,"note":null})");
    const std::string id = "o9";
    const order got = co_await client.send<order>("order.get", id);
    EXPECT_EQ(got.id, "o9");
    EXPECT_EQ(got.items, (std::vector<int>{7, 8}));
  });
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(client_proxy, wrong_payload_type_is_an_rpc_error_naming_the_field) {
  router r;
  bool called = false;
  r.message("order.summary", [&called](const order&) {
    called = true;
    return 0;
  });
  with_client(r, [&called](service&, client_proxy& client) -> awaitable<void> {
    const json::value bad = json::parse(R"({"id":"o1","items":[1,"two",3]})");
    const auto e = co_await failure_of(client.send<int>("order.summary", bad));
    const auto err = caught<rpc_error>(e);
    EXPECT_TRUE(err) << describe(e);
    if (err) {
      EXPECT_THAT(err->message(), HasSubstr("items[1]"));
      EXPECT_THAT(err->what(), HasSubstr("items[1]"));
      EXPECT_TRUE(err->error().is_object());
      if (err->error().is_object()) {
        EXPECT_EQ(err->error().at("status"), json::value("error"));
      }
    }
    EXPECT_FALSE(called);
  });
}

TEST(client_proxy, rpc_exception_with_string) {
  router r;
  r.message("rpcErr", [](int) -> int { throw rpc_exception("bad thing"); });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const auto e = co_await failure_of(client.send<int>("rpcErr", 0));
    const auto err = caught<rpc_error>(e);
    EXPECT_TRUE(err) << describe(e);
    if (err) {
      EXPECT_EQ(err->error(), json::parse(R"({"status":"error","message":"bad thing"})"));
      EXPECT_EQ(err->message(), "bad thing");
      EXPECT_STREQ(err->what(), "bad thing");
    }
  });
}

TEST(client_proxy, rpc_exception_with_object) {
  router r;
  r.message("objErr", [](int) -> awaitable<int> {
    co_await sleep_for(1ms);
    throw rpc_exception(json::object{{"code", 42}, {"message", "obj err"}});
  });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const auto e = co_await failure_of(client.send<int>("objErr", 0));
    const auto err = caught<rpc_error>(e);
    EXPECT_TRUE(err) << describe(e);
    if (err) {
      EXPECT_EQ(err->error(), json::parse(R"({"code":42,"message":"obj err"})"));
      EXPECT_EQ(err->message(), "obj err");
    }
  });
}

TEST(client_proxy, other_exceptions_are_internal_server_error) {
  router r;
  r.message("boom", [](int) -> int { throw std::out_of_range("do not leak this"); });
  log_capture logs;
  with_client(
      r,
      [](service&, client_proxy& client) -> awaitable<void> {
        const auto e = co_await failure_of(client.send<int>("boom", 0));
        const auto err = caught<rpc_error>(e);
        EXPECT_TRUE(err) << describe(e);
        if (err) {
          EXPECT_EQ(err->error(),
                    json::parse(R"({"status":"error","message":"Internal server error"})"));
          EXPECT_EQ(err->message(), "Internal server error");
        }
      },
      quiet(logs.make()));
  EXPECT_TRUE(logs.contains(log_level::error, "do not leak this"));
}

TEST(client_proxy, no_handler_is_an_rpc_error_with_nest_text) {
  router r;
  r.message("sum", [] { return 0; });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const auto e = co_await failure_of(client.send<int>("nope", 1));
    const auto err = caught<rpc_error>(e);
    EXPECT_TRUE(err) << describe(e);
    if (err) {
      EXPECT_EQ(err->error(),
                json::value("There is no matching message handler defined in the remote service."));
      EXPECT_EQ(err->message(),
                "There is no matching message handler defined in the remote service.");
    }
  });
}

TEST(client_proxy, result_of_the_wrong_type_throws_on_the_caller) {
  router r;
  r.message("text", [] { return "not a number"; });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const auto e = co_await failure_of(client.send<int>("text", 0));
    EXPECT_TRUE(e);
    EXPECT_FALSE(caught<rpc_error>(e));
  });
}

TEST(client_proxy, null_pattern_is_refused_locally) {
  router r;
  with_client(r, [](service& svc, client_proxy& client) -> awaitable<void> {
    const auto before = svc.broker.packets();
    const auto e = co_await failure_of(client.send(nullptr, 1));
    EXPECT_TRUE(caught<std::invalid_argument>(e)) << describe(e);
    const auto e2 = co_await failure_of(client.emit(nullptr, 1));
    EXPECT_TRUE(caught<std::invalid_argument>(e2)) << describe(e2);
    EXPECT_EQ(svc.broker.packets(), before);
  });
}

TEST(client_proxy, calls_without_a_server_fail_with_connection_error) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;  // nobody listens
    client_proxy client(ex, broker.client());
    const auto e = co_await failure_of(client.send<int>("sum", 1));
    const auto err = caught<connection_error>(e);
    EXPECT_TRUE(err) << describe(e);
    if (err) {
      EXPECT_EQ(err->code(), make_error_code(error::not_connected));
    }
    EXPECT_EQ(client.pending(), 0u);
    const auto e2 = co_await failure_of(client.emit("ev", 1));
    EXPECT_TRUE(caught<connection_error>(e2)) << describe(e2);
    const auto e3 = co_await failure_of(client.connect());
    EXPECT_TRUE(caught<connection_error>(e3)) << describe(e3);
  });
}

// ---------------------------------------------------------------------------------------------
// Streams

stream<int> count_handler(int n) {
  for (int i = 0; i < n; ++i) {
    if (i % 100 == 99) co_await sleep_for(0ms);
    co_yield i;
  }
}

TEST(client_proxy, streams_of_zero_one_and_a_thousand_values) {
  router r;
  r.message("count", &count_handler);
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const std::array<int, 3> sizes{0, 1, 1000};
    for (int n : sizes) {
      auto s = client.stream<int>("count", n);
      std::exception_ptr error;
      const auto values = co_await read_all(s, error);
      EXPECT_FALSE(error) << describe(error);
      EXPECT_EQ(values.size(), static_cast<std::size_t>(n));
      bool in_order = true;
      for (int i = 0; i < static_cast<int>(values.size()); ++i) in_order &= values[i] == i;
      EXPECT_TRUE(in_order) << n;
      EXPECT_EQ(client.pending(), 0u);
    }
    // The untyped form gives the JSON values.
    auto raw = client.stream("count", 2);
    std::exception_ptr error;
    const auto values = co_await read_all(raw, error);
    EXPECT_THAT(values, ElementsAre(json::value(0), json::value(1)));
  });
}

TEST(client_proxy, stream_is_cold_until_read) {
  router r;
  int calls = 0;
  r.message("count", [&calls](int n) -> stream<int> {
    ++calls;
    for (int i = 0; i < n; ++i) co_yield i;
  });
  with_client(r, [&calls](service& svc, client_proxy& client) -> awaitable<void> {
    {
      auto s = client.stream<int>("count", 3);
      co_await sleep_for(5ms);
      EXPECT_EQ(calls, 0);
      EXPECT_EQ(svc.broker.packets(), 0u);
    }
    auto s = client.stream<int>("count", 3);
    const auto first = co_await s.next();
    EXPECT_EQ(first, std::optional<int>(0));
    EXPECT_EQ(calls, 1);
    std::exception_ptr error;
    (void)co_await read_all(s, error);
  });
}

TEST(client_proxy, stream_that_throws_midway_gives_values_then_the_error) {
  router r;
  r.message("flaky", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) {
      co_await sleep_for(1ms);
      co_yield i;
    }
    throw rpc_exception("ran dry");
  });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    auto s = client.stream<int>("flaky", 3);
    std::exception_ptr error;
    const auto values = co_await read_all(s, error);
    EXPECT_THAT(values, ElementsAre(0, 1, 2));
    const auto err = caught<rpc_error>(error);
    EXPECT_TRUE(err) << describe(error);
    if (err) {
      EXPECT_EQ(err->message(), "ran dry");
    }
    EXPECT_EQ(client.pending(), 0u);
    // send() on the same route fails with the error after ignoring the values.
    const auto e = co_await failure_of(client.send<int>("flaky", 2));
    EXPECT_TRUE(caught<rpc_error>(e)) << describe(e);
  });
}

TEST(client_proxy, stream_of_described_structs) {
  router r;
  r.message("orders", [](int n) -> stream<order> {
    for (int i = 0; i < n; ++i) {
      order o;
      o.id = "o" + std::to_string(i);
      o.items.assign(static_cast<std::size_t>(i), i);
      co_yield o;
    }
  });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    auto s = client.stream<order>("orders", 3);
    std::exception_ptr error;
    const auto values = co_await read_all(s, error);
    EXPECT_FALSE(error) << describe(error);
    if (values.size() == 3) {
      EXPECT_EQ(values[2].id, "o2");
      EXPECT_EQ(values[2].items, (std::vector<int>{2, 2}));
    } else {
      ADD_FAILURE() << values.size();
    }
  });
}

TEST(client_proxy, destroying_a_stream_mid_way_cancels_the_call) {
  router r;
  r.message("ticks", []() -> stream<int> {
    co_yield 1;
    co_yield 2;
    co_await sleep_for(60ms);
    co_yield 3;
  });
  for (bool typed : {true, false}) {
    with_client(r, [typed](service& svc, client_proxy& client) -> awaitable<void> {
      const auto ex = co_await boost::asio::this_coro::executor;
      {
        if (typed) {
          auto s = client.stream<int>("ticks", 0);
          const auto a = co_await s.next();
          const auto b = co_await s.next();
          EXPECT_EQ(a, std::optional<int>(1));
          EXPECT_EQ(b, std::optional<int>(2));
          EXPECT_EQ(client.pending(), 1u);
          EXPECT_FALSE(s.poll(ex));  // now waiting for the third value
        } else {
          auto s = client.stream("ticks", 0);
          const auto a = co_await s.next();
          EXPECT_EQ(a, std::optional<json::value>(1));
          EXPECT_EQ(client.pending(), 1u);
          (void)co_await s.next();
          EXPECT_FALSE(s.poll(ex));
        }
      }  // the stream is destroyed while waiting
      EXPECT_EQ(client.pending(), 0u);
      // The server still sends its last value; the client drops it.
      const bool late = co_await wait_until([&] { return svc.broker.packets() >= 4; });
      EXPECT_TRUE(late);
      co_await sleep_for(5ms);
      EXPECT_EQ(client.pending(), 0u);
      // The client is still usable.
      auto again = client.stream<int>("ticks", 0);
      std::exception_ptr error;
      const auto values = co_await read_all(again, error);
      EXPECT_THAT(values, ElementsAre(1, 2, 3));
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Events

TEST(client_proxy, emit_runs_every_event_handler_in_order) {
  router r;
  std::vector<std::string> seen;
  r.event("order.created", [&seen](const order& o) { seen.push_back("a:" + o.id); });
  r.event("order.created", [&seen](json::value v, context& ctx) {
    seen.push_back("b:" + json::serialize(v.at("items")) + (ctx.is_request() ? ":req" : ":evt"));
  });
  r.event("order.created", [&seen](const order& o) -> awaitable<void> {
    co_await sleep_for(1ms);
    seen.push_back("c:" + std::to_string(o.items.size()));
  });
  with_client(r, [&seen](service&, client_proxy& client) -> awaitable<void> {
    order o;
    o.id = "o1";
    o.items = {1, 2};
    co_await client.emit("order.created", o);
    const bool all = co_await wait_until([&] { return seen.size() == 3; });
    EXPECT_TRUE(all);
    EXPECT_THAT(seen, ElementsAre("a:o1", "b:[1,2]:evt", "c:2"));
    EXPECT_EQ(client.pending(), 0u);
  });
}

TEST(client_proxy, emit_to_a_message_route_runs_it) {
  router r;
  std::atomic<int> got{0};
  r.message("sum", [&got](std::vector<int> xs) {
    got = static_cast<int>(xs.size());
    return 0;
  });
  with_client(r, [&got](service&, client_proxy& client) -> awaitable<void> {
    const std::vector<int> xs{4, 5, 6};
    co_await client.emit("sum", xs);
    const bool ran = co_await wait_until([&] { return got.load() == 3; });
    EXPECT_TRUE(ran);
  });
}

TEST(client_proxy, emit_with_object_pattern_and_unknown_pattern) {
  router r;
  int hits = 0;
  r.event(json::value{{"role", "math"}, {"cmd", "ev"}}, [&hits](json::value) { ++hits; });
  log_capture logs;
  with_client(
      r,
      [&hits](service& svc, client_proxy& client) -> awaitable<void> {
        const json::value pattern = json::parse(R"({"cmd":"ev","role":"math"})");
        co_await client.emit(pattern, 1);
        co_await client.emit("nobody.listens", 1);
        const bool done =
            co_await wait_until([&] { return hits == 1 && svc.broker.packets() == 2; });
        EXPECT_TRUE(done);
        co_await sleep_for(5ms);
      },
      quiet(logs.make()));
  EXPECT_EQ(hits, 1);
  EXPECT_TRUE(logs.contains(log_level::error, "Event pattern: nobody.listens"));
}

TEST(client_proxy, request_to_an_event_only_route) {
  router r;
  int runs = 0;
  r.event("audit", [&runs](int) { ++runs; });
  r.event("audit", [&runs](int) { ++runs; });
  with_client(r, [&runs](service&, client_proxy& client) -> awaitable<void> {
    // §1.4: NestJS answers with the forkJoin result of the chain, {} for two undefined results.
    const json::value v = co_await client.send("audit", 1);
    EXPECT_EQ(v, json::value(json::object{}));
    EXPECT_EQ(runs, 2);
  });
}

// ---------------------------------------------------------------------------------------------
// Timeouts, cancellation, close, shutdown

TEST(client_proxy, timeout_fails_the_call_and_drops_the_late_reply) {
  router r;
  gate release;
  bool replied = false;
  r.message("slow", [&release, &replied]() -> awaitable<int> {
    co_await release.wait();
    replied = true;
    co_return 1;
  });
  r.message("fast", [] { return 2; });
  with_client(r, [&](service& svc, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.timeout = 15ms;
    const auto e = co_await failure_of(client.send<int>("slow", 0, o));
    EXPECT_TRUE(caught<timeout_error>(e)) << describe(e);
    // The call failed on its own timer, not on the reply: the handler is still held.
    EXPECT_FALSE(replied);
    EXPECT_EQ(client.pending(), 0u);
    // The reply still comes (request + reply = 2 packets) and is dropped.
    release.open();
    const bool late = co_await wait_until([&] { return svc.broker.packets() >= 2; });
    EXPECT_TRUE(late);
    co_await sleep_for(5ms);
    EXPECT_EQ(client.pending(), 0u);
    // A call with a timeout that is long enough succeeds.
    o.timeout = 2s;
    const int v = co_await client.send<int>("fast", 0, o);
    EXPECT_EQ(v, 2);
  });
}

TEST(client_proxy, a_reply_after_the_deadline_is_a_timeout_even_before_the_timer_has_run) {
  // The handler holds the only thread past the call's timeout, then replies: when the thread is
  // free, the reply is ready before the timer's handler has run. The call still times out, as
  // in NestJS (an expired timer runs before the reply's I/O callback).
  router r;
  r.message("hold", [](int ms) -> awaitable<int> {
    co_await sleep_for(1ms);  // the call's timer is armed once its request is sent
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    co_return 1;
  });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.timeout = 20ms;
    const auto e = co_await failure_of(client.send<int>("hold", 80, o));
    EXPECT_TRUE(caught<timeout_error>(e)) << describe(e);
    EXPECT_EQ(client.pending(), 0u);
    // A reply within the deadline is a reply.
    o.timeout = 2s;
    const int v = co_await client.send<int>("hold", 0, o);
    EXPECT_EQ(v, 1);
  });
}

TEST(client_proxy, default_timeout_from_client_options) {
  router r;
  r.message("slow", []() -> awaitable<int> {
    co_await sleep_for(60ms);
    co_return 1;
  });
  client_options copts;
  copts.default_timeout = 10ms;
  with_client(
      r,
      [](service& svc, client_proxy& client) -> awaitable<void> {
        const auto e = co_await failure_of(client.send<int>("slow", 0));
        EXPECT_TRUE(caught<timeout_error>(e)) << describe(e);
        EXPECT_EQ(client.pending(), 0u);
        // A per-call timeout overrides the default.
        call_options o;
        o.timeout = 2s;
        const int v = co_await client.send<int>("slow", 0, o);
        EXPECT_EQ(v, 1);
        co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 0; });
      },
      quiet(), copts);
}

TEST(client_proxy, stream_timeout_is_per_reply) {
  router r;
  r.message("paced", [](int gap_ms) -> stream<int> {
    for (int i = 0; i < 4; ++i) {
      co_await sleep_for(std::chrono::milliseconds(gap_ms));
      co_yield i;
    }
    co_await sleep_for(150ms);
    co_yield 99;
  });
  with_client(r, [](service& svc, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.timeout = 60ms;  // longer than each gap, shorter than the whole stream and the last gap
    auto s = client.stream<int>("paced", 20, o);
    std::exception_ptr error;
    const auto values = co_await read_all(s, error);
    EXPECT_THAT(values, ElementsAre(0, 1, 2, 3));
    EXPECT_TRUE(caught<timeout_error>(error)) << describe(error);
    EXPECT_EQ(client.pending(), 0u);
    co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 0; });
  });
}

TEST(client_proxy, cancelled_send_removes_the_pending_call) {
  // A send abandoned by its caller (here: its coroutine is destroyed with the io_context's work)
  // is the same as a cancelled stream for the pending table.
  router r;
  r.message("slow", []() -> awaitable<int> {
    co_await sleep_for(40ms);
    co_return 1;
  });
  with_client(r, [](service& svc, client_proxy& client) -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::cancellation_signal cancel;
    std::exception_ptr result;
    bool done = false;
    boost::asio::co_spawn(
        ex, client.send<int>("slow", 0),
        boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, int) {
          result = e;
          done = true;
        }));
    const bool sent = co_await wait_until([&] { return client.pending() == 1; });
    EXPECT_TRUE(sent);
    cancel.emit(boost::asio::cancellation_type::terminal);
    const bool finished = co_await wait_until([&] { return done; });
    EXPECT_TRUE(finished);
    EXPECT_TRUE(result);
    EXPECT_EQ(client.pending(), 0u);
    co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 0; });
  });
}

TEST(client_proxy, send_raced_against_a_timer_is_cancelled) {
  // The usual way to bound a call: `send || timer`. The loser is cancelled and leaves nothing.
  router r;
  gate release;
  bool replied = false;
  r.message("slow", [&release, &replied]() -> awaitable<int> {
    co_await release.wait();
    replied = true;
    co_return 1;
  });
  r.message("fast", [] { return 2; });
  with_client(r, [&](service& svc, client_proxy& client) -> awaitable<void> {
    using namespace boost::asio::experimental::awaitable_operators;
    auto slow = client.send<int>("slow", 0);
    auto timer = sleep_for(5ms);
    const auto lost = co_await (std::move(slow) || std::move(timer));
    EXPECT_EQ(lost.index(), 1u);  // the timer won
    // The race ended without waiting for the handler, which is still held.
    EXPECT_FALSE(replied);
    EXPECT_EQ(client.pending(), 0u);
    release.open();
    auto fast = client.send<int>("fast", 0);
    auto long_timer = sleep_for(2s);
    const auto won = co_await (std::move(fast) || std::move(long_timer));
    EXPECT_EQ(won.index(), 0u);
    if (won.index() == 0) {
      EXPECT_EQ(std::get<0>(won), 2);
    }
    EXPECT_EQ(client.pending(), 0u);
    co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 0; });
  });
}

TEST(client_proxy, close_fails_pending_calls_with_connection_error) {
  router r;
  r.message("slow", []() -> awaitable<int> {
    co_await sleep_for(50ms);
    co_return 1;
  });
  r.message("fast", [] { return 2; });
  with_client(r, [](service& svc, client_proxy& client) -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    std::vector<connection_status> statuses;
    client.on_status([&statuses](connection_status s) { statuses.push_back(s); });
    std::exception_ptr first, second;
    int done = 0;
    const std::array<std::exception_ptr*, 2> slots{&first, &second};
    for (auto* slot : slots) {
      boost::asio::co_spawn(ex, failure_of(client.send<int>("slow", 0)),
                            [slot, &done](std::exception_ptr, std::exception_ptr e) {
                              *slot = e;
                              ++done;
                            });
    }
    const bool sent = co_await wait_until([&] { return client.pending() == 2; });
    EXPECT_TRUE(sent);
    EXPECT_EQ(client.status(), connection_status::connected);
    client.close();
    const bool failed = co_await wait_until([&] { return done == 2; });
    EXPECT_TRUE(failed);
    const std::array<std::exception_ptr, 2> failures{first, second};
    for (const auto& e : failures) {
      const auto err = caught<connection_error>(e);
      EXPECT_TRUE(err) << describe(e);
      if (err) {
        EXPECT_EQ(err->code(), make_error_code(error::connection_closed));
        EXPECT_STREQ(err->what(), "Connection closed");
      }
    }
    EXPECT_EQ(client.pending(), 0u);
    EXPECT_EQ(client.status(), connection_status::disconnected);
    // As NestJS's TCP client, the next call connects again.
    const int v = co_await client.send<int>("fast", 0);
    EXPECT_EQ(v, 2);
    EXPECT_EQ(client.status(), connection_status::connected);
    EXPECT_THAT(statuses, ElementsAre(connection_status::connected, connection_status::disconnected,
                                      connection_status::connected));
    client.on_status({});
    co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 0; });
  });
}

TEST(client_proxy, shutdown_drains_in_flight_handlers) {
  router r;
  bool finished = false;
  r.message("work", [&finished]() -> awaitable<int> {
    co_await sleep_for(40ms);
    finished = true;
    co_return 7;
  });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    service svc(r);
    co_await svc.app.start();
    client_proxy client(ex, svc.broker.client());
    std::optional<int> reply;
    boost::asio::co_spawn(ex, client.send<int>("work", 0), [&](std::exception_ptr e, int v) {
      if (!e) reply = v;
    });
    const bool running = co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 1; });
    EXPECT_TRUE(running);
    co_await svc.app.shutdown();
    EXPECT_TRUE(finished);  // shutdown waited for it
    EXPECT_EQ(svc.app.dispatcher().in_flight(), 0u);
    const bool replied = co_await wait_until([&] { return reply.has_value(); });
    EXPECT_TRUE(replied);
    EXPECT_EQ(reply, std::optional<int>(7));
    // After shutdown the service takes no new calls.
    const auto e = co_await failure_of(client.send<int>("work", 0));
    EXPECT_TRUE(caught<connection_error>(e)) << describe(e);
    EXPECT_EQ(client.pending(), 0u);
  });
}

TEST(client_proxy, shutdown_gives_up_at_the_drain_deadline) {
  router r;
  gate release;
  bool replied = false;
  r.message("stuck", [&release, &replied]() -> awaitable<int> {
    co_await release.wait();
    replied = true;
    co_return 1;
  });
  log_capture logs;
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    service svc(r, quiet(logs.make(), 10ms));
    co_await svc.app.start();
    client_proxy client(ex, svc.broker.client());
    boost::asio::co_spawn(ex, failure_of(client.send<int>("stuck", 0)), boost::asio::detached);
    const bool running = co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 1; });
    EXPECT_TRUE(running);
    co_await svc.app.shutdown();
    // Shutdown returned at its deadline while the handler was still held.
    EXPECT_FALSE(replied);
    EXPECT_EQ(svc.app.dispatcher().in_flight(), 1u);
    EXPECT_TRUE(logs.contains(log_level::warn, "still running"));
    // Let the handler end before the service is destroyed.
    release.open();
    co_await wait_until(
        [&] { return svc.app.dispatcher().in_flight() == 0 && client.pending() == 0; });
  });
}

TEST(client_proxy, destroyed_service_refuses_calls) {
  // A microservice destroyed without shutdown() must not leave its transport pointing at it.
  router r;
  r.message("x", [] { return 1; });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;
    auto app = std::make_unique<microservice>(r, quiet());
    app->add_transport(broker.server());
    co_await app->start();
    client_proxy client(ex, broker.client());
    const int v = co_await client.send<int>("x", 0);
    EXPECT_EQ(v, 1);
    app.reset();
    const auto e = co_await failure_of(client.send<int>("x", 0));
    EXPECT_TRUE(caught<connection_error>(e)) << describe(e);
    EXPECT_EQ(client.pending(), 0u);
  });
}

TEST(client_proxy, destroying_a_service_while_its_handlers_run_is_safe) {
  // The service goes while a handler is suspended: the handler finishes on what it shares
  // with the dispatcher (no use of the destroyed service), and its reply still reaches the
  // caller through the broker that outlives both.
  router r;
  r.message("slow", []() -> awaitable<int> {
    co_await sleep_for(20ms);
    co_return 1;
  });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;
    auto app = std::make_unique<microservice>(r, quiet());
    app->add_transport(broker.server());
    co_await app->start();
    client_proxy client(ex, broker.client());
    std::optional<std::exception_ptr> outcome;
    boost::asio::co_spawn(
        ex,
        [&]() -> awaitable<void> { outcome = co_await failure_of(client.send<int>("slow", 0)); },
        boost::asio::detached);
    const bool running = co_await wait_until([&] { return app->dispatcher().in_flight() == 1; });
    EXPECT_TRUE(running);
    app.reset();
    const bool done = co_await wait_until([&] { return outcome.has_value(); });
    EXPECT_TRUE(done);
    EXPECT_EQ(client.pending(), 0u);
  });
}

TEST(client_proxy, destroying_a_client_while_its_calls_wait_is_safe) {
  router r;
  r.message("slow", []() -> awaitable<int> {
    co_await sleep_for(20ms);
    co_return 1;
  });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    service svc(r);
    co_await svc.app.start();
    auto client = std::make_unique<client_proxy>(ex, svc.broker.client());
    std::optional<std::exception_ptr> outcome;
    boost::asio::co_spawn(
        ex,
        [&, c = client.get()]() -> awaitable<void> {
          outcome = co_await failure_of(c->send<int>("slow", 0));
        },
        boost::asio::detached);
    const bool running = co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 1; });
    EXPECT_TRUE(running);
    client.reset();  // the call fails: its client closed
    const bool done = co_await wait_until([&] { return outcome.has_value(); });
    EXPECT_TRUE(done);
    if (outcome) {
      EXPECT_TRUE(caught<connection_error>(*outcome)) << describe(*outcome);
    }
    // The handler finishes and its reply goes nowhere.
    const bool drained = co_await wait_until([&] { return svc.app.dispatcher().in_flight() == 0; });
    EXPECT_TRUE(drained);
  });
}

TEST(client_proxy, call_headers_reach_the_handler_as_headers_and_metadata) {
  router r;
  r.message("who", [](context& ctx) {
    const std::string* trace = ctx.headers().get("x-trace");
    const std::string* user = ctx.headers().get("x-user");
    return json::object{{"trace", trace ? *trace : "none"},
                        {"user", user ? *user : "none"},
                        {"metadata", ctx.metadata() ? json::value(*ctx.metadata()) : nullptr}};
  });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    service svc(r);
    co_await svc.app.start();
    client_proxy client(ex, svc.broker.client());
    call_options opts;
    opts.headers.add("x-trace", "t1");
    opts.headers.add("x-user", "ann");
    opts.metadata = json::object{{"x-user", "bob"}};  // metadata wins over a header
    const json::value v = co_await client.send("who", 0, std::move(opts));
    EXPECT_EQ(json::serialize(v),
              R"({"trace":"t1","user":"bob","metadata":{"x-trace":"t1","x-user":"bob"}})");
  });
}

// ---------------------------------------------------------------------------------------------
// Concurrency and metadata

TEST(client_proxy, thousand_concurrent_requests_on_one_client) {
  constexpr int n = 1000;
  router r;
  int arrived = 0;
  std::size_t pending_when_all_arrived = 0;
  client_proxy* client_ptr = nullptr;
  std::optional<boost::asio::steady_timer> gate;
  // Every handler waits until all requests are in, so all are in flight at once; then they
  // finish in an order unrelated to the order they were sent.
  r.message("double", [&](int x) -> awaitable<json::value> {
    if (++arrived == n) {
      pending_when_all_arrived = client_ptr->pending();
      gate->cancel();
    } else {
      boost::system::error_code ec;
      co_await gate->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    co_await sleep_for(std::chrono::milliseconds((x * 7) % 5));
    co_return json::value{{"in", x}, {"out", x * 2}};
  });
  with_client(r, [&](service&, client_proxy& client) -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    gate.emplace(ex, std::chrono::steady_clock::time_point::max());
    client_ptr = &client;
    std::vector<json::value> results(n);
    int done = 0, failed = 0;
    for (int i = 0; i < n; ++i) {
      boost::asio::co_spawn(ex, client.send("double", i),
                            [&, i](std::exception_ptr e, json::value v) {
                              if (e) ++failed;
                              results[static_cast<std::size_t>(i)] = std::move(v);
                              ++done;
                            });
    }
    const bool all = co_await wait_until([&] { return done == n; }, 15s);
    EXPECT_TRUE(all);
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(pending_when_all_arrived, static_cast<std::size_t>(n));
    int matched = 0;
    for (int i = 0; i < n; ++i) {
      const json::value want{{"in", i}, {"out", i * 2}};
      if (results[static_cast<std::size_t>(i)] == want) ++matched;
    }
    EXPECT_EQ(matched, n);
    EXPECT_EQ(client.pending(), 0u);
    gate.reset();
  });
}

TEST(client_proxy, concurrent_requests_on_several_threads) {
  constexpr int n = 1000;
  router r;
  r.message("triple", [](int x) -> awaitable<int> {
    co_await sleep_for(std::chrono::milliseconds(x % 3));
    co_return x * 3;
  });
  roost::testing::run(
      [&]() -> awaitable<void> {
        const auto ex = co_await boost::asio::this_coro::executor;
        service svc(r);
        co_await svc.app.start();
        client_proxy client(ex, svc.broker.client());
        std::vector<int> results(n, -1);
        std::atomic<int> done{0}, failed{0};
        for (int i = 0; i < n; ++i) {
          boost::asio::co_spawn(ex, client.send<int>("triple", i),
                                [&, i](std::exception_ptr e, int v) {
                                  if (e) failed++;
                                  results[static_cast<std::size_t>(i)] = v;
                                  done++;
                                });
        }
        const bool all = co_await wait_until([&] { return done.load() == n; }, 15s);
        EXPECT_TRUE(all);
        EXPECT_EQ(failed.load(), 0);
        int matched = 0;
        for (int i = 0; i < n; ++i) matched += results[static_cast<std::size_t>(i)] == i * 3;
        EXPECT_EQ(matched, n);
        EXPECT_EQ(client.pending(), 0u);
        co_await svc.app.shutdown();
      },
      std::chrono::seconds(20), 4);
}

TEST(client_proxy, metadata_reaches_the_context) {
  router r;
  r.message("md", [](context& ctx) -> json::value {
    if (!ctx.metadata()) return "none";
    return *ctx.metadata();
  });
  std::vector<std::string> event_md;
  r.event("md.ev", [&event_md](context& ctx) {
    event_md.push_back(ctx.metadata() ? json::serialize(*ctx.metadata()) : "none");
  });
  with_client(r, [&event_md](service&, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.metadata = json::object{{"traceparent", "00-abc-01"}, {"user", "u1"}};
    const json::value with = co_await client.send("md", 0, o);
    EXPECT_EQ(json::serialize(with), R"({"traceparent":"00-abc-01","user":"u1"})");
    const json::value without = co_await client.send("md", 0);
    EXPECT_EQ(without, json::value("none"));
    co_await client.emit("md.ev", 0, o);
    co_await client.emit("md.ev", 0);
    const bool both = co_await wait_until([&] { return event_md.size() == 2; });
    EXPECT_TRUE(both);
    EXPECT_THAT(event_md, ElementsAre(R"({"traceparent":"00-abc-01","user":"u1"})", "none"));
  });
}

TEST(client_proxy, request_pattern_reaches_the_context_as_sent) {
  router r;
  r.message(json::value{{"cmd", "sum"}, {"role", "math"}}, [](context& ctx) {
    return json::value{{"pattern", ctx.pattern()}, {"route", ctx.route()}};
  });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    const json::value pattern = json::parse(R"({"role":"math","cmd":"sum"})");
    const json::value v = co_await client.send(pattern, 0);
    EXPECT_EQ(
        json::serialize(v),
        R"({"pattern":{"role":"math","cmd":"sum"},"route":"{\"cmd\":\"sum\",\"role\":\"math\"}"})");
  });
}

TEST(client_proxy, status_and_explicit_connect) {
  router r;
  r.message("x", [] { return 1; });
  with_client(r, [](service&, client_proxy& client) -> awaitable<void> {
    EXPECT_EQ(client.status(), connection_status::disconnected);
    std::vector<connection_status> seen;
    client.on_status([&seen](connection_status s) { seen.push_back(s); });
    co_await client.connect();
    EXPECT_EQ(client.status(), connection_status::connected);
    co_await client.connect();  // already connected: no change
    const int v = co_await client.send<int>("x", 0);
    EXPECT_EQ(v, 1);
    client.close();
    EXPECT_EQ(client.status(), connection_status::disconnected);
    EXPECT_THAT(seen, ElementsAre(connection_status::connected, connection_status::disconnected));
    client.on_status({});
  });
}

}  // namespace
}  // namespace roost
