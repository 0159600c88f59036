// The wildcards matcher, case by case as NestJS's ServerRMQ.matchRmqPattern decides.
#include "topic.hpp"

#include <gtest/gtest.h>

namespace roost::rmq::detail {
namespace {

TEST(rmq_topic, star_is_one_word_hash_the_rest) {
  EXPECT_TRUE(topic_matches("orders.*", "orders.created"));
  EXPECT_FALSE(topic_matches("orders.*", "orders"));
  EXPECT_FALSE(topic_matches("orders.*", "orders.a.b"));
  EXPECT_TRUE(topic_matches("*.created", "orders.created"));
  EXPECT_TRUE(topic_matches("audit.#", "audit.login"));
  EXPECT_TRUE(topic_matches("audit.#", "audit.a.b.c"));
  EXPECT_TRUE(topic_matches("audit.#", "audit"));  // `#` may be no word at all
  EXPECT_TRUE(topic_matches("#", "anything.at.all"));
  EXPECT_FALSE(topic_matches("audit.#", "orders.x"));
  EXPECT_TRUE(topic_matches("a.b", "a.b"));
  EXPECT_FALSE(topic_matches("a.b", "a.c"));
}

TEST(rmq_topic, nestjs_edge_cases) {
  EXPECT_TRUE(topic_matches("#", ""));  // an empty key matches `#` alone
  EXPECT_FALSE(topic_matches("*", ""));
  EXPECT_FALSE(topic_matches("#.done", "a.done"));  // `#` before the last word: never
  EXPECT_FALSE(topic_matches("a.", "a"));           // words are counted, empty ones too
  EXPECT_TRUE(topic_matches("a.", "a."));
  EXPECT_FALSE(topic_matches("a.*", "a."));  // `*` needs a non-empty word
}

TEST(rmq_topic, wildcard_routes) {
  EXPECT_TRUE(is_wildcard("orders.*"));
  EXPECT_TRUE(is_wildcard("audit.#"));
  EXPECT_FALSE(is_wildcard("sum"));
  EXPECT_FALSE(is_wildcard(R"({"cmd":"sum"})"));
}

}  // namespace
}  // namespace roost::rmq::detail
