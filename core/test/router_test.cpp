#include <roost/router.hpp>

#include <roost/context.hpp>
#include <roost/testing/run.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <optional>
#include <string>
#include <vector>

// Tier 1: registration rules of roost::router (nest-wire-protocol.md §1.3, §1.4).

namespace roost {
namespace {

using ::testing::ElementsAre;

/// Calls a registered handler with `data` and returns its single value (nullopt: undefined).
std::optional<json::value> call(const detail::erased_handler& h, json::value data) {
  std::optional<json::value> out;
  roost::testing::run([&]() -> awaitable<void> {
    context ctx("test", "p");
    auto r = co_await h(data, ctx);
    out = std::move(r.value);
  });
  return out;
}

std::vector<std::string> routes_of(const router& r) {
  std::vector<std::string> out;
  for (const auto* e : r.entries()) out.push_back(e->route);
  return out;
}

TEST(router, last_message_registration_wins) {
  router r;
  r.message("sum", [] { return 1; });
  r.message("sum", [] { return 2; });
  ASSERT_EQ(r.entries().size(), 1u);
  const auto* e = r.find("sum");
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->message);
  EXPECT_TRUE(e->events.empty());
  EXPECT_EQ(call(e->message, nullptr), json::value(2));
}

TEST(router, event_handlers_chain_in_registration_order) {
  router r;
  std::vector<int> order;
  r.event("created", [&order] { order.push_back(1); });
  r.event("created", [&order] { order.push_back(2); });
  r.event("created", [&order](int x) { order.push_back(x); });
  ASSERT_EQ(r.entries().size(), 1u);
  const auto* e = r.find("created");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->message);
  ASSERT_EQ(e->events.size(), 3u);
  for (const auto& h : e->events) call(h, 3);
  EXPECT_THAT(order, ElementsAre(1, 2, 3));
}

TEST(router, message_and_events_share_a_route) {
  router r;
  r.event("x", [] {});
  r.message("x", [] { return 1; });
  r.event("x", [] {});
  ASSERT_EQ(r.entries().size(), 1u);
  const auto* e = r.find("x");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->message);
  EXPECT_EQ(e->events.size(), 2u);
}

TEST(router, object_patterns_with_different_key_orders_are_one_route) {
  router r;
  r.message(json::parse(R"({"role":"math","cmd":"sum"})"), [] { return "first"; });
  r.message(json::parse(R"({"cmd":"sum","role":"math"})"), [] { return "second"; });
  r.event(json::value{{"cmd", "sum"}, {"role", "math"}}, [] {});
  ASSERT_EQ(r.entries().size(), 1u);
  const auto* e = r.find(R"({"cmd":"sum","role":"math"})");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->route, R"({"cmd":"sum","role":"math"})");
  EXPECT_EQ(call(e->message, nullptr), json::value("second"));
  EXPECT_EQ(e->events.size(), 1u);
  // Nested objects and arrays are normalized too.
  r.message(json::parse(R"({"b":[1,{"y":1,"x":2}],"a":true})"), [] { return 0; });
  EXPECT_NE(r.find(R"({"a":true,"b":{"0":1,"1":{"x":2,"y":1}}})"), nullptr);
}

TEST(router, entries_in_registration_order_with_their_patterns) {
  router r;
  r.message("b", [] {});
  r.event(json::value{{"z", 1}, {"a", 2}}, [] {});
  r.message(42, [] {});
  r.message("a", [] {});
  r.message("b", [] { return 1; });  // replaces; does not move or duplicate the entry
  EXPECT_THAT(routes_of(r), ElementsAre("b", R"({"a":2,"z":1})", "42", "a"));
  const auto entries = r.entries();
  // The pattern is kept as first registered (transports subscribe with it).
  EXPECT_EQ(entries[1]->pattern, json::parse(R"({"z":1,"a":2})"));
  EXPECT_EQ(entries[2]->pattern, json::value(42));
}

TEST(router, find_unknown_route_and_string_is_not_normalized_twice) {
  router r;
  r.message("sum", [] {});
  EXPECT_EQ(r.find("nope"), nullptr);
  EXPECT_EQ(r.find(""), nullptr);
  EXPECT_EQ(r.find("\"sum\""), nullptr);  // find() takes a route, not a pattern
  // A string pattern that looks like JSON is registered literally (NestJS does not parse it).
  r.message(R"({"b":1,"a":1})", [] {});
  EXPECT_NE(r.find(R"({"b":1,"a":1})"), nullptr);
  EXPECT_EQ(r.find(R"({"a":1,"b":1})"), nullptr);
}

TEST(router, routes_normalizer_is_the_one_used_for_registration) {
  router r;
  const json::value pattern = json::parse(R"({"role":"x","cmd":"y"})");
  r.message(pattern, [] {});
  EXPECT_NE(r.find(r.routes().route(pattern)), nullptr);
  EXPECT_NE(r.find(r.routes().lookup_route(json::value(R"({"role":"x","cmd":"y"})"))), nullptr);
}

TEST(router, moves_keep_the_registrations) {
  router a;
  a.message("m", [] { return 5; });
  a.event("e", [] {});
  router b(std::move(a));
  ASSERT_NE(b.find("m"), nullptr);
  EXPECT_EQ(call(b.find("m")->message, nullptr), json::value(5));
  router c;
  c = std::move(b);
  EXPECT_THAT(routes_of(c), ElementsAre("m", "e"));
  c.message("n", [] {});
  EXPECT_NE(c.find("n"), nullptr);
}

TEST(router, registration_is_chainable) {
  router r;
  r.message("a", [] {}).event("b", [] {}).message("c", [] {});
  EXPECT_THAT(routes_of(r), ElementsAre("a", "b", "c"));
}

}  // namespace
}  // namespace roost
