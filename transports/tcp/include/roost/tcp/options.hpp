#pragma once
/// \file Options of the TCP transport (NestJS `Transport.TCP`), with NestJS's defaults.

#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace roost::tcp {

/// TLS settings (roost/tls_options.hpp): files or in-memory PEM text.
using tls_options = roost::tls_options;

/// Limits shared by the server and the client side of a connection.
struct limits {
  /// Largest frame accepted, in UTF-16 code units as NestJS's `maxBufferSize`; beyond it the
  /// connection is closed with "The packet length (N) exceeds the maximum allowed length".
  std::size_t max_buffer_size = 134'217'728;
  /// A peer that stops in the middle of a frame for this long is disconnected
  /// (`incompleteMessageTimeout`); zero disables it.
  std::chrono::milliseconds incomplete_message_timeout{30'000};
  /// Bytes of unsent output a connection may hold (`maxSendBufferSize`); beyond it the
  /// connection is closed, so a peer that does not read cannot grow memory without bound.
  std::size_t max_send_buffer_size = 128u * 1024 * 1024;
  /// Reading from a peer pauses while this many bytes of replies to it wait to be sent
  /// (backpressure, as NestJS pauses on `write()` returning false).
  std::size_t send_high_water_mark = 1024 * 1024;
};

struct server_options {
  std::string host = "localhost";  ///< NestJS's default; "0.0.0.0" or "::" for every interface
  std::uint16_t port = 3000;       ///< 0 picks a free port (see server::port())
  tcp::limits limits;
  /// What the server takes from its peers: message size, requests in flight per connection
  /// and for the service, connections (roost/limits.hpp). On TCP `limits.max_buffer_size`
  /// still closes a connection whose frame goes over it, as NestJS does; a frame within it but
  /// over `serving.max_message_size` (bytes) gets an error reply, and the connection stays.
  roost::limits serving;
  std::optional<tls_options> tls;
  roost::logger log;
};

/// One server of a balancing client: a host name or address, and a port.
struct endpoint {
  std::string host;
  std::uint16_t port = 3000;
};

/// How a balancing client picks the server of each call (docs/transports/tcp.md, "Several
/// servers").
enum class balance_policy {
  /// The server with the fewest calls in flight from this client (ties taken in turn): spreads
  /// evenly when the servers are alike and sends less to one that is slow or overloaded.
  least_outstanding,
  /// Each server in turn, whatever its load.
  round_robin,
};

struct client_options {
  std::string host = "localhost";
  std::uint16_t port = 3000;
  /// Balancing: when not empty, the client talks to every server listed here (and `host` and
  /// `port` are unused), and to every address each name resolves to (a Kubernetes headless
  /// Service). One connection per server; each request, stream and event goes to one of them.
  /// A server that refuses or drops its connection is skipped and tried again in the
  /// background; the calls in flight on it fail with "Connection closed".
  std::vector<endpoint> endpoints;
  balance_policy balance = balance_policy::least_outstanding;
  /// First and longest wait before trying a lost server again (doubling in between).
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5'000};
  /// How often the names of `endpoints` are resolved again, to find servers that came up (a
  /// name is also resolved again when one of its servers is lost); zero: never.
  std::chrono::milliseconds resolve_interval{30'000};
  tcp::limits limits;
  std::optional<tls_options> tls;
  /// Gives up connecting after this long.
  std::chrono::milliseconds connect_timeout{5'000};
  roost::logger log;
};

}  // namespace roost::tcp
