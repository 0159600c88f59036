#pragma once
/// \file roost::auth::jwt_guard: a guard that lets a message through when it carries a valid
/// JWT, and hands the token's claims to the handler.

#include <roost/auth/jwt_verifier.hpp>
#include <roost/context.hpp>
#include <roost/enhancers.hpp>
#include <roost/json.hpp>
#include <roost/log.hpp>

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <vector>

namespace roost::auth {

/// Where a jwt_guard finds the token, and what it asks of it besides the verifier's rules.
struct jwt_guard_options {
  /// A payload member (of an object payload) holding the token, read when the headers carry
  /// no `authorization: Bearer` token; empty: the headers only.
  std::string payload_field;
  /// Scopes the token must grant, every one of them: from `scope` (space-separated, RFC 8693
  /// §4.2) or `scp` (an array of strings). Empty: no scope is checked.
  std::vector<std::string> required_scopes;
  /// Where denials are logged (warn for a refused token, debug for a missing one); the token
  /// itself is never logged.
  logger log;
};

/// A synchronous guard: takes the bearer token of the message's headers (NestJS 12 metadata
/// on TCP and Redis, NATS headers: all reach it as roost::headers) or of the payload field,
/// verifies it and checks the scopes. On success the claims are attached to the context
/// (read them with jwt_claims); otherwise the caller gets NestJS's `Forbidden resource`.
/// The guard shares the verifier, so that a key rotation (replace_keys) reaches it.
roost::guard jwt_guard(std::shared_ptr<const jwt_verifier> verifier,
                       jwt_guard_options options = {});

/// The claims a jwt_guard accepted for this message; null when none ran or it found no token.
const json::object* jwt_claims(const context& ctx) noexcept;

}  // namespace roost::auth
