#pragma once
/// \file Options of the NATS transport (NestJS `Transport.NATS`), with NestJS's defaults.

#include <roost/log.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost::nats {

/// TLS settings (PEM files).
struct tls_options {
  std::string ca_file;      ///< CAs that sign the server's certificate; empty: the system's
  std::string cert_file;    ///< this client's certificate chain, for servers that require one
  std::string key_file;     ///< its private key
  bool verify_peer = true;  ///< false: accept any server certificate (tests only)
  std::string server_name;  ///< the name to expect in the server's certificate
};

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
  bool reconnect = true;
  int max_reconnect_attempts = 10;
  std::chrono::milliseconds reconnect_time_wait{2'000};
  roost::logger log;
};

struct server_options : connection_options {
  /// Queue group of every subscription whose handler gives none in its extras (NestJS's
  /// `queue`); empty: no queue group, every server instance gets every message.
  std::string queue;
  /// How long close() waits for the replies still buffered to reach the server.
  std::chrono::milliseconds grace_period{10'000};
};

struct client_options : connection_options {
  /// Headers sent with every request and event (NestJS's client option `headers`); a call's
  /// own headers (its metadata) win over these.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Prefix of the reply subjects (NestJS passes `inboxPrefix` to its NATS client).
  std::string inbox_prefix = "_INBOX";
};

}  // namespace roost::nats
