// The Kafka transport without a broker: its URL options, NestJS's record rules (the codec) and
// the offsets a server may commit.

#include "offsets.hpp"
#include "partition_queues.hpp"
#include "reply_partitions.hpp"

#include <roost/kafka/detail/record.hpp>
#include <roost/kafka/from_url.hpp>

#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <gtest/gtest.h>

namespace roost::kafka {
namespace {

url parse(std::string_view text) {
  auto u = url::parse(text);
  EXPECT_TRUE(u) << text;
  return *u;
}

TEST(kafka_from_url, nestjs_defaults_and_postfix_ids) {
  auto s = server_options_from(parse("kafka://b1:9093,b2"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->brokers, (std::vector<std::string>{"b1:9093", "b2:9092"}));
  EXPECT_EQ(s->client_id + s->postfix_id, "nestjs-consumer-server");
  EXPECT_EQ(s->group_id + s->postfix_id, "nestjs-group-server");
  EXPECT_FALSE(s->from_beginning);
  EXPECT_EQ(s->session_timeout.count(), 30'000);
  EXPECT_EQ(s->heartbeat_interval.count(), 3'000);
  EXPECT_TRUE(s->dead_letter_topic.empty());
  EXPECT_FALSE(s->keep_binary);
  EXPECT_EQ(s->partitions_concurrently, 1u);  // kafkajs's default
  auto c = client_options_from(parse("kafka://b1:9092/"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->client_id + c->postfix_id, "nestjs-consumer-client");
  EXPECT_EQ(c->group_id + c->postfix_id, "nestjs-group-client");
  EXPECT_FALSE(c->producer_only);
  EXPECT_TRUE(c->reply_patterns.empty());
}

TEST(kafka_from_url, options_by_nestjs_names) {
  auto s = server_options_from(
      parse("kafka://127.0.0.1:16092/?clientId=orders&groupId=g&postfixId=&sessionTimeout=6000"
            "&heartbeatInterval=1000&maxWaitTimeInMs=100&fromBeginning=true"
            "&autoCommitInterval=100&maxRedeliveries=1&maxInFlight=8"
            "&deadLetterTopic=orders.dead&partitionsConsumedConcurrently=4&keepBinary=true"
            "&rdkafka.security.protocol=ssl&rdkafka.ssl.ca.location=/ca.pem"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->client_id + s->postfix_id, "orders");
  EXPECT_EQ(s->group_id, "g");
  EXPECT_EQ(s->session_timeout.count(), 6000);
  EXPECT_EQ(s->heartbeat_interval.count(), 1000);
  EXPECT_EQ(s->max_wait_time.count(), 100);
  EXPECT_TRUE(s->from_beginning);
  EXPECT_EQ(s->auto_commit_interval.count(), 100);
  EXPECT_EQ(s->max_redeliveries, 1u);
  EXPECT_EQ(s->dead_letter_topic, "orders.dead");
  EXPECT_EQ(s->partitions_concurrently, 4u);
  EXPECT_TRUE(s->keep_binary);
  EXPECT_EQ(s->serving.max_in_flight, 8u);
  using kv = std::pair<std::string, std::string>;
  EXPECT_EQ(s->rdkafka,
            (std::vector<kv>{{"security.protocol", "ssl"}, {"ssl.ca.location", "/ca.pem"}}));
  auto c = client_options_from(
      parse("kafka://h:1/?subscribeToResponseOf=sum,math.add&producerOnlyMode=true"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reply_patterns, (std::vector<std::string>{"sum", "math.add"}));
  EXPECT_TRUE(c->producer_only);
}

TEST(kafka_from_url, bad_values_are_refused) {
  for (const char* bad :
       {"redis://h:1", "kafka://user@h:1", "kafka://h:1/path",
        "kafka://h/?clientId=", "kafka://h/?sessionTimeout=soon", "kafka://h/?fromBeginning=maybe",
        "kafka://h/?connectTimeout=0", "kafka://h/?rdkafka.=x", "kafka://h/?maxRedeliveries=-1",
        "kafka://h/?ca=/ca.pem", "kafka://h/?deadLetterTopic=", "kafka://h/?deadLetterTopic=a%20b",
        "kafka://h/?partitionsConsumedConcurrently=0",
        "kafka://h/?partitionsConsumedConcurrently=many", "kafka://h/?keepBinary=yes"}) {
    EXPECT_FALSE(server_options_from(parse(bad))) << bad;
  }
  EXPECT_FALSE(client_options_from(parse("kafka://h/?subscribeToResponseOf=a,,b")));
  EXPECT_FALSE(client_options_from(parse("kafka://h/?producerOnlyMode=2")));
}

namespace d = detail;

std::string js(const json::value& v) {
  return roost::detail::to_json(v);
}

TEST(kafka_record, values_parse_as_nestjs_kafka_parser) {
  EXPECT_EQ(js(d::parse_value(std::nullopt)), "null");
  EXPECT_EQ(js(d::parse_value(std::string("5"))), R"("5")");  // scalars stay strings
  EXPECT_EQ(js(d::parse_value(std::string("true"))), R"("true")");
  EXPECT_EQ(js(d::parse_value(std::string(R"("quoted")"))), R"("\"quoted\"")");
  EXPECT_EQ(js(d::parse_value(std::string("[1,2]"))), "[1,2]");
  EXPECT_EQ(js(d::parse_value(std::string(R"({"a":{"b":null}})"))), R"({"a":{"b":null}})");
  EXPECT_EQ(js(d::parse_value(std::string("{not json"))), R"("{not json")");
  EXPECT_EQ(js(d::parse_value(std::string(""))), R"("")");
  // A leading 0x00 keeps the bytes, as Node's JSON of a Buffer.
  EXPECT_EQ(js(d::parse_value(std::string("\0\x01\xff", 3))),
            R"({"type":"Buffer","data":[0,1,255]})");
  // Invalid UTF-8: each bad byte becomes U+FFFD, valid text around it stays.
  EXPECT_EQ(js(d::parse_value(std::string("a\xff"
                                          "b\xc3\xa9\xe2\x82"))),
            "\"a\xEF\xBF\xBD"
            "b\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(kafka_record, values_encode_as_nestjs_writes_them) {
  EXPECT_EQ(d::encode_value(nullptr), std::nullopt);
  EXPECT_EQ(d::encode_value("text"), "text");
  EXPECT_EQ(d::encode_value(6), "6");
  EXPECT_EQ(d::encode_value(0.75), "0.75");
  EXPECT_EQ(d::encode_value(-1.5e-7), "-1.5e-7");
  EXPECT_EQ(d::encode_value(false), "false");
  EXPECT_EQ(d::encode_value(json::array{1, "x"}), R"([1,"x"])");
  EXPECT_EQ(d::encode_value(json::object{{"a", 1}}), R"({"a":1})");
}

TEST(kafka_record, requests_need_both_correlation_id_and_reply_topic) {
  d::record r;
  r.topic = "sum";
  r.value = "[1,2]";
  r.headers.add("kafka_correlationId", "99dc541368f024b7970fc");
  r.headers.add("kafka_replyTopic", "sum.reply");
  r.headers.add("kafka_replyPartition", "2");
  auto in = d::decode_inbound(r);
  EXPECT_EQ(js(in.packet.pattern), R"("sum")");
  EXPECT_EQ(js(in.packet.data), "[1,2]");
  ASSERT_TRUE(in.packet.id);
  EXPECT_EQ(js(*in.packet.id), R"("99dc541368f024b7970fc")");
  EXPECT_EQ(in.reply_topic, "sum.reply");
  EXPECT_EQ(in.reply_partition, 2);
  // An id that is not UTF-8 reads as Node's toString gives it (the packet's id is JSON text).
  r.headers.set("kafka_correlationId", "id\xB5");
  EXPECT_EQ(js(*d::decode_inbound(r).packet.id), "\"id\xEF\xBF\xBD\"");

  r.headers.set("kafka_replyPartition", "two");  // not a partition: the producer chooses
  EXPECT_EQ(d::decode_inbound(r).reply_partition, std::nullopt);
  r.headers.erase("kafka_replyTopic");  // an event, as NestJS decides
  EXPECT_FALSE(d::decode_inbound(r).packet.id);
  d::record event;
  event.topic = "user.created";
  EXPECT_FALSE(d::decode_inbound(event).packet.id);
  EXPECT_EQ(js(d::decode_inbound(event).packet.data), "null");
}

TEST(kafka_record, replies_encode_as_nestjs_server_kafka) {
  auto value = d::encode_reply(reply_packet::value(3, true), "cid");
  EXPECT_EQ(value.value, "3");
  EXPECT_EQ(value.headers, (roost::headers{{"kafka_correlationId", "cid"},
                                           {"kafka_nest-is-disposed", std::string(1, '\0')}}));
  auto middle = d::encode_reply(reply_packet::value(json::string("x"), false), "cid");
  EXPECT_EQ(middle.value, "x");
  EXPECT_EQ(middle.headers, (roost::headers{{"kafka_correlationId", "cid"}}));
  auto err = d::encode_reply(
      reply_packet::error(json::object{{"status", "error"}, {"message", "bad thing"}}), "cid");
  EXPECT_EQ(err.value, std::nullopt);
  EXPECT_EQ(*err.headers.get("kafka_nest-err"), R"({"status":"error","message":"bad thing"})");
  EXPECT_TRUE(err.headers.contains("kafka_nest-is-disposed"));
  EXPECT_EQ(*d::encode_reply(reply_packet::error("plain"), "cid").headers.get("kafka_nest-err"),
            "plain");
  auto none = d::encode_reply(reply_packet::no_handler(), "cid");
  EXPECT_EQ(*none.headers.get("kafka_nest-err"), no_handler_message);
  EXPECT_FALSE(none.headers.contains("kafka_nest-is-disposed"));
  auto end = d::encode_reply(reply_packet::end(), "cid");
  EXPECT_EQ(end.value, std::nullopt);
  EXPECT_TRUE(end.headers.contains("kafka_nest-is-disposed"));
}

TEST(kafka_record, replies_decode_as_nestjs_client_kafka) {
  d::record r;
  EXPECT_FALSE(d::decode_reply(r));  // no correlation id: no reply
  r.headers.add("kafka_correlationId", "cid");
  r.value = "6";
  auto middle = d::decode_reply(r);
  ASSERT_TRUE(middle);
  EXPECT_EQ(js(middle->id), R"("cid")");
  EXPECT_EQ(js(*middle->response), R"("6")");
  EXPECT_FALSE(middle->disposed);
  r.headers.add("kafka_nest-is-disposed", std::string(1, '\0'));
  EXPECT_TRUE(d::decode_reply(r)->disposed);
  r.value.reset();  // an end alone: no value
  EXPECT_FALSE(d::decode_reply(r)->response);
  r.headers.add("kafka_nest-err", R"({"code":7})");
  auto err = d::decode_reply(r);
  EXPECT_EQ(js(*err->err), R"({"code":7})");
  EXPECT_TRUE(err->disposed);
}

TEST(kafka_record, keep_binary_gives_values_as_their_bytes) {
  d::record r;
  r.topic = "blob";
  r.value = std::string("[1", 2);
  r.key = "k";
  r.headers.add("kafka_correlationId", "c1");
  r.headers.add("kafka_replyTopic", "blob.reply");
  auto in = d::decode_inbound(r, true);
  EXPECT_EQ(js(in.packet.data), R"({"type":"Buffer","data":[91,49]})");  // not read as JSON
  EXPECT_EQ(js(*in.packet.id), R"("c1")");                               // headers as always
  EXPECT_EQ(js(d::decode_inbound(r).packet.data), R"("[1")");
  r.value.reset();
  EXPECT_EQ(js(d::decode_inbound(r, true).packet.data), "null");

  d::record reply;
  reply.headers.add("kafka_correlationId", "c1");
  reply.value = "6";
  EXPECT_EQ(js(*d::decode_reply(reply, true)->response), R"({"type":"Buffer","data":[54]})");
  EXPECT_EQ(js(*d::decode_reply(reply)->response), R"("6")");
}

TEST(kafka_record, topic_names) {
  EXPECT_TRUE(d::valid_topic("sum"));
  EXPECT_TRUE(d::valid_topic("math.sum_v-2.reply"));
  EXPECT_FALSE(d::valid_topic(""));
  EXPECT_FALSE(d::valid_topic(".."));
  EXPECT_FALSE(d::valid_topic(R"({"cmd":"sum"})"));
  EXPECT_FALSE(d::valid_topic(std::string(250, 'a')));
}

TEST(kafka_offsets, commit_point_waits_for_the_earliest_unsettled_record) {
  d::offset_tracker t;
  EXPECT_EQ(t.received("a", 0, 10), 1u);
  EXPECT_EQ(t.received("a", 0, 11), 1u);
  EXPECT_EQ(t.received("a", 0, 12), 1u);
  EXPECT_EQ(t.settled("a", 0, 11), std::nullopt);  // 10 still runs
  EXPECT_EQ(t.settled("a", 0, 10), 12);            // 10 and 11 done: next to read is 12
  EXPECT_EQ(t.settled("a", 0, 12), 13);
  EXPECT_EQ(t.tracked(), 0u);
  EXPECT_EQ(t.settled("a", 0, 12), std::nullopt);  // settled twice: nothing moves
  EXPECT_EQ(t.settled("b", 3, 1), std::nullopt);   // never tracked
}

TEST(kafka_offsets, partitions_apart_and_records_read_again) {
  d::offset_tracker t;
  t.received("a", 0, 5);
  t.received("a", 1, 7);
  EXPECT_EQ(t.settled("a", 1, 7), 8);
  // 5 failed and is read again (a seek): its arrivals count, and it is unsettled again.
  EXPECT_EQ(t.received("a", 0, 5), 2u);
  t.received("a", 0, 6);
  EXPECT_EQ(t.settled("a", 0, 6), std::nullopt);
  EXPECT_EQ(t.settled("a", 0, 5), 7);
  t.received("a", 0, 9);
  t.forget("a", 0);  // taken away: its commit point is its next owner's
  EXPECT_EQ(t.settled("a", 0, 9), std::nullopt);
  EXPECT_EQ(t.tracked(), 0u);
}

using held = std::vector<d::reply_partitions::held_partition>;
held held_of(std::string topic, std::vector<std::int32_t> partitions) {
  held out;
  for (auto p : partitions) out.emplace_back(topic, p);
  return out;
}

d::record rec(std::string topic, std::int32_t partition, std::int64_t offset) {
  d::record r;
  r.topic = std::move(topic);
  r.partition = partition;
  r.offset = offset;
  return r;
}

std::string took(std::optional<d::record> r) {
  if (!r) return "none";
  return r->topic + "/" + std::to_string(r->partition) + "@" + std::to_string(r->offset);
}

TEST(kafka_partition_queues, one_record_per_partition_in_order_within_the_limit) {
  d::partition_queues q(2);
  for (std::int64_t o = 0; o < 2; ++o) {
    q.push(rec("a", 0, o));
    q.push(rec("a", 1, o));
    q.push(rec("b", 0, o));
  }
  EXPECT_EQ(took(q.next()), "a/0@0");
  EXPECT_EQ(took(q.next()), "a/1@0");
  EXPECT_EQ(took(q.next()), "none");  // two partitions busy: the limit
  EXPECT_EQ(q.busy(), 2u);
  q.done({"a", 1});  // a partition's next record waits for its turn behind b/0
  EXPECT_EQ(took(q.next()), "b/0@0");
  EXPECT_EQ(took(q.next()), "none");
  q.done({"a", 0});
  EXPECT_EQ(took(q.next()), "a/1@1");
  q.done({"b", 0});
  EXPECT_EQ(took(q.next()), "a/0@1");
  EXPECT_EQ(took(q.next()), "none");
  q.done({"a", 1});
  EXPECT_EQ(took(q.next()), "b/0@1");
  q.done({"a", 0});
  q.done({"b", 0});
  EXPECT_EQ(took(q.next()), "none");
  EXPECT_EQ(q.waiting(), 0u);
  EXPECT_EQ(q.busy(), 0u);
  q.done({"b", 0});  // given back twice: nothing
  EXPECT_EQ(q.busy(), 0u);
}

TEST(kafka_partition_queues, a_rewound_partition_waits_for_the_record_read_again) {
  d::partition_queues q(1);
  for (std::int64_t o = 5; o < 8; ++o) q.push(rec("t", 0, o));
  q.push(rec("t", 1, 0));
  EXPECT_EQ(took(q.next()), "t/0@5");
  q.rewind({"t", 0}, 5);  // 5 failed: 6 and 7 come again after it
  q.done({"t", 0});
  EXPECT_EQ(q.waiting(), 1u);
  EXPECT_FALSE(q.push(rec("t", 0, 8)));  // read before the seek took effect
  EXPECT_EQ(took(q.next()), "t/1@0");
  q.done({"t", 1});
  EXPECT_TRUE(q.push(rec("t", 0, 5)));
  EXPECT_TRUE(q.push(rec("t", 0, 6)));
  EXPECT_EQ(took(q.next()), "t/0@5");
  q.done({"t", 0});
  EXPECT_EQ(took(q.next()), "t/0@6");
  q.clear();  // a rebalance: what waits goes, the record being served finishes
  EXPECT_TRUE(q.push(rec("t", 1, 1)));
  EXPECT_EQ(took(q.next()), "none");
  q.done({"t", 0});
  EXPECT_EQ(took(q.next()), "t/1@1");
}

TEST(kafka_reply_partitions, requests_name_the_lowest_held_partition) {
  d::reply_partitions r;
  EXPECT_EQ(r.wait_on_lowest("1", "a.reply"), std::nullopt);  // before the first assignment
  EXPECT_EQ(r.waiting_count(), 0u);
  held h = held_of("a.reply", {3, 1});
  h.emplace_back("b.reply", 2);
  EXPECT_TRUE(r.assigned(h).empty());
  EXPECT_EQ(r.lowest("a.reply"), 1);
  EXPECT_EQ(r.wait_on_lowest("1", "a.reply"), 1);
  EXPECT_EQ(r.wait_on_lowest("2", "b.reply"), 2);
  EXPECT_EQ(r.lowest("c.reply"), std::nullopt);
  EXPECT_EQ(r.waiting_count(), 2u);
  r.ended("1");
  r.ended("1");  // twice: nothing more
  EXPECT_EQ(r.waiting_count(), 1u);
}

TEST(kafka_reply_partitions, requests_whose_partition_moved_are_given_back_once) {
  d::reply_partitions r;
  r.assigned(held_of("a.reply", {0, 1, 2, 3}));
  EXPECT_EQ(r.wait_on_lowest("on0", "a.reply"), 0);
  // A rebalance: first all is taken away (nothing judged yet, and calls wait)...
  EXPECT_TRUE(r.assigned({}).empty());
  EXPECT_EQ(r.lowest("a.reply"), std::nullopt);
  // ...then partition 0 went to another client: its request is given back, once.
  const auto moved = r.assigned(held_of("a.reply", {2, 3}));
  EXPECT_EQ(moved, (std::vector<std::string>{"on0"}));
  EXPECT_EQ(r.waiting_count(), 0u);
  EXPECT_EQ(r.wait_on_lowest("on2", "a.reply"), 2);
  // Kept across a rebalance: the request still waits there.
  EXPECT_TRUE(r.assigned(held_of("a.reply", {2})).empty());
  EXPECT_EQ(r.waiting_count(), 1u);
  EXPECT_TRUE(r.assigned(held_of("a.reply", {2, 3})).empty());
}

}  // namespace
}  // namespace roost::kafka
