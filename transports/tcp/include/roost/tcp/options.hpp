#pragma once
/// \file Options of the TCP transport (NestJS `Transport.TCP`), with NestJS's defaults.

#include <roost/log.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace roost::tcp {

/// TLS settings. Give files or in-memory PEM text (not both for the same item).
struct tls_options {
  std::string cert_file;  ///< this side's certificate chain (PEM file)
  std::string key_file;   ///< this side's private key (PEM file)
  std::string ca_file;    ///< CAs that sign the peer's certificate (PEM file)
  std::string cert_pem;   ///< the same three as PEM text
  std::string key_pem;
  std::string ca_pem;
  /// Client: verify the server's certificate and host name (`server_name`, or the host).
  /// Server: when CAs are given (`ca_file`/`ca_pem`), require and verify a client certificate
  /// (mutual TLS); without CAs a server never asks for one.
  bool verify_peer = true;
  /// Client: the name to send (SNI) and to check in the server's certificate; defaults to the
  /// host when it is a name.
  std::string server_name;
};

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
  std::optional<tls_options> tls;
  roost::logger log;
};

struct client_options {
  std::string host = "localhost";
  std::uint16_t port = 3000;
  tcp::limits limits;
  std::optional<tls_options> tls;
  /// Gives up connecting after this long.
  std::chrono::milliseconds connect_timeout{5'000};
  roost::logger log;
};

}  // namespace roost::tcp
