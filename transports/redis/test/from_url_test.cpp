#include <roost/redis/from_url.hpp>

#include <gtest/gtest.h>

using roost::url;
namespace redis = roost::redis;

namespace {
redis::client_options client(std::string_view text) {
  auto u = url::parse(text);
  EXPECT_TRUE(u) << text;
  auto o = redis::client_options_from(*u);
  EXPECT_TRUE(o) << text;
  return o ? *o : redis::client_options{};
}
bool rejected(std::string_view text) {
  auto u = url::parse(text);
  if (!u) return true;
  return !redis::client_options_from(*u) && !redis::server_options_from(*u);
}
}  // namespace

TEST(redis_from_url, defaults) {
  auto o = client("redis://127.0.0.1");
  EXPECT_EQ(o.connection.host, "127.0.0.1");
  EXPECT_EQ(o.connection.port, 6379);
  EXPECT_EQ(o.connection.db, 0u);
  EXPECT_TRUE(o.connection.password.empty());
  EXPECT_FALSE(o.connection.tls);
  EXPECT_FALSE(o.connection.retry.attempts);
}

TEST(redis_from_url, credentials_db_and_retry) {
  auto o = client(
      "redis://alice:s%40cret@cache:6380/3?retryAttempts=4&retryDelay=250&connectTimeout=900");
  EXPECT_EQ(o.connection.host, "cache");
  EXPECT_EQ(o.connection.port, 6380);
  EXPECT_EQ(o.connection.username, "alice");
  EXPECT_EQ(o.connection.password, "s@cret");
  EXPECT_EQ(o.connection.db, 3u);
  ASSERT_TRUE(o.connection.retry.attempts);
  EXPECT_EQ(*o.connection.retry.attempts, 4u);
  EXPECT_EQ(o.connection.retry.delay.count(), 250);
  EXPECT_EQ(o.connection.connect_timeout.count(), 900);
}

TEST(redis_from_url, password_only) {
  auto o = client("redis://:pw@h:1");
  EXPECT_EQ(o.connection.username, "");
  EXPECT_EQ(o.connection.password, "pw");
}

TEST(redis_from_url, rediss_turns_tls_on) {
  auto o = client("rediss://h:6380/?ca=/tmp/ca.pem&verify=false&servername=cache.local");
  ASSERT_TRUE(o.connection.tls);
  EXPECT_EQ(o.connection.tls->ca_file, "/tmp/ca.pem");
  EXPECT_FALSE(o.connection.tls->verify_peer);
  EXPECT_EQ(o.connection.tls->server_name, "cache.local");
}

TEST(redis_from_url, wildcards_on_servers) {
  auto u = url::parse("redis://h/?wildcards=true");
  ASSERT_TRUE(u);
  auto s = redis::server_options_from(*u);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->wildcards);
  auto plain = redis::server_options_from(*url::parse("redis://h"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->wildcards);
}

TEST(redis_from_url, bad_values) {
  EXPECT_TRUE(rejected("tcp://h:1"));
  EXPECT_TRUE(rejected("redis://h/x"));
  EXPECT_TRUE(rejected("redis://h/?retryAttempts=many"));
  EXPECT_TRUE(rejected("redis://h/?retryDelay=-1"));
  EXPECT_TRUE(rejected("redis://a:1,b:2"));
  auto u = url::parse("redis://h/?wildcards=yes");
  ASSERT_TRUE(u);
  EXPECT_FALSE(redis::server_options_from(*u));
}
