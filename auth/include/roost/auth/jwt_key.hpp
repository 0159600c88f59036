#pragma once
/// \file A key a jwt_verifier checks signatures with (or a jwt_signer signs with).

#include <roost/auth/jwt_algorithm.hpp>
#include <roost/auth/jwt_error.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace roost::auth {

namespace detail {
struct jwt_key_impl;
}

/// What a key is; each type verifies its own algorithms only, so that a public key can never be
/// taken for an HMAC secret (algorithm confusion).
enum class jwt_key_type {
  hmac,     ///< HS256/384/512
  rsa,      ///< RS256/384/512, PS256/384/512
  ec_p256,  ///< ES256
  ec_p384,  ///< ES384
  ec_p521,  ///< ES512
  ed25519,  ///< EdDSA
};

/// An immutable key, cheap to copy (the copies share it). Made by the factories below, which
/// return a failure (`jwt_error::invalid_key`) rather than throw on bad input.
class jwt_key {
 public:
  /// An HMAC secret, its bytes as they are (not base64). Empty secrets are refused.
  static jwt_result<jwt_key> hmac(std::string_view secret);
  /// An HMAC secret: the whole content of a file.
  static jwt_result<jwt_key> hmac_from_file(const std::filesystem::path& file);
  /// An HMAC secret: the value of an environment variable.
  static jwt_result<jwt_key> hmac_from_env(const char* variable);
  /// A public key (`-----BEGIN PUBLIC KEY-----`), or a private key (PKCS#8 or traditional),
  /// whose public half is used: RSA of 2048 bits or more, EC P-256/P-384/P-521, Ed25519.
  static jwt_result<jwt_key> from_pem(std::string_view pem);
  static jwt_result<jwt_key> from_pem_file(const std::filesystem::path& file);
  /// One JWK (RFC 7517): `kty` RSA (`n`, `e`), EC (`crv`, `x`, `y`), OKP Ed25519 (`x`), oct
  /// (`k`). Its `alg`, when present, is then the only algorithm the key verifies.
  static jwt_result<jwt_key> from_jwk(const json::object& jwk);

  jwt_key_type type() const noexcept;
  /// Whether this key verifies (or signs) `alg`: its type fits, and the JWK's `alg` if any.
  bool accepts(jwt_algorithm alg) const noexcept;
  /// Whether it holds a private key or a secret, so that it can sign.
  bool can_sign() const noexcept;
  /// The public key as a JWK (without `kid`), for publishing in a JWKS document; an HMAC key
  /// gives an empty object (a secret is not published).
  json::object public_jwk() const;

  const detail::jwt_key_impl& impl() const noexcept { return *impl_; }

 private:
  explicit jwt_key(std::shared_ptr<const detail::jwt_key_impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const detail::jwt_key_impl> impl_;
};

}  // namespace roost::auth
