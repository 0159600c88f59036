#pragma once
// The JWS signature primitives over OpenSSL's EVP API: JOSE's formats in, OpenSSL's out.

#include <roost/auth/jwt_algorithm.hpp>

#include "jwt_key_impl.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace roost::auth::detail {

/// Whether `signature` (the decoded third part) signs `input` (`header.claims`) with `key`
/// under `alg`; the caller has checked that the key accepts `alg`. HMAC tags are compared in
/// constant time.
bool verify_signature(const jwt_key_impl& key, jwt_algorithm alg, std::string_view input,
                      std::string_view signature);

/// The signature of `input`, or nullopt when OpenSSL cannot make it (a public key).
std::optional<std::string> create_signature(const jwt_key_impl& key, jwt_algorithm alg,
                                            std::string_view input);

}  // namespace roost::auth::detail
