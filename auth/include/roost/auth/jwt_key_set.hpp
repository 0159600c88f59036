#pragma once
/// \file Keys by `kid`, as a JWKS document (RFC 7517 §5) gives them.

#include <roost/auth/jwt_error.hpp>
#include <roost/auth/jwt_key.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::auth {

/// The keys a verifier may use. A token's `kid` selects the key with that id; a key added
/// without an id serves tokens without a `kid`, or whose `kid` no key has. A token without a
/// `kid` uses the one key of a set of one. Anything else is `jwt_error::unknown_key`.
class jwt_key_set {
 public:
  jwt_key_set() = default;
  /// A set of one key without an id.
  explicit jwt_key_set(jwt_key key) { add(std::move(key)); }

  /// Adds a key; an empty `kid` makes it the key without an id (replacing any earlier one), a
  /// repeated `kid` replaces the earlier key.
  void add(jwt_key key, std::string kid = {});

  /// The keys of a JWKS document (`{"keys":[...]}`). Keys whose `use` is not `sig`, and keys of
  /// types roost does not verify with, are left out; a key of a known type that is wrong
  /// (bad base64url, a point off its curve, a short RSA modulus) fails the whole document.
  static jwt_result<jwt_key_set> from_jwks(std::string_view document);
  static jwt_result<jwt_key_set> from_jwks(const json::object& document);

  /// The key a token with this `kid` (nullptr: none in the header) is verified with.
  jwt_result<jwt_key> select(const std::string* kid) const;

  /// The whole set as a JWKS document of public keys (HMAC keys are left out).
  json::object public_jwks() const;

  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }

 private:
  std::vector<std::pair<std::string, jwt_key>> keys_;
};

}  // namespace roost::auth
