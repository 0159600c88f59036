#include <roost/nats/from_url.hpp>

#include <roost/errors.hpp>

#include <gtest/gtest.h>

namespace roost::nats {
namespace {

url parse(std::string_view text) {
  auto u = url::parse(text);
  EXPECT_TRUE(u) << text;
  return *u;
}

TEST(nats_from_url, servers_credentials_and_queue) {
  auto o =
      server_options_from(parse("nats://me:s%40cret@a:4223,b,[::1]/"
                                "?queue=workers&name=svc&ioBufferSize=65536&eventLoop=true"));
  ASSERT_TRUE(o);
  const std::vector<std::string> servers{"nats://a:4223", "nats://b:4222", "nats://[::1]:4222"};
  EXPECT_EQ(o->servers, servers);
  EXPECT_EQ(o->user, "me");
  EXPECT_EQ(o->password, "s@cret");
  EXPECT_EQ(o->queue, "workers");
  EXPECT_EQ(o->name, "svc");
  EXPECT_EQ(o->io_buffer_size, 65536);
  EXPECT_EQ(o->event_loop, true);
  EXPECT_FALSE(o->tls);
}

TEST(nats_from_url, server_limits) {
  auto o = server_options_from(
      parse("nats://h:1/?maxMessageSize=65536&maxInFlightPerConnection=32&maxInFlight=128"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->serving.max_message_size, 65536u);
  EXPECT_EQ(o->serving.max_in_flight_per_connection, 32u);
  EXPECT_EQ(o->serving.max_in_flight, 128u);
  EXPECT_FALSE(server_options_from(parse("nats://h:1/?maxInFlight=x")));
}

TEST(nats_from_url, client_options) {
  auto o = client_options_from(
      parse("nats://h:1/?token=t0k&connectTimeout=250&maxReconnectAttempts=-1&reconnectTimeWait=50"
            "&inboxPrefix=_R.me&headers.x-trace=abc&creds=/c.creds"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->token, "t0k");
  EXPECT_EQ(o->connect_timeout.count(), 250);
  EXPECT_EQ(o->max_reconnect_attempts, -1);
  EXPECT_EQ(o->reconnect_time_wait.count(), 50);
  EXPECT_EQ(o->inbox_prefix, "_R.me");
  EXPECT_EQ(o->creds_file, "/c.creds");
  EXPECT_EQ(o->io_buffer_size, 8192);
  EXPECT_FALSE(o->event_loop);  // unset: the side's default
  ASSERT_EQ(o->headers.size(), 1u);
  EXPECT_EQ(o->headers[0].first, "x-trace");
  EXPECT_EQ(o->headers[0].second, "abc");
}

TEST(nats_from_url, tls) {
  auto a = client_options_from(parse("nats+tls://h:4222"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->tls);
  EXPECT_EQ(a->servers.front(), "tls://h:4222");
  EXPECT_TRUE(a->tls->verify_peer);
  auto b = client_options_from(parse("nats://h/?ca=/ca.pem&cert=/c.pem&key=/k.pem&verify=false"));
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->tls);
  EXPECT_EQ(b->tls->ca_file, "/ca.pem");
  EXPECT_FALSE(b->tls->verify_peer);
}

TEST(nats_from_url, jetstream_extension) {
  auto none = server_options_from(parse("nats://h"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->jetstream);
  auto o = server_options_from(
      parse("nats://h/?jetstream=EVENTS&durable=billing&ackWait=500&maxDeliver=5"));
  ASSERT_TRUE(o);
  ASSERT_TRUE(o->jetstream);
  EXPECT_EQ(o->jetstream->stream, "EVENTS");
  EXPECT_EQ(o->jetstream->durable, "billing");
  EXPECT_EQ(o->jetstream->ack_wait.count(), 500);
  EXPECT_EQ(o->jetstream->max_deliver, 5);
  for (const char* text :
       {"nats://h/?jetstream=", "nats://h/?jetstream=S&maxDeliver=0",
        "nats://h/?jetstream=S&ackWait=soon", "nats://h/?jetstream=S&durable="}) {
    EXPECT_FALSE(server_options_from(parse(text))) << text;
  }
}

TEST(nats_from_url, bad_values_are_refused) {
  for (const char* text :
       {"tcp://h:1", "nats://h/?connectTimeout=x", "nats://h/?reconnect=maybe",
        "nats://h/?maxReconnectAttempts=-2", "nats://h/?cert=/c.pem", "nats://h/?nkey=U1",
        "nats://h/?inboxPrefix=a.*", "nats://h/?ioBufferSize=-1", "nats://h/?ioBufferSize=big"}) {
    auto o = client_options_from(parse(text));
    EXPECT_FALSE(o) << text;
    if (!o) {
      EXPECT_EQ(o.error(), make_error_code(error::invalid_argument)) << text;
    }
  }
}

}  // namespace
}  // namespace roost::nats
