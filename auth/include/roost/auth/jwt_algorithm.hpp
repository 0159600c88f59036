#pragma once
/// \file The JWS signature algorithms (RFC 7518 §3, RFC 8037) a jwt_verifier knows.

#include <optional>
#include <string_view>

namespace roost::auth {

/// `none` is deliberately not one: an unsecured token is never accepted.
enum class jwt_algorithm {
  hs256,
  hs384,
  hs512,
  rs256,
  rs384,
  rs512,
  ps256,
  ps384,
  ps512,
  es256,  ///< ECDSA P-256, signature r||s (64 bytes)
  es384,  ///< ECDSA P-384, signature r||s (96 bytes)
  es512,  ///< ECDSA P-521, signature r||s (132 bytes)
  eddsa,  ///< Ed25519
};

/// The JOSE name (`"HS256"`, `"EdDSA"`...).
std::string_view to_string(jwt_algorithm alg) noexcept;
/// The algorithm of a JOSE name, exactly as spelt (names are case-sensitive); nullopt for any
/// other name, `"none"` included.
std::optional<jwt_algorithm> parse_jwt_algorithm(std::string_view name) noexcept;

}  // namespace roost::auth
