// The MQTT transport without a broker: its URL options and its topic filters.

#include "topic.hpp"

#include <roost/errors.hpp>
#include <roost/mqtt/from_url.hpp>

#include <gtest/gtest.h>

namespace roost::mqtt {
namespace {

url parse(std::string_view text) {
  auto u = url::parse(text);
  EXPECT_TRUE(u) << text;
  return *u;
}

TEST(mqtt_from_url, nestjs_defaults) {
  auto s = server_options_from(parse("mqtt://h"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "h");
  EXPECT_EQ(s->port, 1883);
  EXPECT_EQ(s->protocol_version, 4);  // MQTT 3.1.1, as NestJS's library
  EXPECT_EQ(s->client_id, "");        // made at connection
  EXPECT_EQ(s->keepalive, 60);
  EXPECT_TRUE(s->clean);
  EXPECT_EQ(s->reconnect_period, std::chrono::milliseconds(1000));
  EXPECT_EQ(s->qos, 0);
  auto c = client_options_from(parse("mqtt://h:1884/"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 1884);
  EXPECT_EQ(c->qos, 0);
  EXPECT_TRUE(c->user_properties.empty());
}

TEST(mqtt_from_url, last_will) {
  EXPECT_FALSE(client_options_from(parse("mqtt://h"))->will);
  auto c = client_options_from(
      parse("mqtt://h/?protocolVersion=5&will.topic=svc/gone&will.payload=bye&will.qos=1"
            "&will.retain=true&will.delayInterval=5&will.userProperties.reason=crash"));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->will);
  EXPECT_EQ(c->will->topic, "svc/gone");
  EXPECT_EQ(c->will->payload, "bye");
  EXPECT_EQ(c->will->qos, 1);
  EXPECT_TRUE(c->will->retain);
  EXPECT_EQ(c->will->delay_interval, 5u);
  EXPECT_EQ(c->will->user_properties.get("reason") ? *c->will->user_properties.get("reason")
                                                   : std::string(),
            "crash");
  auto s = server_options_from(parse("mqtt://h/?will.topic=svc/gone"));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->will);
  EXPECT_EQ(s->will->payload, "");
  EXPECT_EQ(s->will->qos, 0);
  EXPECT_FALSE(s->will->delay_interval);
  // No topic, a wildcard, a bad QoS, a misspelt key, or properties over MQTT 3.1.1.
  EXPECT_FALSE(client_options_from(parse("mqtt://h/?will.payload=bye")));
  EXPECT_FALSE(client_options_from(parse("mqtt://h/?will.topic=a/%2B")));
  EXPECT_FALSE(client_options_from(parse("mqtt://h/?will.topic=a&will.qos=3")));
  EXPECT_FALSE(client_options_from(parse("mqtt://h/?will.topic=a&will.payloda=x")));
  EXPECT_FALSE(client_options_from(parse("mqtt://h/?will.topic=a&will.delayInterval=5")));
  EXPECT_FALSE(client_options_from(parse("mqtt://h/?will.topic=a&will.userProperties.k=v")));
}

TEST(mqtt_from_url, nestjs_option_names) {
  auto s = server_options_from(
      parse("mqtt://me:s%40cret@broker:1885/?protocolVersion=5&clientId=svc-1&qos=1&keepalive=10"
            "&clean=false&reconnectPeriod=250&connectTimeout=500&maxMessageSize=1024"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->username, "me");
  EXPECT_EQ(s->password, "s@cret");
  EXPECT_EQ(s->host, "broker");
  EXPECT_EQ(s->port, 1885);
  EXPECT_EQ(s->protocol_version, 5);
  EXPECT_EQ(s->client_id, "svc-1");
  EXPECT_EQ(s->qos, 1);
  EXPECT_EQ(s->keepalive, 10);
  EXPECT_FALSE(s->clean);
  EXPECT_EQ(s->reconnect_period, std::chrono::milliseconds(250));
  EXPECT_EQ(s->connect_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(s->serving.max_message_size, 1024u);
  EXPECT_EQ(s->share, "");
  auto shared = server_options_from(parse("mqtt://h/?share=workers"));
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->share, "workers");
  // A group is one topic level, without wildcards (a server option: a client has none).
  EXPECT_FALSE(server_options_from(parse("mqtt://h/?share=a/b")));
  EXPECT_FALSE(server_options_from(parse("mqtt://h/?share=%2B")));
  // NestJS's `username` / `password` options win over the URL's user information.
  auto c = client_options_from(
      parse("mqtt://a:b@h/"
            "?username=u&password=p&qos=2&userProperties.x-version=1.0.0&userProperties.t=1"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u");
  EXPECT_EQ(c->password, "p");
  EXPECT_EQ(c->qos, 2);
  ASSERT_EQ(c->user_properties.size(), 2u);
  EXPECT_EQ(*c->user_properties.get("x-version"), "1.0.0");
  EXPECT_EQ(*c->user_properties.get("t"), "1");
}

TEST(mqtt_from_url, mqtts_turns_tls_on) {
  auto s = server_options_from(
      parse("mqtts://h/?ca=/tmp/ca.pem&cert=/tmp/c.pem&key=/tmp/c.key&servername=broker.local"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 8883);  // MQTT's TLS port
  ASSERT_TRUE(s->tls);
  EXPECT_EQ(s->tls->ca_file, "/tmp/ca.pem");
  EXPECT_EQ(s->tls->cert_file, "/tmp/c.pem");
  EXPECT_EQ(s->tls->key_file, "/tmp/c.key");
  EXPECT_EQ(s->tls->server_name, "broker.local");
  EXPECT_TRUE(s->tls->verify_peer);
  auto c = client_options_from(parse("mqtts://h:16884/?verify=false"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 16884);
  ASSERT_TRUE(c->tls);
  EXPECT_FALSE(c->tls->verify_peer);
  // A TLS parameter on mqtt:// turns TLS on too; none leaves it off.
  auto t = client_options_from(parse("mqtt://h/?ca=/tmp/ca.pem"));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tls);
  EXPECT_EQ(t->port, 1883);
  EXPECT_FALSE(client_options_from(parse("mqtt://h/"))->tls);
}

TEST(mqtt_from_url, bad_values_are_refused) {
  for (const char* bad :
       {"redis://h", "mqtt://a:1,b:2", "mqtt://h/?protocolVersion=3", "mqtt://h/?protocolVersion=x",
        "mqtt://h/?qos=3", "mqtt://h/?clean=maybe", "mqtt://h/?keepalive=-1",
        "mqtt://h/?reconnectPeriod=soon", "mqtt://h/path", "mqtts://h/?cert=/tmp/c.pem",
        "mqtts://h/?key=/tmp/c.key", "mqtts://h/?verify=no"}) {
    auto s = server_options_from(parse(bad));
    EXPECT_FALSE(s) << bad;
    if (!s) {
      EXPECT_EQ(s.error(), make_error_code(error::invalid_argument)) << bad;
    }
    EXPECT_FALSE(client_options_from(parse(bad))) << bad;
  }
}

TEST(mqtt_topic, wildcards_as_nestjs_matches_them) {
  using detail::topic_matches;
  EXPECT_TRUE(topic_matches("sum", "sum"));
  EXPECT_FALSE(topic_matches("sum", "sum/reply"));
  EXPECT_TRUE(topic_matches("sensors/+/temp", "sensors/7/temp"));
  EXPECT_FALSE(topic_matches("sensors/+/temp", "sensors/7/humidity"));
  EXPECT_FALSE(topic_matches("sensors/+/temp", "sensors/7/temp/x"));
  EXPECT_FALSE(topic_matches("sensors/+", "sensors"));
  EXPECT_FALSE(topic_matches("sensors/+", "sensors/"));  // NestJS: `+` takes no empty level
  EXPECT_TRUE(topic_matches("a//b", "a//b"));
  EXPECT_TRUE(topic_matches("sensors/#", "sensors/1/2/3"));
  EXPECT_TRUE(topic_matches("sensors/#", "sensors"));  // `#` covers the parent level too
  EXPECT_TRUE(topic_matches("#", "a/b"));
  EXPECT_FALSE(topic_matches("a/#/b", "a/x/b"));  // `#` only as the last level
  EXPECT_TRUE(topic_matches("+/+", "a/b"));
  EXPECT_FALSE(topic_matches("+/+", "a"));
}

TEST(mqtt_topic, shared_subscription_prefix) {
  using detail::is_filter;
  using detail::without_share_prefix;
  EXPECT_EQ(without_share_prefix("$share/workers/jobs/+"), "jobs/+");
  EXPECT_EQ(without_share_prefix("$share/workers/sum"), "sum");
  EXPECT_EQ(without_share_prefix("$share/nogroup"), "$share/nogroup");
  EXPECT_EQ(without_share_prefix("sum"), "sum");
  EXPECT_TRUE(is_filter("$share/g/sum"));
  EXPECT_TRUE(is_filter("a/+/b"));
  EXPECT_TRUE(is_filter("a/#"));
  EXPECT_FALSE(is_filter("sum"));
  EXPECT_FALSE(is_filter("{\"cmd\":\"sum\"}"));
}

}  // namespace
}  // namespace roost::mqtt
