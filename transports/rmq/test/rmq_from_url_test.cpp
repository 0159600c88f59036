#include <roost/rmq/from_url.hpp>

#include <roost/errors.hpp>

#include <gtest/gtest.h>

namespace roost::rmq {
namespace {

url parse(std::string_view text) {
  auto u = url::parse(text);
  EXPECT_TRUE(u) << text;
  return *u;
}

TEST(rmq_from_url, nestjs_defaults) {
  auto s = server_options_from(parse("amqp://h"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "h");
  EXPECT_EQ(s->port, 5672);
  EXPECT_EQ(s->user, "guest");
  EXPECT_EQ(s->password, "guest");
  EXPECT_EQ(s->vhost, "/");
  EXPECT_EQ(s->queue, "");
  EXPECT_TRUE(s->durable);  // amqplib's default for a queueOptions without it
  EXPECT_FALSE(s->exclusive);
  EXPECT_FALSE(s->auto_delete);
  EXPECT_FALSE(s->no_assert);
  EXPECT_TRUE(s->no_ack);  // NestJS's code, whatever its documentation says
  EXPECT_EQ(s->prefetch_count, 0);
  EXPECT_FALSE(s->is_global_prefetch_count);
  EXPECT_EQ(s->exchange, "");
  EXPECT_EQ(s->exchange_type, "topic");
  EXPECT_EQ(s->routing_key, "");
  EXPECT_FALSE(s->wildcards);
  EXPECT_FALSE(s->tls);
  auto c = client_options_from(parse("amqp://h:1234/"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 1234);
  EXPECT_EQ(c->vhost, "/");
  EXPECT_FALSE(c->persistent);
  EXPECT_TRUE(c->headers.empty());
}

TEST(rmq_from_url, credentials_vhost_and_flattened_options) {
  auto s = server_options_from(
      parse("amqp://me:s%40cret@broker:5673/my%2Fvhost?queue=orders&durable=false&noAck=false"
            "&prefetchCount=50&isGlobalPrefetchCount=true&autoDelete=true&exclusive=1"
            "&noAssert=true&connectTimeout=250&reconnectTime=100"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "me");
  EXPECT_EQ(s->password, "s@cret");
  EXPECT_EQ(s->host, "broker");
  EXPECT_EQ(s->port, 5673);
  EXPECT_EQ(s->vhost, "my/vhost");
  EXPECT_EQ(s->queue, "orders");
  EXPECT_FALSE(s->durable);
  EXPECT_TRUE(s->exclusive);
  EXPECT_TRUE(s->auto_delete);
  EXPECT_TRUE(s->no_assert);
  EXPECT_FALSE(s->no_ack);
  EXPECT_EQ(s->prefetch_count, 50);
  EXPECT_TRUE(s->is_global_prefetch_count);
  EXPECT_EQ(s->connect_timeout.count(), 250);
  EXPECT_EQ(s->reconnect_time.count(), 100);
}

TEST(rmq_from_url, exchanges) {
  auto s = server_options_from(
      parse("amqp://h/?queue=q&exchange=events&exchangeType=fanout&routingKey=rk&wildcards=true"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->exchange, "events");
  EXPECT_EQ(s->exchange_type, "fanout");
  EXPECT_EQ(s->routing_key, "rk");
  EXPECT_TRUE(s->wildcards);
  auto c = client_options_from(parse("amqp://h/?queue=q&wildcards=1"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->wildcards);
  EXPECT_EQ(c->exchange, "");
  EXPECT_TRUE(c->exchange_arguments.empty());
}

TEST(rmq_from_url, exchange_arguments_on_both_sides) {
  const auto text =
      "amqp://h/?queue=q&exchange=e&exchangeType=x-delayed-message"
      "&exchangeArguments.x-delayed-type=topic&exchangeArguments.alternate-exchange=ae";
  for (const auto& o : {static_cast<connection_options>(*server_options_from(parse(text))),
                        static_cast<connection_options>(*client_options_from(parse(text)))}) {
    ASSERT_EQ(o.exchange_arguments.size(), 2u);
    EXPECT_EQ(o.exchange_arguments[0].first, "x-delayed-type");
    EXPECT_EQ(o.exchange_arguments[0].second, "topic");
    EXPECT_EQ(o.exchange_arguments[1].first, "alternate-exchange");
    EXPECT_EQ(o.exchange_arguments[1].second, "ae");
  }
}

TEST(rmq_from_url, queue_arguments_on_both_sides) {
  const auto text =
      "amqp://h/?queue=q&messageTtl=60000&expires=3600000&maxLength=100&maxPriority=10";
  for (const auto& o : {static_cast<connection_options>(*server_options_from(parse(text))),
                        static_cast<connection_options>(*client_options_from(parse(text)))}) {
    EXPECT_EQ(o.message_ttl, std::chrono::milliseconds(60000));
    EXPECT_EQ(o.expires, std::chrono::milliseconds(3600000));
    EXPECT_EQ(o.max_length, 100u);
    EXPECT_EQ(o.max_priority, 10);
  }
  auto none = server_options_from(parse("amqp://h/?queue=q"));
  EXPECT_FALSE(none->message_ttl || none->expires || none->max_length || none->max_priority);
  for (const auto* bad : {"maxPriority=256", "maxLength=-1", "messageTtl=soon", "expires=1.5"}) {
    EXPECT_EQ(server_options_from(parse(std::string("amqp://h/?queue=q&") + bad)).error(),
              make_error_code(error::invalid_argument))
        << bad;
  }
}

TEST(rmq_from_url, quorum_queues_overflow_and_other_queue_arguments) {
  // NestJS: queueOptions: {overflow: 'reject-publish', queueMode: 'lazy',
  //                        arguments: {'x-queue-type': 'quorum', 'x-delivery-limit': 5}}
  const auto text =
      "amqp://h/?queue=q&overflow=reject-publish&queueMode=lazy"
      "&arguments.x-queue-type=quorum&arguments.x-delivery-limit=5";
  for (const auto& o : {static_cast<connection_options>(*server_options_from(parse(text))),
                        static_cast<connection_options>(*client_options_from(parse(text)))}) {
    EXPECT_EQ(o.overflow, "reject-publish");
    EXPECT_EQ(o.queue_mode, "lazy");
    using arguments = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(o.queue_arguments,
              (arguments{{"x-queue-type", "quorum"}, {"x-delivery-limit", "5"}}));
    EXPECT_TRUE(o.exchange_arguments.empty());
  }
  auto none = server_options_from(parse("amqp://h/?queue=q"));
  EXPECT_TRUE(none->overflow.empty() && none->queue_mode.empty() && none->queue_arguments.empty());
}

TEST(rmq_from_url, a_client_reply_queue) {
  EXPECT_EQ(client_options_from(parse("amqp://h/?queue=q"))->reply_queue, "amq.rabbitmq.reply-to");
  EXPECT_EQ(client_options_from(parse("amqp://h/?queue=q&replyQueue=replies-1"))->reply_queue,
            "replies-1");
  EXPECT_EQ(client_options_from(parse("amqp://h/?queue=q&replyQueue=")).error(),
            make_error_code(error::invalid_argument));
}

TEST(rmq_from_url, several_queues_for_a_server_one_for_a_client) {
  auto s = server_options_from(parse("amqp://h/?queue=orders&queue=billing&queue=audit"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->queue, "orders");
  EXPECT_EQ(s->more_queues, (std::vector<std::string>{"billing", "audit"}));
  EXPECT_TRUE(server_options_from(parse("amqp://h/?queue=orders"))->more_queues.empty());
  EXPECT_EQ(server_options_from(parse("amqp://h/?queue=orders&queue=")).error(),
            make_error_code(error::invalid_argument));
  // A client sends to one queue: two is a mistake, said as such.
  EXPECT_EQ(client_options_from(parse("amqp://h/?queue=orders&queue=billing")).error(),
            make_error_code(error::invalid_argument));
}

TEST(rmq_from_url, a_client_takes_no_ack_and_keeps_direct_reply_to) {
  // NestJS's client option; replies still come by direct reply-to, consumed without acks.
  EXPECT_TRUE(client_options_from(parse("amqp://h/?queue=q&noAck=false")));
  EXPECT_TRUE(client_options_from(parse("amqp://h/?queue=q&noAck=true")));
  EXPECT_EQ(client_options_from(parse("amqp://h/?queue=q&noAck=maybe")).error(),
            make_error_code(error::invalid_argument));
}

TEST(rmq_from_url, client_headers_and_persistence) {
  auto c = client_options_from(
      parse("amqp://h/?queue=q&persistent=true&headers.x-app=a&headers.x-trace=t"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->persistent);
  ASSERT_EQ(c->headers.size(), 2u);
  EXPECT_EQ(c->headers[0], (std::pair<std::string, std::string>{"x-app", "a"}));
  EXPECT_EQ(c->headers[1], (std::pair<std::string, std::string>{"x-trace", "t"}));
}

TEST(rmq_from_url, failover_heartbeat_and_reconnect) {
  auto c = client_options_from(
      parse("amqp://me:pw@a:5673,b,[::1]:5674/v?queue=q&heartbeat=10&reconnectTime=250"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "a");
  EXPECT_EQ(c->port, 5673);
  ASSERT_EQ(c->failover.size(), 2u);
  EXPECT_EQ(c->failover[0].host, "b");
  EXPECT_EQ(c->failover[0].port, 5672);
  EXPECT_EQ(c->failover[1].host, "::1");
  EXPECT_EQ(c->failover[1].port, 5674);
  EXPECT_EQ(c->heartbeat.count(), 10);
  EXPECT_EQ(c->reconnect_time.count(), 250);
  auto s = server_options_from(parse("amqps://a,b/?heartbeat=0"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 5671);
  ASSERT_EQ(s->failover.size(), 1u);
  EXPECT_EQ(s->failover[0].port, 5671);  // the scheme's
  EXPECT_EQ(s->heartbeat.count(), 0);
  auto d = server_options_from(parse("amqp://h"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->heartbeat.count(), 5);  // NestJS's (amqp-connection-manager's) default
  EXPECT_TRUE(d->failover.empty());
}

TEST(rmq_from_url, failure_outcomes_and_dead_letters) {
  auto s = server_options_from(
      parse("amqp://h/?queue=q&noAck=false&onFailure=deadLetter&deadLetterExchange=dlx"
            "&deadLetterRoutingKey=dead"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ack.on_failure, failure_outcome::dead_letter);
  EXPECT_EQ(s->dead_letter_exchange, "dlx");
  EXPECT_EQ(s->dead_letter_routing_key, "dead");
  EXPECT_FALSE(s->max_retries);
  auto r = server_options_from(parse("amqp://h/?noAck=false&onFailure=requeue&maxRetries=3"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ack.on_failure, failure_outcome::redeliver);
  ASSERT_TRUE(r->max_retries);
  EXPECT_EQ(*r->max_retries, 3u);
  auto d = server_options_from(parse("amqp://h/?onFailure=drop"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->ack.on_failure, failure_outcome::drop);
  // The client asserts the queue with the same arguments.
  auto c = client_options_from(parse("amqp://h/?queue=q&deadLetterExchange=dlx"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dead_letter_exchange, "dlx");
  for (const char* bad :
       {"amqp://h/?onFailure=retry", "amqp://h/?maxRetries=-1", "amqp://h/?maxRetries=x"}) {
    EXPECT_FALSE(server_options_from(parse(bad))) << bad;
  }
}

TEST(rmq_from_url, tls) {
  auto s = server_options_from(
      parse("amqps://h/?queue=q&ca=/ca.pem&cert=/c.pem&key=/k.pem&servername=broker.local"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 5671);  // AMQP over TLS
  ASSERT_TRUE(s->tls);
  EXPECT_EQ(s->tls->ca_file, "/ca.pem");
  EXPECT_EQ(s->tls->cert_file, "/c.pem");
  EXPECT_EQ(s->tls->key_file, "/k.pem");
  EXPECT_EQ(s->tls->server_name, "broker.local");
  EXPECT_TRUE(s->tls->verify_peer);
  auto c = client_options_from(parse("amqps://h:16690/"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 16690);
  ASSERT_TRUE(c->tls);
  EXPECT_TRUE(c->tls->ca_file.empty());  // the system's CAs
  // A TLS parameter turns TLS on for amqp:// too, as for the other transports.
  auto plain = client_options_from(parse("amqp://h/?verify=false"));
  ASSERT_TRUE(plain);
  ASSERT_TRUE(plain->tls);
  EXPECT_FALSE(plain->tls->verify_peer);
  EXPECT_EQ(plain->port, 5672);
}

TEST(rmq_from_url, bad_values_are_refused) {
  for (const char* text :
       {"tcp://h:1", "amqp://h/?heartbeat=x", "amqp://h/a/b", "amqp://h/%2", "amqp://h/%zz",
        "amqp://h/?durable=maybe", "amqp://h/?noAck=yes", "amqp://h/?prefetchCount=-1",
        "amqp://h/?prefetchCount=65536", "amqp://h/?prefetchCount=x", "amqp://h/?connectTimeout=-5",
        "amqp://h/?persistent=2", "amqps://h/?cert=/c.pem", "amqp://h/?key=/k.pem",
        "amqp://h/?exchangeType=", "amqp://h/?wildcards=maybe", "amqp://h/?heartbeat=65536",
        "amqp://h/?reconnectTime=-1"}) {
    auto u = url::parse(text);
    ASSERT_TRUE(u) << text;
    const bool server_ok = static_cast<bool>(server_options_from(*u));
    const bool client_ok = static_cast<bool>(client_options_from(*u));
    EXPECT_FALSE(server_ok && client_ok) << text;
    if (std::string_view(text).find("persistent") == std::string_view::npos &&
        std::string_view(text).find("noAck") == std::string_view::npos &&
        std::string_view(text).find("prefetch") == std::string_view::npos) {
      EXPECT_FALSE(client_ok) << text;
    }
    if (std::string_view(text).find("persistent") == std::string_view::npos) {
      EXPECT_FALSE(server_ok) << text;
    }
  }
}

}  // namespace
}  // namespace roost::rmq
