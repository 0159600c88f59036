#pragma once
/// \file Options of the Kafka transport (NestJS `Transport.KAFKA`), with NestJS's defaults.

#include <roost/acknowledgement.hpp>
#include <roost/headers.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost::kafka {

/// What both sides share: the brokers, the ids and the consumer's timing (NestJS's `client`,
/// `consumer` and `postfixId` options).
struct connection_options {
  /// `host:port` of the bootstrap brokers (`client.brokers`).
  std::vector<std::string> brokers{"localhost:9092"};
  /// `client.clientId`; the client id is this plus `postfix_id`.
  std::string client_id = "nestjs-consumer";
  /// `consumer.groupId`; the consumer group is this plus `postfix_id`.
  std::string group_id = "nestjs-group";
  /// `postfixId`: NestJS's `-server` for a server and `-client` for a client.
  std::string postfix_id;
  /// `consumer.sessionTimeout` and `consumer.heartbeatInterval`.
  std::chrono::milliseconds session_timeout{30'000};
  std::chrono::milliseconds heartbeat_interval{3'000};
  /// `consumer.maxWaitTimeInMs`: how long the broker may hold a fetch that has no records
  /// (librdkafka's `fetch.wait.max.ms`).
  std::chrono::milliseconds max_wait_time{500};
  /// Gives up connecting (the first metadata, a group's first assignment) after this long
  /// (`connectTimeout`).
  std::chrono::milliseconds connect_timeout{30'000};
  /// NestJS's `parser.keepBinary`: a record's value (a request's or event's data, a reply) is
  /// given as its bytes, Node's JSON of a Buffer (`{"type":"Buffer","data":[...]}`), instead of
  /// being read as text or JSON. Keys and headers are read as always.
  bool keep_binary = false;
  /// librdkafka settings passed as they are (`rdkafka.NAME=VALUE` in a URL): SSL and SASL
  /// (`security.protocol`, `ssl.ca.location`, `sasl.mechanisms`, ...), or anything else. They
  /// are applied last, over what the options above set.
  std::vector<std::pair<std::string, std::string>> rdkafka;
  roost::logger log;
};

struct server_options : connection_options {
  server_options() { postfix_id = "-server"; }
  /// `subscribe.fromBeginning`: a partition the group has no committed offset for is read
  /// from its first record; otherwise from its end (records sent before the group's first
  /// assignment are not read).
  bool from_beginning = false;
  /// How events are settled: an offset is committed once the handler of its record (and of
  /// those before it in the partition) returned. `on_failure`: `redeliver` (the default) reads
  /// the record again, up to `max_redeliveries` times, then gives it up as poison; `drop`
  /// commits past it at once; `dead_letter` gives it up as poison at once. A record given up
  /// goes to `dead_letter_topic` when there is one, else is committed past with an error
  /// logged. A `kafka::retriable_exception` reads the record again whatever the outcome (a
  /// request too, unanswered), within the same `max_redeliveries`.
  ack_policy ack;
  std::uint32_t max_redeliveries = 3;
  /// Where poison records go (`deadLetterTopic`): the record as it came (key, value, headers)
  /// with `kafka_dlt-*` headers saying where it was and why it failed. Empty: none.
  std::string dead_letter_topic;
  /// `run.partitionsConsumedConcurrently`: how many partitions have a record served at once.
  /// Records of one partition are served one after the other, in order, whatever this is.
  std::size_t partitions_concurrently = 1;
  /// `run.autoCommitInterval`: how often settled offsets are committed to the group.
  std::chrono::milliseconds auto_commit_interval{5'000};
  roost::limits serving;
};

struct client_options : connection_options {
  client_options() { postfix_id = "-client"; }
  /// The patterns whose reply topics (`<route>.reply`) are read from the start
  /// (`subscribeToResponseOf`), in the client group: each client of the group its own
  /// partitions. Another pattern's reply topic is added at its first call (partition 0, shared).
  std::vector<std::string> reply_patterns;
  /// `producerOnlyMode`: no reply consumer; only events can be sent.
  bool producer_only = false;
};

/// One message's own record fields, NestJS's `{key, value, headers, partition}` Kafka message:
/// given as `call_options::record` to a call or an emit (`o.record = kafka::record{...}`).
struct record {
  std::optional<std::string> key;
  std::optional<std::int32_t> partition;
  /// Record headers, over the call's headers of the same names.
  roost::headers headers;
};

}  // namespace roost::kafka
