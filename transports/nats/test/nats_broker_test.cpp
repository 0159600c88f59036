// The NATS transport against a real nats-server (ROOST_NATS_URL; scripts/brokers.sh starts
// one). Each test uses subjects of its own, so tests may share the broker and run in parallel.
// GCC 12: no co_await inside call arguments or conditions, and no owning temporaries in a
// co_await full-expression (see docs/contributing.md).

#include <roost/nats.hpp>

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/testing/url_options.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <nats/nats.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace roost::nats::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using roost::testing::app_options;
using roost::testing::call_and_count;
using roost::testing::error_of;
using roost::testing::eventually;
using roost::testing::pause_for;
using std::chrono::milliseconds;

std::string broker_url() {
  return roost::testing::broker_url("ROOST_NATS_URL");
}

// A prefix no other test (or run) uses.
std::string unique_prefix(std::string_view test) {
  return "t" + roost::testing::unique_number() + "." + std::string(test);
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

// A plain nats.c connection for exact bytes, as a NestJS peer would see them.
struct raw_nats {
  natsConnection* nc = nullptr;
  explicit raw_nats(const std::string& u) {
    const std::string server = "nats://" + u.substr(u.find("://") + 3);
    if (natsConnection_ConnectTo(&nc, server.c_str()) != NATS_OK) {
      throw std::runtime_error("raw connection to " + server + " failed");
    }
  }
  ~raw_nats() { natsConnection_Destroy(nc); }
  // Publishes `body` to `subject` with reply subject `reply` and returns the first reply's
  // payload ("" on timeout), read with a synchronous subscription.
  std::string request(const std::string& subject, const std::string& reply, const std::string& body,
                      int timeout_ms = 5000) {
    natsSubscription* sub = nullptr;
    natsConnection_SubscribeSync(&sub, nc, reply.c_str());
    natsConnection_PublishRequestString(nc, subject.c_str(), reply.c_str(), body.c_str());
    natsConnection_Flush(nc);
    natsMsg* m = nullptr;
    std::string out;
    if (natsSubscription_NextMsg(&m, sub, timeout_ms) == NATS_OK) {
      out.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
      natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    return out;
  }
  void publish(const std::string& subject, const std::string& body) {
    natsConnection_PublishString(nc, subject.c_str(), body.c_str());
    natsConnection_Flush(nc);
  }
};

// The handlers of these tests, under a per-test prefix `p`.
struct service_state {
  std::atomic<int> events{0};
  std::atomic<int> served{0};
  std::mutex mutex;
  std::vector<std::string> seen;  // what handlers recorded
  void record(std::string s) {
    std::lock_guard lock(mutex);
    seen.push_back(std::move(s));
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

// `wildcards`: with the two wildcard routes (which keep the server's messages on the library's
// delivery thread, see server.cpp) or without (served on the thread that reads them).
router make_router(const std::string& p, service_state& st, bool wildcards = true) {
  router r;
  r.message(json::value(p + ".sum"), [&st](std::vector<double> xs) {
    ++st.served;
    return std::reduce(xs.begin(), xs.end());
  });
  r.message(json::value{{"cmd", p}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(json::value(p + ".count"), [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message(json::value(p + ".boom"), []() -> int { throw rpc_exception("bad thing"); });
  if (wildcards) {
    r.message(json::value(p + ".users.*"),
              [](json::value, nats::context& ctx) { return ctx.subject(); });
    r.message(json::value(p + ".deep.>"),
              [](json::value, roost::context& ctx) { return ctx.route(); });
  }
  r.message(json::value(p + ".headers"), [](json::value, nats::context& ctx) {
    json::object o;
    for (const auto& [k, v] : ctx.headers()) o[k] = v;
    o["transport"] = std::string(ctx.transport());
    return o;
  });
  r.event(json::value(p + ".note"), [&st](json::value v) {
    st.record(json::serialize(v));
    ++st.events;
  });
  r.event(json::value(p + ".other"), [&st](json::value v) {
    st.record("other " + json::serialize(v));
    ++st.events;
  });
  return r;
}

// Publishes 400 events alternating between `p`.note and `p`.other in one write, as a foreign
// publisher would; returns what make_router's handlers record for them, in order.
std::vector<std::string> publish_alternating_events(const std::string& url, const std::string& p) {
  raw_nats raw(url);
  std::vector<std::string> expected;
  for (int i = 0; i < 400; ++i) {
    const bool other = i % 2 == 1;
    const std::string body = R"({"pattern":"x","data":)" + std::to_string(i) + "}";
    natsConnection_PublishString(raw.nc, (p + (other ? ".other" : ".note")).c_str(), body.c_str());
    expected.push_back((other ? "other " : "") + std::to_string(i));
  }
  natsConnection_Flush(raw.nc);
  return expected;
}

class nats_broker : public ::testing::Test {
 protected:
  std::string url = broker_url();
  std::string p = unique_prefix(::testing::UnitTest::GetInstance()->current_test_info()->name());
  service_state st;
  router r = make_router(p, st);
};

TEST_F(nats_broker, send_stream_emit_wildcards_and_errors) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(nats::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(url)));

    const std::vector<double> xs{1, 2, 3};
    const double sum = co_await c.send<double>(json::value(p + ".sum"), xs);
    EXPECT_EQ(sum, 6);
    const json::value by_object = {{"role", "math"}, {"cmd", p}};
    const double by_object_sum = co_await c.send<double>(by_object, xs);
    EXPECT_EQ(by_object_sum, 6);

    auto counter = c.stream<int>(json::value(p + ".count"), 4);
    std::vector<int> values;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      values.push_back(*v);
    }
    EXPECT_EQ(values, (std::vector<int>{0, 1, 2, 3}));

    // Wildcard handlers: the subscription picks the handler; the context has the subject.
    const std::string subject = co_await c.send<std::string>(json::value(p + ".users.get"), 1);
    EXPECT_EQ(subject, p + ".users.get");
    const std::string route = co_await c.send<std::string>(json::value(p + ".deep.a.b"), 1);
    EXPECT_EQ(route, p + ".deep.>");

    try {
      (void)co_await c.send<int>(json::value(p + ".boom"), 0);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(json::serialize(e.error()), R"({"status":"error","message":"bad thing"})");
    }

    co_await c.emit(json::value(p + ".note"), std::string("hello"));
    const bool got = co_await eventually([&] { return st.events.load() == 1; });
    EXPECT_TRUE(got);
    EXPECT_EQ(st.all(), (std::vector<std::string>{R"("hello")"}));
    EXPECT_EQ(c.pending(), 0u);
    c.close();
    co_await app.shutdown();
  });
}

TEST_F(nats_broker, no_responders_fail_at_once_with_nestjs_message) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(url)));
    const auto start = std::chrono::steady_clock::now();
    call_options o;
    o.timeout = 5s;
    try {
      (void)co_await c.send(json::value(p + ".nobody"), 1, o);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(),
                "Empty response. There are no subscribers listening to that message (\"" + p +
                    ".nobody\")");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(c.pending(), 0u);
  });
}

TEST_F(nats_broker, exact_reply_bytes_and_no_handler) {
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(nats::server(options_from<server_options>(url)));
        co_await app.start();
        raw_nats raw(url);
        const std::string inbox = "_INBOX." + p + ".raw";
        EXPECT_EQ(raw.request(p + ".sum", inbox,
                              R"({"pattern":")" + p + R"(.sum","data":[1,2],"id":"x1"})"),
                  R"({"response":3,"isDisposed":true,"id":"x1"})");
        // A pattern that only the subscription knows is still served by that subscription's
        // handler (NestJS: the handler belongs to the subscription, not to the JSON pattern).
        EXPECT_EQ(raw.request(p + ".sum", inbox, R"({"pattern":"other","data":[2,2],"id":7})"),
                  R"({"response":4,"isDisposed":true,"id":7})");
        co_await app.shutdown();
      },
      20s, 2);  // the raw peer blocks one thread while the service runs on the other
}

TEST_F(nats_broker, non_json_and_replyless_requests_cost_nothing) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(nats::server(options_from<server_options>(url)));
    co_await app.start();
    raw_nats raw(url);
    raw.publish(p + ".sum", "this is not JSON");
    raw.publish(p + ".sum", "");
    // A request without a reply subject: served, its reply goes nowhere (as NestJS).
    raw.publish(p + ".sum", R"({"pattern":"x","data":[1],"id":"r1"})");
    const bool served = co_await eventually([&] { return st.served.load() == 1; });
    EXPECT_TRUE(served);
    // An external message (no pattern, no data) is an event whose pattern is the subject.
    raw.publish(p + ".note", R"({"hello":1})");
    const bool noted = co_await eventually([&] { return st.events.load() == 1; });
    EXPECT_TRUE(noted);
    EXPECT_EQ(st.all(), (std::vector<std::string>{R"({"hello":1})"}));
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(url)));
    const std::vector<double> xs{4, 5};
    const double sum = co_await c.send<double>(json::value(p + ".sum"), xs);
    EXPECT_EQ(sum, 9);
    co_await app.shutdown();
  });
}

// Serves `r` with `so` and calls it with `co`: requests, a stream, headers, and 400 events
// alternating between two subjects, which must be served in arrival order.
awaitable<void> serve_and_call(std::string url, std::string p, router& r, service_state& st,
                               server_options so, client_options co) {
  microservice app(r, app_options());
  app.add_transport(nats::server(std::move(so)));
  co_await app.start();
  auto ex = co_await asio::this_coro::executor;
  client_proxy c(ex, nats::client(std::move(co)));
  for (int i = 1; i <= 50; ++i) {
    const std::vector<double> xs{1, 2, static_cast<double>(i)};
    const double sum = co_await c.send<double>(json::value(p + ".sum"), xs);
    EXPECT_EQ(sum, 3 + i);
  }
  auto counter = c.stream<int>(json::value(p + ".count"), 300);
  int next = 0;
  for (;;) {
    auto v = co_await counter.next();
    if (!v) break;
    EXPECT_EQ(*v, next++);
  }
  EXPECT_EQ(next, 300);
  call_options o;
  o.metadata = json::object{{"x-trace", "abc"}};
  const json::value got = co_await c.send(json::value(p + ".headers"), 0, o);
  EXPECT_EQ(got, json::parse(R"({"x-trace":"abc","transport":"nats"})")) << json::serialize(got);
  const auto expected = publish_alternating_events(url, p);
  const bool all = co_await eventually([&] { return st.events.load() == 400; });
  EXPECT_TRUE(all);
  EXPECT_EQ(st.all(), expected);
  c.close();
  co_await app.shutdown();
}

// A server and a client on the library's threads (eventLoop=false; on by default) serve and
// call the same.
TEST_F(nats_broker, a_server_and_a_client_on_the_library_threads) {
  auto so = options_from<server_options>(url);
  so.event_loop = false;
  auto co = options_from<client_options>(url);
  co.event_loop = false;
  testing::run([&] { return serve_and_call(url, p, r, st, so, co); });
}

// A server without wildcard routes serves each message on the thread that read it from the
// socket, without the library's delivery thread (connection::take_inline), the same as on the
// delivery thread.
TEST_F(nats_broker, a_server_without_wildcard_routes_serves_on_the_reading_thread) {
  router literal = make_router(p, st, false);
  testing::run([&] {
    return serve_and_call(url, p, literal, st, options_from<server_options>(url),
                          options_from<client_options>(url));
  });
}

// Messages are served in the order they arrived, across subjects (as NestJS serves its socket
// in order): 400 events alternating between two subjects, published in one write, are recorded
// in that order, although the server takes them over from the library in batches.
TEST_F(nats_broker, messages_on_several_subjects_are_served_in_arrival_order) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(nats::server(options_from<server_options>(url)));
    co_await app.start();
    const auto expected = publish_alternating_events(url, p);
    const bool all = co_await eventually([&] { return st.events.load() == 400; });
    EXPECT_TRUE(all);
    EXPECT_EQ(st.all(), expected);
    co_await app.shutdown();
  });
}

TEST_F(nats_broker, headers_both_ways) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(nats::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(
                           url + "/?headers.x-default=d&headers.x-trace=default")));
    call_options o;
    o.metadata = json::object{{"x-trace", "abc"}, {"n", 5}};
    const json::value got = co_await c.send(json::value(p + ".headers"), 0, o);
    // (nats.c does not keep the order of headers; object equality ignores it)
    EXPECT_EQ(got, json::parse(R"({"x-trace":"abc","n":"5","x-default":"d","transport":"nats"})"))
        << json::serialize(got);
    co_await app.shutdown();
  });
}

// The deadline a client sends with its timeout travels as a NATS header: the handler reads it,
// a call it makes inherits it, and a request whose deadline has passed is not served.
TEST_F(nats_broker, deadlines_travel_in_headers_and_are_inherited) {
  std::shared_ptr<client_proxy> downstream;
  std::optional<std::chrono::system_clock::time_point> outer_seen, inner_seen;
  r.message(json::value(p + ".inner"), [&](context& ctx) {
    inner_seen = ctx.deadline();
    return ctx.remaining() ? ctx.remaining()->count() : -1;
  });
  r.message(json::value(p + ".outer"), [&](context& ctx) -> awaitable<std::int64_t> {
    outer_seen = ctx.deadline();
    auto inner =
        downstream->send<std::int64_t>(json::value(p + ".inner"), 0, call_options::from(ctx));
    const auto left = co_await std::move(inner);
    co_return left;
  });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(nats::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    downstream =
        std::make_shared<client_proxy>(ex, nats::client(options_from<client_options>(url)));
    client_proxy c(ex, nats::client(options_from<client_options>(url)));
    call_options o;
    o.timeout = 30s;
    const auto left = co_await c.send<std::int64_t>(json::value(p + ".outer"), 0, o);
    EXPECT_GT(left, 20000);
    EXPECT_LE(left, 30000);
    EXPECT_TRUE(outer_seen && inner_seen);
    if (outer_seen && inner_seen) {
      EXPECT_EQ(*inner_seen, *outer_seen);
    }

    call_options stale;
    stale.headers.set(deadline_header, format_deadline(std::chrono::system_clock::now() - 1s));
    const std::string served_before = std::to_string(st.served.load());
    const json::value one_two = json::parse("[1,2]");
    std::string message;
    try {
      (void)co_await c.send(json::value(p + ".sum"), one_two, stale);
    } catch (const rpc_error& e) {
      message = e.message();
    }
    EXPECT_EQ(message, "Deadline exceeded");
    EXPECT_EQ(std::to_string(st.served.load()), served_before);
    EXPECT_EQ(app.dispatcher().expired_requests(), 1u);
    downstream.reset();
    co_await app.shutdown();
  });
}

// Spans kept in memory.
struct span_list final : span_sink {
  void export_span(span&& s) noexcept override {
    std::lock_guard lock(mutex);
    spans.push_back(std::move(s));
  }
  const span* find(std::string_view name, span_kind kind) {
    std::lock_guard lock(mutex);
    for (const auto& s : spans) {
      if (s.name == name && s.kind == kind) return &s;
    }
    return nullptr;
  }
  std::mutex mutex;
  std::vector<span> spans;
};

// W3C traceparent travels as a NATS header: a call through a service that calls another is
// one trace, each span the child of the one before.
TEST_F(nats_broker, traceparent_travels_in_headers_and_calls_join_the_trace) {
  auto sink = std::make_shared<span_list>();
  auto t = std::make_shared<tracer>(sink);
  std::shared_ptr<client_proxy> downstream;
  std::string inner_header;
  r.message(json::value(p + ".inner"), [&](context& ctx) {
    if (const auto* h = ctx.headers().get(traceparent_header)) inner_header = *h;
    return 1;
  });
  r.message(json::value(p + ".outer"), [&](context& ctx) -> awaitable<int> {
    auto inner = downstream->send<int>(json::value(p + ".inner"), 0, call_options::from(ctx));
    const int v = co_await std::move(inner);
    co_return v + 1;
  });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.dispatcher().observe(t);
    app.add_transport(nats::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    roost::client_options traced;
    traced.tracer = t;
    downstream =
        std::make_shared<client_proxy>(ex, nats::client(options_from<client_options>(url)), traced);
    client_proxy c(ex, nats::client(options_from<client_options>(url)), traced);
    const int v = co_await c.send<int>(json::value(p + ".outer"), 0);
    EXPECT_EQ(v, 2);
    downstream.reset();
    co_await app.shutdown();
  });
  const span* call = sink->find(p + ".outer", span_kind::client);
  const span* outer = sink->find(p + ".outer", span_kind::server);
  const span* inner_call = sink->find(p + ".inner", span_kind::client);
  const span* inner = sink->find(p + ".inner", span_kind::server);
  ASSERT_TRUE(call && outer && inner_call && inner);
  EXPECT_TRUE(call->is_root());
  EXPECT_EQ(outer->parent, call->context.span);
  EXPECT_EQ(inner_call->parent, outer->context.span);
  EXPECT_EQ(inner->parent, inner_call->context.span);
  EXPECT_EQ(inner->context.trace, call->context.trace);
  EXPECT_EQ(inner_header, format_traceparent(inner_call->context));
  for (const auto& [k, v] : inner->attributes) {
    if (k == "roost.transport") {
      EXPECT_EQ(v, "nats");
    }
  }
}

TEST_F(nats_broker, queue_groups_share_work_plain_subscriptions_fan_out) {
  testing::run([&]() -> awaitable<void> {
    service_state st2;
    router r2 = make_router(p, st2);
    microservice a(r, app_options()), b(r2, app_options());
    a.add_transport(nats::server(options_from<server_options>(url + "/?queue=" + p)));
    b.add_transport(nats::server(options_from<server_options>(url + "/?queue=" + p)));
    co_await a.start();
    co_await b.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(url)));
    const std::vector<double> xs{1};
    for (int i = 0; i < 40; ++i) (void)co_await c.send<double>(json::value(p + ".sum"), xs);
    EXPECT_EQ(st.served.load() + st2.served.load(), 40);
    EXPECT_GT(st.served.load(), 0);
    EXPECT_GT(st2.served.load(), 0);
    co_await a.shutdown();
    co_await b.shutdown();

    // Without a queue group every server gets every event.
    service_state st3, st4;
    router r3 = make_router(p, st3), r4 = make_router(p, st4);
    microservice d(r3, app_options()), e(r4, app_options());
    d.add_transport(nats::server(options_from<server_options>(url)));
    e.add_transport(nats::server(options_from<server_options>(url)));
    co_await d.start();
    co_await e.start();
    co_await c.emit(json::value(p + ".note"), 1);
    const bool both = co_await eventually([&] { return st3.events == 1 && st4.events == 1; });
    EXPECT_TRUE(both);
    co_await d.shutdown();
    co_await e.shutdown();
  });
}

TEST_F(nats_broker, handler_extras_choose_the_queue_group) {
  testing::run([&]() -> awaitable<void> {
    std::atomic<int> a_n{0}, b_n{0};
    router ra, rb;
    const json::object extras{{"queue", p + "-q"}};
    ra.event(
        json::value(p + ".job"), [&](int) { ++a_n; }, extras);
    rb.event(
        json::value(p + ".job"), [&](int) { ++b_n; }, extras);
    microservice a(ra, app_options()), b(rb, app_options());
    a.add_transport(nats::server(options_from<server_options>(url)));
    b.add_transport(nats::server(options_from<server_options>(url)));
    co_await a.start();
    co_await b.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(url)));
    for (int i = 0; i < 20; ++i) co_await c.emit(json::value(p + ".job"), i);
    const bool all = co_await eventually([&] { return a_n + b_n == 20; });
    EXPECT_TRUE(all);
    co_await pause_for(100ms);
    EXPECT_EQ(a_n + b_n, 20);  // each once: one queue group
    co_await a.shutdown();
    co_await b.shutdown();
  });
}

TEST_F(nats_broker, close_fails_pending_calls_and_unreachable_server_is_clear) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(
        ex, nats::client(options_from<client_options>("nats://127.0.0.1:1/?connectTimeout=500")));
    try {
      co_await c.connect();
      ADD_FAILURE() << "connected to port 1";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
    }
  });
}

// Limits (roost/limits.hpp): on NATS "per connection" is the server's connection to NATS, so
// the limit is the server's; the requests already running complete, and once they have the
// server answers again.

TEST_F(nats_broker, limits_refuse_what_goes_over_them_and_the_rest_is_served) {
  std::atomic<bool> open{false};
  std::atomic<int> held{0};
  r.message(json::value(p + ".hold"), [&](int x) -> awaitable<int> {
    ++held;
    while (!open) co_await pause_for(2ms);
    co_return x;
  });
  testing::run([&]() -> awaitable<void> {
    auto o = options_from<server_options>(url);
    o.serving.max_in_flight_per_connection = 2;
    o.serving.max_message_size = 300;
    microservice app(r, app_options());
    app.add_transport(nats::server(std::move(o)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(options_from<client_options>(url)));
    client_proxy other(ex, nats::client(options_from<client_options>(url)));
    std::atomic<int> done{0};
    for (int i = 0; i < 2; ++i) {
      asio::co_spawn(ex, call_and_count(c, json::value(p + ".hold"), done), asio::detached);
    }
    const bool both_held = co_await eventually([&] { return held == 2; });
    EXPECT_TRUE(both_held);
    json::value sum = json::value(p + ".sum"), xs = json::array{1, 2};
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
    const json::value note(p + ".note");
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

}  // namespace
}  // namespace roost::nats::test
