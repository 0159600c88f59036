#pragma once
/// \file roost::auth::jwt_verifier: checks a JWT's signature and claims, without I/O.

#include <roost/auth/jwt_algorithm.hpp>
#include <roost/auth/jwt_error.hpp>
#include <roost/auth/jwt_key.hpp>
#include <roost/auth/jwt_key_set.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace roost::auth {

namespace detail {
class verified_tokens;
}

/// What a token must satisfy besides its signature. docs/security.md says which threat each
/// answers.
struct jwt_rules {
  /// The algorithms accepted; a token naming another is refused before any key is looked at.
  /// Empty accepts none: the list is always the application's choice.
  std::vector<jwt_algorithm> algorithms;
  /// Accepted `iss` values; empty: `iss` is not checked.
  std::vector<std::string> issuers;
  /// Accepted audiences: the token's `aud` (a string or an array of strings) must name one;
  /// empty: `aud` is not checked.
  std::vector<std::string> audiences;
  /// Clock skew allowed between the issuer and this service, for `exp`, `nbf` and `iat`.
  std::chrono::seconds leeway{0};
  /// Refuse tokens without `exp` (tokens that never expire).
  bool require_expiry = true;
  /// Tokens longer than this are refused before they are decoded.
  std::size_t max_token_size = 16 * 1024;
  /// Tokens whose signature held are kept (by their exact text, up to this many) so that the
  /// same token sent again skips signature verification and parsing; the time claims are
  /// checked again each time, and a key rotation makes every kept token count as new. 0: off.
  std::size_t verified_cache_size = 1024;
  /// The time tokens are checked against; empty: the system clock. Tests inject a fixed time.
  std::function<std::chrono::system_clock::time_point()> clock;
};

/// Verifies compact JWS tokens (RFC 7519): the header's `alg` must be allowed by the rules and
/// fit the key its `kid` selects, the signature must verify, and `exp`, `nbf`, `iat`, `iss` and
/// `aud` must satisfy the rules.
///
/// Thread-safety: `verify` may run on any number of threads at once, also while
/// `replace_keys` swaps the key set (key rotation); a verification uses the set it started with.
class jwt_verifier {
 public:
  jwt_verifier(jwt_rules rules, jwt_key_set keys);
  /// One key, used whatever the token's `kid`.
  jwt_verifier(jwt_rules rules, jwt_key key);
  ~jwt_verifier();

  /// The token's claims, or why it is refused. Never throws on bad input.
  jwt_result<json::object> verify(std::string_view token) const;

  /// Replaces the key set (a JWKS document fetched again after a rotation): verifications that
  /// start afterwards use the new keys only.
  void replace_keys(jwt_key_set keys);
  /// The key set in use now.
  std::shared_ptr<const jwt_key_set> keys() const;

  const jwt_rules& rules() const noexcept { return rules_; }

 private:
  jwt_result<json::object> check_claims(json::object claims) const;

  jwt_rules rules_;
  mutable std::mutex keys_mutex_;  // guards the pointer and the generation; a set is immutable
  std::shared_ptr<const jwt_key_set> keys_;
  std::uint64_t key_generation_ = 0;  // which set verified a kept token
  std::unique_ptr<detail::verified_tokens> verified_;
};

}  // namespace roost::auth
