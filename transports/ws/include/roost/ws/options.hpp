#pragma once
/// \file Options of the WebSocket transport, with the defaults of the `ws` package that
/// NestJS's platform-ws gateway runs on.

#include <roost/headers.hpp>
#include <roost/json.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::ws {

/// TLS settings of `wss://` (roost/tls_options.hpp): files or in-memory PEM text.
using tls_options = roost::tls_options;

/// An HTTP upgrade request, as an upgrade check sees it before any socket is open.
struct upgrade_request {
  std::string_view target;           ///< the path and its query (`/chat?token=...`)
  const roost::headers& headers;     ///< names in lower case
  std::string_view remote_endpoint;  ///< the client's "ip:port"
};

/// An upgrade check's refusal: the HTTP answer instead of the WebSocket.
struct upgrade_refusal {
  unsigned status = 403;  ///< 401 (no or bad credentials), 403 (not allowed), 429...
  std::string body = "Forbidden";
  /// Extra headers of the answer (a 401 should say how to authenticate: `www-authenticate`).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Decides at the upgrade whether a client gets a socket: nullopt accepts it, a refusal answers
/// it with an HTTP status and closes the connection (a browser's `new WebSocket` fails, no
/// handler or connect hook runs). Runs on the connection's strand; keep it short (a token check).
using upgrade_check = std::function<std::optional<upgrade_refusal>(const upgrade_request&)>;

struct server_options {
  std::string host = "localhost";  ///< "0.0.0.0" or "::" for every interface
  std::uint16_t port = 80;         ///< 0 picks a free port (see server::port())
  /// The path of the upgrade request (`@WebSocketGateway({ path })`); another path is refused
  /// with HTTP 400, as the `ws` package does. The query is not part of it.
  std::string path = "/";
  /// Largest message accepted, in bytes (the `ws` package's `maxPayload`); a larger one closes
  /// the connection with close code 1009 (message too big).
  std::size_t max_payload = 100u * 1024 * 1024;
  /// Bytes of unsent output a connection may hold (replies and pushes); beyond it the peer is
  /// disconnected, so one slow reader cannot grow memory, and the others go on.
  std::size_t max_send_buffer_size = 16u * 1024 * 1024;
  /// Reading from a peer pauses while this many bytes of output to it wait to be sent, and
  /// goes on once half of them are: a peer that sends faster than it reads its answers is
  /// slowed down, as TCP slows it, instead of reaching max_send_buffer_size. Pushes from other
  /// peers' handlers still count against that bound.
  std::size_t send_high_water_mark = 1024 * 1024;
  /// Keepalive: a ping goes to a peer silent for half of this; a peer that stays silent for
  /// all of it (no pong) is disconnected. Zero turns keepalive off.
  std::chrono::milliseconds idle_timeout{60'000};
  /// A client that does not finish its upgrade in this long is dropped.
  std::chrono::milliseconds handshake_timeout{30'000};
  /// Runs on each upgrade request (on the right path) before it is accepted: a refusal answers
  /// it with 401/403 and no socket opens. None: every upgrade is accepted (guards still run per
  /// message).
  upgrade_check check_upgrade;
  /// What the server takes from its peers: message size (an error reply), requests in flight
  /// per connection and for the service, connections (roost/limits.hpp).
  roost::limits serving;
  /// TLS (`wss://`): the server's certificate and key; with `ca`, client certificates signed
  /// by it are required (mutual TLS).
  std::optional<tls_options> tls;
  roost::logger log;
};

struct client_options {
  std::string host = "localhost";
  std::uint16_t port = 80;
  std::string path = "/";
  /// Extra headers of the upgrade request (an `authorization` for a JWT guard...).
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t max_payload = 100u * 1024 * 1024;
  std::size_t max_send_buffer_size = 16u * 1024 * 1024;
  /// Gives up connecting (TCP and upgrade) after this long.
  std::chrono::milliseconds connect_timeout{5'000};
  /// Receives what the server pushes (`{"event":E,"data":D}` messages that answer no call),
  /// and the replies of a NestJS gateway, which carry no id. Called on the connection's
  /// strand; keep it short.
  std::function<void(std::string_view event, const json::value& data)> on_push;
  /// TLS (`wss://`): the server's certificate is checked against `ca` (else the system's CAs)
  /// and the host name; a client certificate and key when the server asks for one.
  std::optional<tls_options> tls;
  roost::logger log;
};

}  // namespace roost::ws
