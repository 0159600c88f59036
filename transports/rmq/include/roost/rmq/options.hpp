#pragma once
/// \file Options of the RabbitMQ transport (NestJS `Transport.RMQ`), with NestJS's defaults.

#include <roost/acknowledgement.hpp>
#include <roost/headers.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost::rmq {

/// One broker to connect to.
struct broker_address {
  std::string host;
  std::uint16_t port = 5672;
};

/// The queue both sides use, and how to reach the broker; shared by the server and the client
/// (NestJS's `urls`, `queue`, `queueOptions`, `noAssert`).
struct connection_options {
  std::string host = "localhost";
  std::uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  /// Brokers to try after `host:port` when it cannot be reached (NestJS's `urls` beyond the
  /// first; with the same credentials, vhost and TLS). Each connection, and each reconnection,
  /// tries the broker that last worked first, then the others in order.
  std::vector<broker_address> failover;
  /// The queue requests and events go to (NestJS's `queue`; its default is an empty name,
  /// which gives a server a queue of the broker's naming that no client can address).
  std::string queue;
  /// `queueOptions` when asserting the queue. A queue that exists with other properties is
  /// refused by the broker (406 PRECONDITION_FAILED), so both sides must agree; amqplib's
  /// defaults (which NestJS's `queueOptions: {}` gets) are durable, not exclusive, not
  /// auto-deleted.
  bool durable = true;
  bool exclusive = false;
  bool auto_delete = false;
  /// The queue's dead-letter exchange and routing key (`queueOptions.deadLetterExchange`,
  /// `deadLetterRoutingKey`: the queue arguments `x-dead-letter-exchange` and
  /// `x-dead-letter-routing-key`): where the broker moves a message rejected without requeue
  /// (or expired). Part of the queue's properties, so both sides must agree. The exchange
  /// itself, and the queue bound to it, are the application's to set up.
  std::string dead_letter_exchange;
  std::string dead_letter_routing_key;
  /// More of `queueOptions` (amqplib's names; queue arguments, part of the queue's properties
  /// as the broker compares them, so both sides must agree): how long a message may wait
  /// (`messageTtl`, `x-message-ttl`), how long the queue may go unused (`expires`,
  /// `x-expires`), how many messages it holds (`maxLength`, `x-max-length`: the oldest are
  /// dropped, or dead-lettered, past it) and its priorities (`maxPriority`, `x-max-priority`,
  /// at most 255, for `rmq::record::priority`). None: not set.
  std::optional<std::chrono::milliseconds> message_ttl;
  std::optional<std::chrono::milliseconds> expires;
  std::optional<std::uint64_t> max_length;
  std::optional<std::uint8_t> max_priority;
  /// What the queue does when full (`queueOptions.overflow`, `x-overflow`: `drop-head`, the
  /// broker's default, `reject-publish`, `reject-publish-dlx`) and how it keeps its messages
  /// (`queueMode`, `x-queue-mode`: `lazy` on disk). Empty: not set.
  std::string overflow;
  std::string queue_mode;
  /// Any other queue arguments (`queueOptions.arguments`), such as a quorum queue's
  /// `x-queue-type: quorum` or its `x-delivery-limit`. Values are typed as a URL gives them:
  /// an integer is a number, `true`/`false` a boolean, anything else text. Part of the
  /// queue's properties, so both sides must agree.
  std::vector<std::pair<std::string, std::string>> queue_arguments;
  /// Uses the queue as it is instead of asserting it (`noAssert`).
  bool no_assert = false;
  /// An exchange (`exchange`; with `wildcards` and none given, the queue's name), asserted
  /// durable with `exchange_type` (`exchangeType`). A server binds its queue to it with
  /// `routing_key` (`routingKey`; a fanout exchange with `''`), and with `wildcards` with every
  /// handler's route too; a client with `wildcards` or a fanout exchange publishes to the
  /// exchange, with the pattern as the routing key, instead of to the queue.
  std::string exchange;
  std::string exchange_type = "topic";
  /// The exchange's arguments (`exchangeArguments`, text values as NestJS types them), such as
  /// `alternate-exchange`, or `x-delayed-type` for a delayed-message exchange. Part of the
  /// exchange's properties as the broker compares them.
  std::vector<std::pair<std::string, std::string>> exchange_arguments;
  std::string routing_key;
  /// `wildcards`: as above, and a server matches a message's pattern against its handlers'
  /// routes with AMQP topic rules (`*` one word, `#` any words, as the last word only) when no
  /// handler has the exact route.
  bool wildcards = false;
  /// Gives up connecting (TCP and the AMQP handshake) after this long (`connectTimeout`).
  std::chrono::milliseconds connect_timeout{5'000};
  /// TLS (`amqps://`, NestJS's `socketOptions` with amqplib's TLS options): the broker's
  /// certificate is verified against `ca` (none: the system's CAs) and its host name, and a
  /// client certificate is presented when given (a broker with `fail_if_no_peer_cert`
  /// requires one). None: plain TCP.
  std::optional<tls_options> tls;
  /// The heartbeat interval proposed to the broker (NestJS's
  /// `socketOptions.heartbeatIntervalInSeconds`, 5 s by default; the broker may lower it; 0:
  /// none). Both ends send one when they have been silent that long; a connection that has
  /// heard nothing from the broker for two intervals is lost (a dead peer or network), and is
  /// handled as any lost connection.
  std::chrono::seconds heartbeat{5};
  /// After a lost connection, connect again after this long (NestJS's
  /// `socketOptions.reconnectTimeInSeconds`): a server asserts its queue and consumes again, a
  /// client gets its reply consumer back; for ever, until closed.
  std::chrono::milliseconds reconnect_time{5'000};
  /// While the broker blocks publishing (`connection.blocked`: a memory or disk alarm),
  /// publishes wait for it to unblock; a client's request or emit fails once the block has
  /// lasted this long (`blockedTimeout`; 0: at once), with `the broker blocks publishing
  /// (low on memory)`. A server's replies wait for as long as it takes.
  std::chrono::milliseconds blocked_timeout{30'000};
  roost::logger log;
};

struct server_options : connection_options {
  /// Messages count as acknowledged when the broker sends them (`noAck`, true by default in
  /// NestJS's code whatever its documentation says). False: each is acknowledged after its
  /// handlers ran, by the rule of roost/acknowledgement.hpp (`ack`).
  bool no_ack = true;
  /// Unacknowledged messages the broker sends at most (`prefetchCount`; 0: no limit), per
  /// consumer or, with `is_global_prefetch_count`, per channel. Only matters with no_ack false.
  std::uint16_t prefetch_count = 0;
  bool is_global_prefetch_count = false;
  /// Queues the server consumes besides `queue` (in the URL, `queue` repeated), on the same
  /// channel: each asserted with the same queueOptions (unless `noAssert`) and bound to the
  /// exchange as `queue` is, and each with a consumer of its own (`prefetch_count` is per
  /// consumer unless global). A handler finds where a message came from in
  /// `rmq::context::message().queue`.
  std::vector<std::string> more_queues;
  /// With no_ack false: how messages are settled (an event whose handler threw is requeued by
  /// default; `dead_letter` rejects it without requeue, for the queue's dead-letter exchange;
  /// `drop` acknowledges it).
  ack_policy ack;
  /// With no_ack false and `ack.on_failure` redeliver: how many times an event whose handler
  /// threw is given back at most (`maxRetries`); the next failure rejects it (to the queue's
  /// dead-letter exchange, if any, else the broker discards it). Each retry is a copy put at
  /// the back of the queue with its count in the header `x-retries` (the original is then
  /// acknowledged: a crash in between can deliver it twice, never lose it). None: requeued
  /// for ever (a plain nack with requeue).
  std::optional<std::uint32_t> max_retries;
  /// What the server takes from its peers (roost/limits.hpp). "Per connection" is the
  /// server's connection to the broker, which carries all its messages; `max_connections` does
  /// not apply (the server opens one). A message refused for the load is settled as a handler
  /// failure would be (with no_ack false: by `ack`); one too large is answered with the error
  /// when it is a request and, with no_ack false, acknowledged and dropped.
  roost::limits serving;
};

struct client_options : connection_options {
  /// Headers sent with every request and event (NestJS's client option `headers`); a call's
  /// own headers win over these.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Messages are stored by the broker (delivery mode 2) rather than kept in memory only
  /// (`persistent`).
  bool persistent = false;
  /// Where replies come (`replyQueue`): RabbitMQ's direct reply-to by default, or a queue of
  /// the application's, which must exist (the client consumes it and does not assert it, as
  /// NestJS's) and serve this client alone: replies to another client's calls there are
  /// dropped as unknown.
  std::string reply_queue = "amq.rabbitmq.reply-to";
};

/// One message's own AMQP properties, NestJS's `new RmqRecordBuilder(data).setOptions({...})`:
/// given as `call_options::record` to a call or an emit (`o.record = rmq::record{...}`).
struct record {
  /// AMQP headers, over the call's headers and the client's `headers` of the same names.
  roost::headers headers;
  std::optional<std::uint8_t> priority;  ///< `priority` (for a queue with `x-max-priority`)
  /// `expiration`: the broker drops the message if it waits in the queue longer than this.
  std::optional<std::chrono::milliseconds> expiration;
  std::string message_id;          ///< `messageId`
  std::optional<bool> persistent;  ///< `persistent`, over the client's option
  std::string content_type;        ///< `contentType` (NestJS sends none by default)
};

}  // namespace roost::rmq
