#pragma once
// Building OpenSSL contexts from roost::tls_options, for every transport that runs TLS on its
// own sockets.

#include <roost/tls_options.hpp>

#include <boost/asio/ssl/context.hpp>

namespace roost::net {

enum class tls_side { client, server };

/// A TLS context for a client or a server (TLS 1.2 and later). A client without CAs trusts the
/// system's; a server with CAs requires and verifies client certificates (mutual TLS) unless
/// verify_peer is off. Throws connection_error (invalid_argument) with a clear message when a
/// certificate, key or CA cannot be loaded.
boost::asio::ssl::context make_tls_context(const tls_options& o, tls_side side);

}  // namespace roost::net
