#include <roost/limits.hpp>

#include <roost/dispatcher.hpp>
#include <roost/packet.hpp>
#include <roost/router.hpp>
#include <roost/testing/run.hpp>
#include <roost/url.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include <memory>
#include <string>
#include <vector>

// The limits every server gets from the core (roost/limits.hpp): what serve() does with a
// connection's gauge, and refuse_too_large(), seen as a transport sees them: the frames its
// sink writes and how an acknowledgeable message is settled.

namespace roost {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;
using frames = std::vector<std::string>;

/// A connection as a transport has one: its gauge, and the frames written to its peer.
struct test_connection {
  explicit test_connection(const limits& l) : gauge(l) {}
  detail::flight_gauge gauge;
  frames written;
};

class recording_sink final : public immediate_reply_sink {
 public:
  explicit recording_sink(frames& out) : out_(out) {}
  void send_now(reply_packet reply, const json::value& id) override {
    std::string text;
    encode_reply(text, reply, id);
    out_.push_back(std::move(text));
  }

 private:
  frames& out_;
};

/// A context that records how its message was settled, when acknowledgeable.
class test_context final : public context {
 public:
  test_context(json::value pattern, std::vector<settlement>* settled)
      : context("test", std::move(pattern)) {
    if (settled) accept_settlement({{}, [settled](settlement s) { settled->push_back(s); }});
  }
};

struct test_origin {
  test_connection* conn;
  std::vector<settlement>* settled = nullptr;  // set: the message is acknowledgeable
  test_context make_context(json::value pattern, std::optional<json::object>) {
    return test_context(std::move(pattern), settled);
  }
  recording_sink make_sink() { return recording_sink(conn->written); }
  detail::flight_gauge& gauge() { return conn->gauge; }
};

/// Serves `text` as a transport does: decoded, then given to serve() with the connection's
/// gauge, or to refuse_too_large() when the gauge says it is too large.
awaitable<void> serve_text(dispatcher& d, test_connection& c, std::string_view text,
                           std::vector<settlement>* settled = nullptr) {
  const auto ex = co_await boost::asio::this_coro::executor;
  if (c.gauge.too_large(text.size())) {
    d.refuse_too_large(ex, text, json::value("channel"), test_origin{&c, settled});
    co_return;
  }
  auto p = decode_inbound(text);
  EXPECT_TRUE(p) << text;
  if (p) d.serve(ex, *p, test_origin{&c, settled});
}

std::string req(std::string_view pattern, std::string_view id) {
  return R"({"pattern":")" + std::string(pattern) + R"(","data":1,"id":")" + std::string(id) +
         R"("})";
}

std::string error_frame(std::string_view message, std::string_view id) {
  return R"({"err":{"status":"error","message":")" + std::string(message) +
         R"("},"isDisposed":true,"id":")" + std::string(id) + R"("})";
}

std::string value_frame(std::string_view value, std::string_view id) {
  return R"({"response":)" + std::string(value) + R"(,"isDisposed":true,"id":")" + std::string(id) +
         R"("})";
}

/// "slow" waits on the gate; "fast" answers at once; "slow.event" is an event on the gate.
router gated_router(const test::gate& g, int& events) {
  router r;
  r.message("slow", [&g](int x) -> awaitable<int> {
    co_await g.wait();
    co_return x + 1;
  });
  r.message("fast", [](int x) { return x * 10; });
  r.event("slow.event", [&g, &events](int) -> awaitable<void> {
    co_await g.wait();
    ++events;
  });
  return r;
}

TEST(limits, the_service_refuses_beyond_max_in_flight_and_the_running_ones_complete) {
  test::gate g;
  int events = 0;
  const router r = gated_router(g, events);
  dispatcher d(r, logger::silent());
  test_connection c({.max_in_flight = 2});
  roost::testing::run([&]() -> awaitable<void> {
    co_await serve_text(d, c, req("slow", "1"));
    co_await serve_text(d, c, req("slow", "2"));
    EXPECT_EQ(d.in_flight(), 2u);
    // Answered at once, whether its handler would suspend or not.
    co_await serve_text(d, c, req("slow", "3"));
    co_await serve_text(d, c, req("fast", "4"));
    EXPECT_THAT(c.written, ElementsAre(error_frame("Too many requests in flight", "3"),
                                       error_frame("Too many requests in flight", "4")));
    EXPECT_EQ(d.in_flight(), 2u);
    g.open();
    co_await test::wait_until([&] { return d.in_flight() == 0; });
    EXPECT_EQ(c.written.size(), 4u);
    EXPECT_THAT(c.written, ::testing::Contains(value_frame("2", "1")));
    EXPECT_THAT(c.written, ::testing::Contains(value_frame("2", "2")));
    // Room again.
    co_await serve_text(d, c, req("fast", "5"));
    EXPECT_EQ(c.written.back(), value_frame("10", "5"));
  });
}

TEST(limits, the_service_limit_counts_every_connection) {
  test::gate g;
  int events = 0;
  const router r = gated_router(g, events);
  dispatcher d(r, logger::silent());
  test_connection a({.max_in_flight = 1}), b({.max_in_flight = 1});
  roost::testing::run([&]() -> awaitable<void> {
    co_await serve_text(d, a, req("slow", "1"));
    co_await serve_text(d, b, req("fast", "2"));
    EXPECT_THAT(b.written, ElementsAre(error_frame("Too many requests in flight", "2")));
    g.open();
    co_await test::wait_until([&] { return d.in_flight() == 0; });
    EXPECT_THAT(a.written, ElementsAre(value_frame("2", "1")));
  });
}

TEST(limits, one_connection_over_its_limit_leaves_the_others_unharmed) {
  test::gate g;
  int events = 0;
  const router r = gated_router(g, events);
  dispatcher d(r, logger::silent());
  const limits l{.max_in_flight_per_connection = 1};
  test_connection a(l), b(l);
  roost::testing::run([&]() -> awaitable<void> {
    co_await serve_text(d, a, req("slow", "1"));
    EXPECT_EQ(a.gauge.in_flight(), 1u);
    co_await serve_text(d, a, req("fast", "2"));
    EXPECT_THAT(a.written,
                ElementsAre(error_frame("Too many requests in flight on this connection", "2")));
    // Another connection is served: a quick request at once, a slow one held.
    co_await serve_text(d, b, req("fast", "3"));
    co_await serve_text(d, b, req("slow", "4"));
    EXPECT_THAT(b.written, ElementsAre(value_frame("10", "3")));
    EXPECT_EQ(b.gauge.in_flight(), 1u);
    g.open();
    co_await test::wait_until([&] { return d.in_flight() == 0; });
    EXPECT_EQ(a.gauge.in_flight(), 0u);
    EXPECT_EQ(b.gauge.in_flight(), 0u);
    EXPECT_EQ(a.written.back(), value_frame("2", "1"));
    EXPECT_EQ(b.written.back(), value_frame("2", "4"));
    co_await serve_text(d, a, req("fast", "5"));
    EXPECT_EQ(a.written.back(), value_frame("10", "5"));
  });
}

TEST(limits, an_event_beyond_the_limit_is_dropped_with_a_warning_or_given_back) {
  test::gate g;
  int events = 0;
  const router r = gated_router(g, events);
  test::log_capture logs;
  dispatcher d(r, logs.make());
  test_connection c({.max_in_flight_per_connection = 1});
  std::vector<settlement> settled;
  roost::testing::run([&]() -> awaitable<void> {
    const std::string event = R"({"pattern":"slow.event","data":1})";
    co_await serve_text(d, c, event);
    co_await serve_text(d, c, event);
    EXPECT_TRUE(logs.contains(log_level::warn,
                              "event \"slow.event\" dropped: Too many requests in flight on this "
                              "connection"));
    // An acknowledgeable one goes back to the broker, to come again.
    co_await serve_text(d, c, event, &settled);
    EXPECT_THAT(settled, ElementsAre(settlement::redeliver));
    g.open();
    co_await test::wait_until([&] { return d.in_flight() == 0; });
    EXPECT_EQ(events, 1);
    EXPECT_TRUE(c.written.empty());
  });
}

TEST(limits, a_message_too_large_is_answered_without_being_parsed) {
  const router r = [] {
    router r;
    r.message("echo", [](json::value v) { return v; });
    return r;
  }();
  test::log_capture logs;
  dispatcher d(r, logs.make());
  test_connection c({.max_message_size = 64});
  std::vector<settlement> settled;
  roost::testing::run([&]() -> awaitable<void> {
    const std::string big(100, 'x');
    // The id comes after the data, as NestJS writes it, and the data has an id of its own.
    const std::string request =
        R"({"pattern":"echo","data":{"id":"no","pad":")" + big + R"("},"id":"7"})";
    co_await serve_text(d, c, request);
    const std::string message =
        "Message too large: " + std::to_string(request.size()) + " bytes, the limit is 64";
    EXPECT_THAT(c.written, ElementsAre(error_frame(message, "7")));
    EXPECT_TRUE(logs.contains(log_level::warn, "request to \"echo\" refused: " + message));
    // An event: dropped, said at warn; an acknowledgeable one is let go.
    const std::string event = R"({"pattern":"echo","data":")" + big + R"("})";
    co_await serve_text(d, c, event, &settled);
    EXPECT_TRUE(logs.contains(log_level::warn, "event to \"echo\" refused: Message too large"));
    EXPECT_THAT(settled, ElementsAre(settlement::drop));
    EXPECT_EQ(c.written.size(), 1u);
    // At the limit: served.
    const std::string small = R"({"pattern":"echo","data":1,"id":"8"})";
    co_await serve_text(d, c, small);
    EXPECT_EQ(c.written.back(), value_frame("1", "8"));
    EXPECT_EQ(d.in_flight(), 0u);
  });
}

TEST(limits, no_limit_set_counts_nothing) {
  test::gate g;
  int events = 0;
  const router r = gated_router(g, events);
  dispatcher d(r, logger::silent());
  test_connection c(limits{.max_message_size = 0});
  roost::testing::run([&]() -> awaitable<void> {
    for (int i = 0; i < 50; ++i) co_await serve_text(d, c, req("slow", std::to_string(i)));
    EXPECT_EQ(d.in_flight(), 50u);
    EXPECT_EQ(c.gauge.in_flight(), 0u);
    EXPECT_FALSE(c.gauge.too_large(std::size_t(1) << 40));
    g.open();
    co_await test::wait_until([&] { return d.in_flight() == 0; });
    EXPECT_EQ(c.written.size(), 50u);
  });
}

TEST(limits, defaults_never_bite) {
  const limits l;
  EXPECT_EQ(l.max_message_size, 128u * 1024 * 1024);
  EXPECT_EQ(l.max_in_flight_per_connection, 0u);
  EXPECT_EQ(l.max_in_flight, 0u);
  EXPECT_EQ(l.max_connections, 0u);
}

TEST(limits, read_from_a_url) {
  auto u = url::parse(
      "tcp://h:1?maxMessageSize=1024&maxInFlightPerConnection=8&maxInFlight=100&maxConnections=3");
  ASSERT_TRUE(u);
  limits l;
  ASSERT_TRUE(u->param_limits(l));
  EXPECT_EQ(l.max_message_size, 1024u);
  EXPECT_EQ(l.max_in_flight_per_connection, 8u);
  EXPECT_EQ(l.max_in_flight, 100u);
  EXPECT_EQ(l.max_connections, 3u);
  limits unchanged;
  ASSERT_TRUE(url::parse("tcp://h:1")->param_limits(unchanged));
  EXPECT_EQ(unchanged.max_message_size, limits{}.max_message_size);
  limits bad;
  EXPECT_FALSE(url::parse("tcp://h:1?maxInFlight=many")->param_limits(bad));
  EXPECT_FALSE(url::parse("tcp://h:1?maxConnections=-1")->param_limits(bad));
}

TEST(peek_inbound, finds_the_pattern_and_id_without_parsing_the_rest) {
  // Nested ids, brackets and escaped quotes inside strings do not confuse it.
  auto p = peek_inbound(
      R"({"pattern":{"cmd":"sum"},"data":{"id":"inner","s":"a\"}]{","v":[1,[2,{"id":3}]]},"id":"outer"})");
  EXPECT_EQ(p.pattern, json::parse(R"({"cmd":"sum"})"));
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, json::value("outer"));
  EXPECT_TRUE(p.data.is_null());
  // Members in any order, numbers, spaces.
  p = peek_inbound(R"( { "id" : 42 , "data" : [ ] , "pattern" : "x" } )");
  EXPECT_EQ(p.pattern, json::value("x"));
  EXPECT_EQ(*p.id, json::value(42));
  // An event; what follows bad JSON is not looked at.
  p = peek_inbound(R"({"pattern":"e","data":nope "id":"1"})");
  EXPECT_EQ(p.pattern, json::value("e"));
  EXPECT_FALSE(p.id);
  // An external message: the channel is its pattern, and it has no id.
  p = peek_inbound(R"({"id":"1","other":2})", json::value("chan"));
  EXPECT_EQ(p.pattern, json::value("chan"));
  EXPECT_FALSE(p.id);
  p = peek_inbound("not json at all", json::value("chan"));
  EXPECT_EQ(p.pattern, json::value("chan"));
  // An id too long to be one is left out.
  p = peek_inbound(R"({"pattern":"x","id":")" + std::string(5000, 'i') + R"("})");
  EXPECT_FALSE(p.id);
  // Cut short.
  p = peek_inbound(R"({"pattern":"x","data":"unterminated)");
  EXPECT_EQ(p.pattern, json::value("x"));
  EXPECT_FALSE(p.id);
}

}  // namespace
}  // namespace roost
