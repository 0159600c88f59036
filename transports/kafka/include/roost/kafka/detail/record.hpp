#pragma once
/// \file The Kafka transport's record codec, sans-I/O: NestJS's rules for what a record's value
/// and headers mean (`KafkaParser`, `ServerKafka`, `ClientKafka`), with no librdkafka in sight.
/// The transport copies each record out of the library into a `record`; the fuzzer feeds them.

#include <roost/headers.hpp>
#include <roost/json.hpp>
#include <roost/packet.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roost::kafka::detail {

// The headers NestJS's Kafka transport reads and writes.
inline constexpr std::string_view correlation_id_header = "kafka_correlationId";
inline constexpr std::string_view reply_topic_header = "kafka_replyTopic";
inline constexpr std::string_view reply_partition_header = "kafka_replyPartition";
inline constexpr std::string_view error_header = "kafka_nest-err";
inline constexpr std::string_view disposed_header = "kafka_nest-is-disposed";

/// One record as it arrived (or is to be sent), the library's memory copied out.
struct record {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string> key;    ///< nullopt: a null key
  std::optional<std::string> value;  ///< nullopt: a null value (a tombstone)
  roost::headers headers;            ///< a null header value is empty
  std::int64_t timestamp = -1;       ///< milliseconds since the epoch; -1: none
};

/// True for a name Kafka takes as a topic's: 1 to 249 of `A-Z a-z 0-9 . _ -`, not `.` or `..`.
/// A route made of an object pattern (`{"cmd":"sum"}`) is not one.
bool valid_topic(std::string_view name) noexcept;

/// A value, key or header as NestJS's KafkaParser gives it to a handler: null stays null; bytes
/// starting with 0x00 (the schema registry's framing) stay binary, given as Node's JSON of a
/// Buffer (`{"type":"Buffer","data":[...]}`); other bytes are text (an invalid UTF-8 sequence
/// becomes U+FFFD, as Node decodes it), parsed as JSON when it starts with `{` or `[` and
/// parses (left as text otherwise). So scalars arrive as strings (`5` → `"5"`).
json::value parse_value(const std::optional<std::string>& bytes);

/// A value as NestJS's client and server write it: a string as it is, null as a null value,
/// objects and arrays as JSON, numbers and booleans as JavaScript's `String(v)`.
std::optional<std::string> encode_value(const json::value& v);

/// A request or an event from a record, as NestJS's ServerKafka reads it.
struct inbound_record {
  inbound_packet packet;  ///< pattern: the topic; data: the parsed value; id when a request
  std::string reply_topic;
  std::optional<std::int32_t> reply_partition;  ///< none: the partitioner chooses
};

/// A record is a request when it has both `kafka_correlationId` and `kafka_replyTopic`
/// (NestJS); an event otherwise. A `kafka_replyPartition` that is not a partition number is
/// left out (the reply goes to the partition the producer chooses). `keep_binary` (NestJS's
/// `parser.keepBinary`): a value is not decoded but given as its bytes, Node's JSON of a Buffer
/// (`{"type":"Buffer","data":[...]}`), whatever they are. Never fails.
inbound_record decode_inbound(const record& r, bool keep_binary = false);

/// The reply record of one reply packet to the request `correlation_id` (NestJS's
/// ServerKafka): value = the response (null for an error or an end), headers
/// `kafka_correlationId`, `kafka_nest-err` (a string as it is, other errors as JSON) and, on
/// the last packet, `kafka_nest-is-disposed` (one 0x00 byte). The no-handler reply is an error
/// without the disposed header, as NestJS's.
record encode_reply(const reply_packet& reply, std::string_view correlation_id);

/// A reply as a client decodes it (NestJS's KafkaResponseDeserializer): nullopt without a
/// `kafka_correlationId`. An error header gives `err` (JSON when it starts with `{` or `[`);
/// the disposed header ends it; a null value on the last packet is no value (an end), unlike
/// NestJS's client, which gives an extra `null` then. `keep_binary`: the value as its bytes, as
/// decode_inbound().
std::optional<inbound_reply> decode_reply(const record& r, bool keep_binary = false);

}  // namespace roost::kafka::detail
