#pragma once
/// \file The acknowledgement rule of every transport that acknowledges messages (Redis
/// Streams, JetStream today; RabbitMQ, Kafka and MQTT QoS 1/2 next), stated once.
///
/// Automatic mode (the default):
/// - the handler returns → the message is acknowledged;
/// - an event handler throws → the transport's configured `on_failure` outcome (delivered
///   again by default);
/// - a request is acknowledged even when its handler threw: the caller got the error reply,
///   and delivering the request again would answer it twice;
/// - an event without a handler is acknowledged: delivering it again would find none either;
/// - a message the handler settled itself (`ctx.ack()`, `ctx.nack(requeue)`) is left as it is.
///
/// Manual mode (NestJS's RMQ `noAck: false` with `channel.ack(msg)`, Kafka's manual commits):
/// the handler settles the message through its context (`ctx.ack()`, `ctx.nack(requeue)`);
/// one it leaves unsettled stays with the broker, which delivers it again by its own rules
/// (a consumer that goes away, a claim or ack-wait timeout).

#include <functional>
#include <string_view>

namespace roost {

/// What becomes of a message whose event handler failed.
enum class failure_outcome {
  redeliver,    ///< left to the broker to deliver again (nack with requeue)
  dead_letter,  ///< moved to the transport's dead-letter destination
  drop,         ///< acknowledged and forgotten
};

/// How a transport that acknowledges messages settles them.
struct ack_policy {
  /// The handler settles each message itself through its context.
  bool manual = false;
  /// Automatic mode: the outcome for an event whose handler threw.
  failure_outcome on_failure = failure_outcome::redeliver;
};

/// What a transport is asked to do with a served message.
enum class settlement {
  ack,          ///< done with
  redeliver,    ///< give it back to be delivered again
  dead_letter,  ///< move it to the dead-letter destination
  drop,         ///< acknowledge without processing
};

std::string_view to_string(settlement s) noexcept;

/// What a transport gives the context of an acknowledgeable message: its policy, and how to
/// carry out a settlement (called once, on the thread that served the message).
struct acknowledgement {
  ack_policy policy;
  std::function<void(settlement)> settle;
};

/// The automatic rule above: the settlement of a message once its handlers have run.
constexpr settlement settle_after_serving(bool is_request, bool handler_failed,
                                          const ack_policy& policy) noexcept {
  if (is_request || !handler_failed) return settlement::ack;
  switch (policy.on_failure) {
    case failure_outcome::redeliver:
      return settlement::redeliver;
    case failure_outcome::dead_letter:
      return settlement::dead_letter;
    case failure_outcome::drop:
      return settlement::drop;
  }
  return settlement::redeliver;
}

}  // namespace roost
