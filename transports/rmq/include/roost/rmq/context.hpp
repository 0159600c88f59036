#pragma once
/// \file roost::rmq::context, as NestJS's RmqContext.

#include <roost/context.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace roost::rmq {

/// The AMQP side of a delivered message (what NestJS's `getMessage()` gives as `fields` and
/// `properties`; the headers are the context's headers()).
struct message_info {
  std::string queue;        ///< the queue it was consumed from
  std::string exchange;     ///< empty: the default exchange (sent straight to the queue)
  std::string routing_key;  ///< the queue's name for a message sent to the queue
  std::uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::string reply_to;        ///< a request's reply address (`amq.rabbitmq.reply-to...`)
  std::string correlation_id;  ///< a request's id, which its replies carry
  std::string message_id;
  std::string content_type;
  std::uint8_t delivery_mode = 0;  ///< 2: persistent, 1: transient, 0: not given
  std::uint8_t priority = 0;       ///< 0 when not given
  std::string expiration;          ///< in milliseconds, as sent; empty: none
};

/// What a handler knows about a message that came over RabbitMQ. Its headers() are the
/// message's AMQP headers (string values as they are, numbers and booleans as text);
/// metadata() gives them as an object. A NestJS 12 `metadata` in the body is not read (NestJS's
/// RMQ server reads none either).
///
/// With `noAck` false a handler may settle its message itself, as a NestJS handler does with
/// `channel.ack(message)` / `channel.nack(message, false, requeue)`: `ack()`, `nack(true)`
/// (back to the queue, `maxRetries` counting it as a retry when set), `nack(false)` (rejected:
/// to the queue's dead-letter exchange, else discarded by the broker). What it leaves is
/// settled by the server's acknowledgement policy once it returns.
class context final : public roost::context {
 public:
  /// `ack`: with `noAck` false, how the message is settled (roost/acknowledgement.hpp);
  /// `refusal`: why it can no longer be (its connection is gone), or empty when it can.
  context(json::value pattern, std::optional<json::object> metadata, roost::headers h,
          message_info m, acknowledgement ack = {}, std::function<std::string()> refusal = {});

  /// The message's delivery fields and properties (NestJS's `getMessage()`).
  const message_info& message() const noexcept { return message_; }
  /// The first value of header `key`, or nullptr.
  const std::string* header(std::string_view key) const { return headers().get(key); }

 protected:
  std::string settle_refusal() const override { return refusal_ ? refusal_() : std::string(); }
  /// nack(false) is basic.reject without requeue: RabbitMQ dead-letters it when the queue has a
  /// dead-letter exchange and discards it otherwise, whatever the server's `onFailure`.
  settlement rejection() const noexcept override { return settlement::dead_letter; }

 private:
  message_info message_;
  std::function<std::string()> refusal_;
};

}  // namespace roost::rmq
