#pragma once
/// \file roost::auth::client_credentials: OAuth2 access tokens for a roost client (RFC 6749
/// §4.4, the client credentials grant), fetched, cached and attached to its calls.

#include <roost/auth/http_options.hpp>
#include <roost/awaitable.hpp>
#include <roost/client_proxy.hpp>
#include <roost/log.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace roost::auth {

/// How the client proves itself to the token endpoint (RFC 6749 §2.3.1).
enum class client_authentication {
  basic,  ///< `Authorization: Basic` (client_secret_basic), what every server must accept
  form,   ///< `client_id` and `client_secret` in the form body (client_secret_post)
};

struct client_credentials_options {
  /// The token endpoint (`https://id.example.com/oauth/token`).
  std::string token_url;
  std::string client_id;
  std::string client_secret;
  client_authentication authentication = client_authentication::basic;
  /// Scopes asked for, space-separated; empty: the server's default.
  std::string scope;
  /// The API the token is for, for servers that take an `audience` parameter; empty: none.
  std::string audience;
  /// A token is replaced this long before it expires (at most half its lifetime), so that a
  /// call never leaves with a token about to expire.
  std::chrono::seconds refresh_margin{30};
  /// The lifetime of a token whose answer has no `expires_in`.
  std::chrono::seconds assumed_lifetime{300};
  http_options http;
  /// New tokens (debug) and failures (warn); never a secret or a token.
  logger log;
  /// The time expiry is measured with; empty: the steady clock. Tests inject one.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

/// A token source: `token()` gives a valid access token, fetching one only when the cached one
/// is missing or within refresh_margin of its expiry; concurrent callers share one request.
///
/// Thread-safe; copies share one cache.
class client_credentials {
 public:
  /// Throws oauth_error for a token_url that is not `https://` (nor `http://` with
  /// http.allow_http), an empty client_id, or TLS files that do not load. Fetches nothing yet.
  explicit client_credentials(client_credentials_options options);
  ~client_credentials();
  client_credentials(const client_credentials&) = default;
  client_credentials& operator=(const client_credentials&) = default;

  /// The access token. Throws oauth_error when a new one is needed and the endpoint does not
  /// give one (its `error` and `error_description` are in the text); the next call tries again.
  awaitable<std::string> token();

  /// Drops the cached token (after a service refused it, say): the next token() fetches one.
  void invalidate();

  /// A client_options::prepare hook: each call gets `authorization: Bearer <token>` in its
  /// headers (NestJS 12 metadata on TCP and Redis, NATS headers); a call whose token cannot be
  /// had fails with oauth_error.
  std::function<awaitable<void>(call_options&)> bearer() const;

  /// How many token requests were made so far (tests, metrics).
  std::size_t fetches() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::auth
