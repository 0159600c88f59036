#pragma once
/// \file roost::auth::oauth_error: what the OAuth2 / OpenID Connect clients (jwks_source,
/// client_credentials) throw when a provider cannot be reached or answers wrongly.

#include <stdexcept>
#include <string>

namespace roost::auth {

/// A provider's endpoint (token, JWKS, discovery) could not be used: it did not answer, its
/// certificate did not verify, it refused the request (its `error` and `error_description`
/// are in the text, quoted), or its answer was not what the protocol says. The text names the
/// URL and never holds a secret or a token.
class oauth_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace roost::auth
