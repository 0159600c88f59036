#pragma once
// Building OpenSSL contexts from roost::tcp::tls_options.

#include <roost/tcp/options.hpp>

#include <boost/asio/ssl/context.hpp>

namespace roost::tcp::detail {

/// A TLS context for a server (`server` true) or a client. Throws connection_error with a
/// clear message when a certificate or key cannot be loaded.
boost::asio::ssl::context make_tls_context(const tls_options& o, bool server);

}  // namespace roost::tcp::detail
