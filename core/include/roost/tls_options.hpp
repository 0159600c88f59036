#pragma once
/// \file roost::tls_options: the TLS settings every transport takes (`tcp::tls_options`,
/// `redis::tls_options` and `nats::tls_options` name this one type).

#include <string>

namespace roost {

/// TLS settings of a connection. The CA, the certificate and the key each come from a PEM file
/// or from in-memory PEM text (not both for the same item; the text wins).
struct tls_options {
  /// CAs that sign the peer's certificate. Empty: a client trusts the system's CAs; a server
  /// asks for no client certificate.
  std::string ca_file;
  std::string ca_pem;
  /// This side's certificate chain: a server's, or a client's for peers that require one.
  std::string cert_file;
  std::string cert_pem;
  /// The private key of that certificate.
  std::string key_file;
  std::string key_pem;
  /// Client: verify the server's certificate and host name (`server_name`, or the host);
  /// false accepts any certificate (tests only). Server: with CAs given, require and verify a
  /// client certificate (mutual TLS); without CAs a server never asks for one.
  bool verify_peer = true;
  /// Client: the name to send (SNI) and to check in the server's certificate; defaults to the
  /// host when it is a name.
  std::string server_name;
};

}  // namespace roost
