#pragma once
// What a roost::auth::jwt_key holds: an HMAC secret or an OpenSSL key.

#include <roost/auth/jwt_algorithm.hpp>
#include <roost/auth/jwt_key.hpp>

#include "openssl_handles.hpp"

#include <optional>
#include <string>

namespace roost::auth::detail {

struct jwt_key_impl {
  jwt_key_type type;
  std::string secret;  // hmac only
  pkey_ptr pkey;       // the others
  bool has_private = false;
  std::optional<jwt_algorithm> only;  // a JWK's `alg`

  ~jwt_key_impl();  // wipes the secret
};

/// The key type each algorithm needs.
jwt_key_type key_type_for(jwt_algorithm alg) noexcept;

}  // namespace roost::auth::detail
