#pragma once
/// \file roost::kafka::context, as NestJS's KafkaContext.

#include <roost/context.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace roost::kafka {

/// Where a record came from (NestJS's `getMessage()`, `getTopic()`, `getPartition()`).
struct message_info {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string> key;  ///< the record's key as bytes; nullopt: a null key
  std::int64_t timestamp = -1;     ///< milliseconds since the epoch; -1: none
};

/// What a handler knows about a record that came over Kafka. Its headers() are the record's
/// headers (values as their bytes), NestJS's `kafka_*` ones included.
class context final : public roost::context {
 public:
  /// `retriable`: what the transport does when a handler makes a `retriable_exception` for
  /// this record (given the exception's error).
  context(json::value pattern, roost::headers h, message_info m, acknowledgement ack = {},
          std::function<void(const json::value&)> retriable = {});

  const message_info& message() const noexcept { return message_; }
  const std::string& topic() const noexcept { return message_.topic; }
  std::int32_t partition() const noexcept { return message_.partition; }
  std::int64_t offset() const noexcept { return message_.offset; }
  const std::optional<std::string>& key() const noexcept { return message_.key; }
  std::int64_t timestamp() const noexcept { return message_.timestamp; }
  /// The first value of header `name`, or nullptr.
  const std::string* header(std::string_view name) const { return headers().get(name); }

 private:
  friend class retriable_exception;
  message_info message_;
  std::function<void(const json::value&)> retriable_;
};

}  // namespace roost::kafka
