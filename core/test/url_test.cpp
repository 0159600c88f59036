#include <roost/url.hpp>

#include <gtest/gtest.h>

#include <cstdint>

namespace roost {
namespace {

TEST(url, parses_hosts_credentials_path_and_query) {
  auto u = url::parse("nats://us%40r:p%3Ass@a:4222,b:4223/x?queue=q&token=t%20t");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "nats");
  EXPECT_EQ(u->user, "us@r");
  EXPECT_EQ(u->password, "p:ss");
  EXPECT_EQ(u->host, "a");
  EXPECT_EQ(u->port, 4222);
  EXPECT_EQ(u->hosts.size(), 2u);
  EXPECT_EQ(u->path, "x");
  EXPECT_EQ(u->param("token"), "t t");
  EXPECT_FALSE(u->param("nope"));
  EXPECT_FALSE(url::parse("not a url"));
}

TEST(url, numbers_in_the_query) {
  auto u = url::parse("tcp://h:1?a=42&b=-7&c=x1&d=&e=99999999999999999999999");
  ASSERT_TRUE(u);
  std::uint64_t n = 5;
  EXPECT_TRUE(u->param_number("absent", n));
  EXPECT_EQ(n, 5u);  // unchanged
  EXPECT_TRUE(u->param_number("a", n));
  EXPECT_EQ(n, 42u);
  EXPECT_FALSE(u->param_number("b", n));  // not an unsigned number
  EXPECT_EQ(n, 42u);                      // a bad value leaves it alone
  EXPECT_FALSE(u->param_number("c", n));
  EXPECT_FALSE(u->param_number("d", n));
  EXPECT_FALSE(u->param_number("e", n));  // out of range
  std::int64_t s = 0;
  EXPECT_TRUE(u->param_number("b", s));
  EXPECT_EQ(s, -7);
}

}  // namespace
}  // namespace roost
