#include <roost/headers.hpp>

#include <roost/context.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace roost {
namespace {

using ::testing::ElementsAre;

TEST(headers, keeps_order_and_repeated_names) {
  headers h{{"x-a", "1"}, {"x-b", "2"}};
  h.add("x-a", "3");
  ASSERT_NE(h.get("x-a"), nullptr);
  EXPECT_EQ(*h.get("x-a"), "1");
  EXPECT_THAT(h.get_all("x-a"), ElementsAre("1", "3"));
  EXPECT_EQ(h.get("X-A"), nullptr);  // names compare exactly
  EXPECT_EQ(h.size(), 3u);
  h.set("x-a", "4");
  EXPECT_THAT(h.get_all("x-a"), ElementsAre("4"));
  EXPECT_EQ(h.begin()->first, "x-a");  // set() keeps the first place
  EXPECT_EQ(h.erase("x-b"), 1u);
  EXPECT_FALSE(h.contains("x-b"));
  h.set("x-c", "5");
  EXPECT_EQ(*h.get("x-c"), "5");
}

TEST(headers, from_and_to_nestjs_metadata) {
  const auto md = json::parse(R"({"x-trace":"t1","n":3,"o":{"k":true}})").as_object();
  const headers h = headers::from_metadata(md);
  EXPECT_EQ(*h.get("x-trace"), "t1");
  EXPECT_EQ(*h.get("n"), "3");
  EXPECT_EQ(*h.get("o"), R"({"k":true})");
  headers repeated{{"a", "1"}, {"a", "2"}, {"b", "3"}};
  EXPECT_EQ(json::serialize(repeated.to_metadata()), R"({"a":"1","b":"3"})");
}

TEST(headers, a_context_tells_metadata_and_headers_whichever_the_transport_gave) {
  context from_packet("tcp", "p", json::parse(R"({"x-trace":"t1"})").as_object());
  EXPECT_EQ(*from_packet.headers().get("x-trace"), "t1");
  ASSERT_NE(from_packet.metadata(), nullptr);
  EXPECT_EQ(json::serialize(*from_packet.metadata()), R"({"x-trace":"t1"})");

  context from_headers("nats", "p", std::nullopt, headers{{"x-trace", "t2"}, {"x-trace", "t3"}});
  ASSERT_NE(from_headers.metadata(), nullptr);
  EXPECT_EQ(json::serialize(*from_headers.metadata()), R"({"x-trace":"t2"})");
  EXPECT_THAT(from_headers.headers().get_all("x-trace"), ElementsAre("t2", "t3"));

  context none("tcp", "p");
  EXPECT_EQ(none.metadata(), nullptr);
  EXPECT_TRUE(none.headers().empty());
}

}  // namespace
}  // namespace roost
