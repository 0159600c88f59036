#pragma once
/// \file roost::auth::jwt_signer: makes compact JWS tokens, for tests and tools.

#include <roost/auth/jwt_algorithm.hpp>
#include <roost/auth/jwt_error.hpp>
#include <roost/auth/jwt_key.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <string>

namespace roost::auth {

/// Signs claims with one key and algorithm; ECDSA signatures come out as JOSE's r||s.
class jwt_signer {
 public:
  /// `kid`, when not empty, goes into each token's header.
  jwt_signer(jwt_key key, jwt_algorithm alg, std::string kid = {});

  /// `header.claims.signature`; fails (`invalid_key`) when the key cannot sign: a public key,
  /// or a key of another type than the algorithm's.
  jwt_result<std::string> sign(const json::object& claims) const;
  /// The same with extra header members (`typ`, `cty`, or anything a test needs to forge);
  /// `alg` and `kid` are set from the signer unless `header` has them.
  jwt_result<std::string> sign(const json::object& claims, json::object header) const;

 private:
  jwt_key key_;
  jwt_algorithm alg_;
  std::string kid_;
};

}  // namespace roost::auth
