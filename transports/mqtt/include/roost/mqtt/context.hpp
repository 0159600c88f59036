#pragma once
/// \file roost::mqtt::context, as NestJS's MqttContext.

#include <roost/context.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace roost::mqtt {

/// The MQTT side of a delivered message (what NestJS's `getPacket()` gives).
struct packet_info {
  int qos = 0;
  bool retain = false;
  int mid = 0;  ///< the packet identifier (0 for QoS 0)
  /// MQTT 5 properties (none over 3.1.1); the user properties are the context's headers().
  std::string content_type;
  std::string response_topic;
  std::string correlation_data;
  std::optional<std::uint32_t> message_expiry_interval;
  std::optional<std::uint8_t> payload_format_indicator;
};

/// What a handler knows about a message that came over MQTT. Its headers() are the message's
/// MQTT 5 user properties, in their order; over MQTT 3.1.1, which has none, the NestJS 12
/// `metadata` of the body when sent.
class context final : public roost::context {
 public:
  context(json::value pattern, std::optional<json::object> metadata, roost::headers h,
          std::string topic, packet_info p);

  /// The concrete topic the message was published to (NestJS's `getTopic()`); a wildcard
  /// handler's reply goes to this topic + `/reply`.
  const std::string& topic() const noexcept { return topic_; }
  const packet_info& packet() const noexcept { return packet_; }
  int qos() const noexcept { return packet_.qos; }
  bool retain() const noexcept { return packet_.retain; }
  /// The first user property named `key`, or nullptr.
  const std::string* header(std::string_view key) const { return headers().get(key); }

 private:
  std::string topic_;
  packet_info packet_;
};

}  // namespace roost::mqtt
