#pragma once
/// \file roost::auth::http_options: how the OAuth2 / OpenID Connect clients reach a provider.

#include <roost/tls_options.hpp>

#include <chrono>
#include <cstddef>

namespace roost::auth {

/// The HTTPS settings of jwks_source and client_credentials.
struct http_options {
  /// The provider's certificate is verified against the system's CAs, or `tls.ca_file` /
  /// `tls.ca_pem`, and must name the URL's host (or `tls.server_name`). A client certificate
  /// (`cert_*`, `key_*`) is sent when given (mTLS client authentication).
  tls_options tls;
  /// Allow `http://` URLs (no TLS: tokens and secrets travel in clear). Off: such a URL is
  /// refused when the source is made.
  bool allow_http = false;
  /// For each request: connect, TLS handshake, request and the whole answer.
  std::chrono::milliseconds timeout{10'000};
  /// Answers with a longer body are refused (before they are read whole).
  std::size_t max_response_size = 1024 * 1024;
};

}  // namespace roost::auth
