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

TEST(url, milliseconds_in_the_query) {
  auto u = url::parse("tcp://h:1?a=250&b=-1&c=x");
  ASSERT_TRUE(u);
  std::chrono::milliseconds d{5};
  EXPECT_TRUE(u->param_millis("absent", d));
  EXPECT_EQ(d.count(), 5);
  EXPECT_TRUE(u->param_millis("a", d));
  EXPECT_EQ(d.count(), 250);
  EXPECT_FALSE(u->param_millis("b", d));  // negative
  EXPECT_FALSE(u->param_millis("c", d));
  EXPECT_EQ(d.count(), 250);
}

TEST(url, tls_parameters) {
  std::optional<tls_options> t;
  url::parse("tcp://h:1")->param_tls(false, t);
  EXPECT_FALSE(t);
  url::parse("tcp://h:1")->param_tls(true, t);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->verify_peer);
  EXPECT_TRUE(t->ca_file.empty());

  std::optional<tls_options> p;
  url::parse("tcp://h:1?ca=/ca.pem&cert=/c.pem&key=/k.pem&servername=s.local&verify=false")
      ->param_tls(false, p);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ca_file, "/ca.pem");
  EXPECT_EQ(p->cert_file, "/c.pem");
  EXPECT_EQ(p->key_file, "/k.pem");
  EXPECT_EQ(p->server_name, "s.local");
  EXPECT_FALSE(p->verify_peer);

  std::optional<tls_options> n;
  url::parse("tcp://h:1?servername=s.local")->param_tls(false, n);
  EXPECT_TRUE(n);  // any TLS parameter asks for TLS
}

}  // namespace
}  // namespace roost
