#pragma once
/// \file Options of the Redis transport (NestJS `Transport.REDIS`), with NestJS's defaults.

#include <roost/acknowledgement.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace roost::redis {

/// TLS settings (roost/tls_options.hpp): files or in-memory PEM text.
using tls_options = roost::tls_options;

/// How a lost connection is retried (NestJS's `retryAttempts` / `retryDelay`).
struct retry_options {
  /// Reconnection attempts after a connection is lost (or a first connect fails). Unset: keep
  /// trying for ever with a backoff from 50 ms doubling up to `max_delay` (roost's default).
  /// 0: never reconnect (NestJS's behaviour when `retryAttempts` is not given).
  std::optional<unsigned> attempts;
  /// Fixed delay between attempts when `attempts` is set (NestJS's `retryDelay`, default 5 s).
  std::chrono::milliseconds delay{5'000};
  /// Longest backoff step when `attempts` is unset.
  std::chrono::milliseconds max_delay{2'000};
};

/// Where and how to reach the Redis server. Shared by server and client.
struct connection_options {
  std::string host = "localhost";  ///< NestJS's default
  std::uint16_t port = 6379;
  std::string username;            ///< ACL user (Redis 6+); empty: `AUTH password` only
  std::string password;            ///< empty: no AUTH
  unsigned db = 0;                 ///< SELECTed after connecting when not 0
  std::optional<tls_options> tls;  ///< set for `rediss://`
  /// Gives up a connection attempt after this long.
  std::chrono::milliseconds connect_timeout{5'000};
  redis::retry_options retry;
  /// Bytes of unsent commands a connection may hold before it refuses more (backpressure on a
  /// broker that does not read).
  std::size_t max_send_buffer_size = 128u * 1024 * 1024;
};

/// The Redis Streams mode, a roost extension (NestJS has no such mode; both sides must be roost).
/// Requests and events go to a stream per route (XADD) instead of a channel, and servers read
/// them in a consumer group (XREADGROUP): each message goes to one server of the group, and
/// stays pending until its handler succeeded (XACK), so a message survives a server crash:
/// another server of the group claims it once it has been pending for `claim_idle`
/// (at-least-once delivery). Replies still travel on `<route>.reply` (pub/sub).
struct stream_options {
  bool enabled = false;
  /// Servers sharing the work use the same group.
  std::string group = "roost";
  /// This server's name in the group; empty: `<host name>-<pid>`. A server that restarts with
  /// the same name first takes back what it had not acknowledged.
  std::string consumer;
  /// Messages read per XREADGROUP, and the most a server handles at once is four times this.
  unsigned batch = 64;
  /// How long one XREADGROUP waits for messages.
  std::chrono::milliseconds block{1'000};
  /// A message pending this long with another consumer is claimed (XAUTOCLAIM) by this one.
  std::chrono::milliseconds claim_idle{30'000};
  /// Client: the streams are trimmed to about this many entries (`XADD MAXLEN ~`); 0: never.
  std::size_t max_length = 100'000;
  /// Server: how entries are settled (roost/acknowledgement.hpp). By default XACKed once
  /// handled, and an event whose handler threw is left pending (claimed again after
  /// `claim_idle`). `dead_letter` moves it to the stream `<route>:dead` (field `m`, the
  /// original payload), then XACKs it; `drop` XACKs it. Manual: handlers call `ctx.ack()` /
  /// `ctx.nack(requeue)`.
  ack_policy ack;
};

struct server_options {
  connection_options connection;
  /// PSUBSCRIBE each handler's route as a glob (`*`, `?`, `[..]`) instead of SUBSCRIBE, as
  /// NestJS's `wildcards: true`. The handler is found by the pattern that matched; the reply
  /// goes to `<concrete channel>.reply` (NestJS 12; NestJS 11 used `<pattern>.reply`).
  bool wildcards = false;
  /// The Streams mode (roost extension, off by default); not together with `wildcards`.
  stream_options streams;
  /// What the server takes from its peers (roost/limits.hpp). "Per connection" is the
  /// server's subscription connection, which carries all its messages; `max_connections` does
  /// not apply (the server opens its own two). In the Streams mode the in-flight limits refuse
  /// nothing: the server reads no more entries while it has `4 * streams.batch` in hand, and
  /// the rest wait in the streams.
  roost::limits serving;
  roost::logger log;
};

struct client_options {
  connection_options connection;
  /// The Streams mode: XADD requests and events to the route's stream (roost servers only).
  stream_options streams;
  roost::logger log;
};

}  // namespace roost::redis
