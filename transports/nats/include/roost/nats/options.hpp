#pragma once
/// \file Options of the NATS transport (NestJS `Transport.NATS`), with NestJS's defaults.

#include <roost/acknowledgement.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost::nats {

/// TLS settings (roost/tls_options.hpp): files or in-memory PEM text.
using tls_options = roost::tls_options;

/// How to reach the NATS servers; shared by the server and the client side (NestJS passes
/// these through to the NATS client library).
struct connection_options {
  /// `nats://host:port` URLs, tried in order (`servers`); NestJS's default is one local server.
  std::vector<std::string> servers{"nats://localhost:4222"};
  std::string user;  ///< `user` / `pass`
  std::string password;
  std::string token;           ///< `token`
  std::string creds_file;      ///< a `.creds` file (user JWT and NKey seed)
  std::string nkey;            ///< an NKey public key (`U...`), signed for with:
  std::string nkey_seed_file;  ///< the file holding that NKey's seed (`SU...`)
  std::optional<tls_options> tls;
  std::string name;  ///< the connection name the server shows (`name`)
  /// Gives up connecting to one server after this long (`timeout`).
  std::chrono::milliseconds connect_timeout{5'000};
  /// Reconnects after a lost connection (`reconnect`), up to `max_reconnect_attempts` times per
  /// server (`maxReconnectAttempts`, -1 for ever) waiting `reconnect_time_wait` in between.
  /// Unset: 10 for a client (the NATS clients' default, which NestJS keeps; then pending calls
  /// fail), for ever for a server (a service outlives broker restarts instead of stopping).
  bool reconnect = true;
  std::optional<int> max_reconnect_attempts;
  std::chrono::milliseconds reconnect_time_wait{2'000};
  /// The connection's read and write buffer, in bytes (`ioBufferSize`): the most read at
  /// once, and, when the library's threads run the socket (see event_loop), what is buffered
  /// before the library writes in place, so that a server serving a long run of requests sends
  /// its replies in parts while it serves the rest instead of in one write at the end. 0: the
  /// library's default (32 KiB).
  int io_buffer_size = 8192;
  /// On a plain TCP connection, the executor reads and writes the socket itself (nats.c's
  /// event-loop mode, `eventLoop`): what is published is written without a PING round trip
  /// and no reader or flush thread runs; a server without wildcard routes also serves each
  /// message on the thread that read it, and a client takes its replies there, without the
  /// library's delivery thread. Fewer wake-ups and less CPU per message at every load
  /// (docs/benchmarks.md). Off: nats.c's reader and delivery threads hand messages to the
  /// executor. Unset: on. TLS connections always use the library's threads.
  std::optional<bool> event_loop;
  roost::logger log;
};

/// roost extension (not in NestJS, off by default): event handlers consume through JetStream
/// durable consumers instead of plain subscriptions, so events published while the service is
/// down wait for it, and each is acknowledged only after its handlers succeeded (at least
/// once: a handler that throws gets the event again). Publishers do not change: NestJS and
/// roost clients publish events as usual and the stream stores them. Only routes with event
/// handlers and no message handler go through JetStream (a request to a stream subject would
/// get the stream's publish acknowledgement, not a reply).
struct jetstream_options {
  /// The stream holding the events. Created (file storage, the event routes as subjects) when
  /// missing; an existing stream is used as it is.
  std::string stream;
  /// Durable consumer names are `<durable>_<route>` (characters other than letters, digits,
  /// `-` and `_` become `_`); instances sharing them (and the queue group) share the work.
  std::string durable = "roost";
  /// An event not acknowledged this long after delivery is delivered again.
  std::chrono::milliseconds ack_wait{30'000};
  /// Deliveries of one event at most; -1: no limit.
  int max_deliver = -1;
  /// How events are settled (roost/acknowledgement.hpp): by default acknowledged once their
  /// handlers returned, delivered again (Nak) when one threw. `dead_letter` terminates the
  /// event (JetStream's MSG_TERMINATED advisory names it); `drop` acknowledges it. Manual:
  /// handlers call `ctx.ack()` / `ctx.nack(requeue)`.
  ack_policy ack;
};

struct server_options : connection_options {
  /// Queue group of every subscription whose handler gives none in its extras (NestJS's
  /// `queue`); empty: no queue group, every server instance gets every message.
  std::string queue;
  /// How long close() waits for the replies still buffered to reach the server.
  std::chrono::milliseconds grace_period{10'000};
  /// JetStream durable consumers for events (roost extension); none: plain subscriptions.
  std::optional<jetstream_options> jetstream;
  /// What the server takes from its peers (roost/limits.hpp). "Per connection" is the
  /// server's connection to NATS, which carries all its messages; `max_connections` does not
  /// apply (the server opens one). A JetStream event refused for the load is given back
  /// (Nak) and comes again; one too large is acknowledged and dropped.
  roost::limits serving;
};

struct client_options : connection_options {
  /// Headers sent with every request and event (NestJS's client option `headers`); a call's
  /// own headers (its metadata) win over these.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Prefix of the reply subjects (NestJS passes `inboxPrefix` to its NATS client).
  std::string inbox_prefix = "_INBOX";
};

}  // namespace roost::nats
