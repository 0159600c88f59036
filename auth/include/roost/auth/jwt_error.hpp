#pragma once
/// \file Why a JWT was refused or a key could not be used: an error code for programs and a
/// text for people.

#include <boost/assert/source_location.hpp>
#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace roost::auth {

/// Each reason a token is refused, and `invalid_key` for a key or key set that cannot be used.
enum class jwt_error {
  /// not three base64url parts, bad base64url, a header or claims that are not a JSON object, a
  /// registered claim of the wrong type, a `crit` header, a token over the size limit
  malformed = 1,
  /// `alg` is `none`, unknown, or not among the verifier's allowed algorithms
  algorithm_not_allowed,
  /// no key for the token's `kid` (or no `kid` when several keys could apply)
  unknown_key,
  /// the key cannot verify this algorithm (an RSA, EC or Ed25519 key named by an HS token:
  /// algorithm confusion; a JWK whose `alg` is another)
  key_mismatch,
  /// the signature does not verify
  bad_signature,
  /// `exp` has passed (beyond the leeway)
  expired,
  /// `nbf` has not come (beyond the leeway)
  not_yet_valid,
  /// `iat` is in the future (beyond the leeway)
  issued_in_future,
  /// `iss` missing or not one of the accepted issuers
  wrong_issuer,
  /// `aud` missing or naming none of the accepted audiences
  wrong_audience,
  /// a claim the rules require is missing (`exp` by default)
  missing_claim,
  /// a key, PEM text or JWKS document that cannot be used
  invalid_key,
};

const boost::system::error_category& jwt_category() noexcept;

inline boost::system::error_code make_error_code(jwt_error e) noexcept {
  return {static_cast<int>(e), jwt_category()};
}

/// A refusal: the code, and a text that says what was wrong with this token or key (never the
/// secret). `message()` is the category's text followed by the detail.
struct jwt_failure {
  jwt_error code;
  std::string detail;

  std::string message() const;
  friend bool operator==(const jwt_failure&, const jwt_failure&) = default;
};

/// What boost::system::result::value() throws when it holds a failure.
[[noreturn]] void throw_exception_from_error(const jwt_failure& f,
                                             const boost::source_location& loc);

/// A value or the reason there is none.
template <class T>
using jwt_result = boost::system::result<T, jwt_failure>;

}  // namespace roost::auth

template <>
struct boost::system::is_error_code_enum<roost::auth::jwt_error> : std::true_type {};
