#pragma once
/// \file roost::auth::jwks_source: a provider's signing keys (its JWKS document, found directly
/// or through OpenID Connect discovery), fetched over HTTPS and kept current for a verifier.

#include <roost/auth/http_options.hpp>
#include <roost/auth/jwt_guard.hpp>
#include <roost/auth/jwt_verifier.hpp>
#include <roost/awaitable.hpp>
#include <roost/enhancers.hpp>
#include <roost/json.hpp>
#include <roost/log.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace roost::auth {

/// Where the keys come from and how often they are fetched again.
struct jwks_options {
  /// The JWKS document (`https://id.example.com/.well-known/jwks.json`). Empty: found through
  /// the discovery document of `issuer`.
  std::string jwks_uri;
  /// An OpenID Connect issuer (`https://id.example.com`): its discovery document
  /// (`<issuer>/.well-known/openid-configuration`) gives `jwks_uri` when that is empty, and must
  /// name this issuer. Tokens must then carry it as `iss` (it becomes the rules' only issuer
  /// when they name none).
  std::string issuer;
  /// Background refresh period; zero: the document's `Cache-Control: max-age` (between
  /// min_refresh_interval and max_refresh_period), or default_refresh_period without one.
  std::chrono::seconds refresh_period{0};
  std::chrono::seconds default_refresh_period{3600};
  std::chrono::seconds max_refresh_period{24 * 3600};
  /// Fetches for tokens naming an unknown `kid` happen at most once per this interval, however
  /// many such tokens come (forged `kid`s cannot make the service hammer the provider); also
  /// the wait before a failed fetch is tried again in the background.
  std::chrono::seconds min_refresh_interval{30};
  http_options http;
  /// Fetch failures (warn) and key changes (info).
  logger log;
  /// The time the rate limit is measured with; empty: the steady clock. Tests inject one.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

/// Keeps a jwt_verifier's keys equal to a provider's JWKS document: fetches it on start(),
/// again in the background (by `Cache-Control: max-age` or a set period), and when a token
/// names a `kid` the keys lack (rate-limited). A fetch that fails, or a document without a
/// usable signing key, leaves the last good keys in place.
///
/// Thread-safe: verify, refresh and verifier may be called from any thread. Copies share one
/// source. Destroying the last copy stops the background refresh (a fetch in progress finishes
/// on its own). Like any Asio object, the source (and a guard or router holding a copy) must
/// go before the execution context of its executor.
class jwks_source {
 public:
  /// Nothing is fetched until start() or the first refresh(). `rules` are the verifier's
  /// (algorithms, audiences...). Throws oauth_error for a URL that is not `https://` (nor
  /// `http://` with http.allow_http), or neither jwks_uri nor issuer, or TLS files that do not
  /// load. Background refreshes run on `ex`.
  jwks_source(executor ex, jwt_rules rules, jwks_options options);
  ~jwks_source();
  jwks_source(const jwks_source&) = default;
  jwks_source& operator=(const jwks_source&) = default;

  /// Fetches the keys (discovery first when asked) and starts the background refresh.
  /// Completes when the first fetch is done; throws oauth_error when it failed: the source
  /// keeps trying in the background and on unknown `kid`s, so a caller may go on without keys.
  awaitable<void> start();

  /// The verifier whose keys this source keeps current, for a synchronous jwt_guard or direct
  /// use (its keys are empty until a fetch succeeds: every token is refused until then).
  std::shared_ptr<const jwt_verifier> verifier() const;

  /// Verifies a token; when its `kid` is unknown, fetches the keys again (once per
  /// min_refresh_interval, one fetch shared by concurrent callers) and verifies it once more.
  /// Completes with the claims or the refusal; never throws for the token or the provider.
  awaitable<jwt_result<json::object>> verify(std::string token) const;

  /// Fetches the keys now unless a fetch ran within min_refresh_interval (a fetch in progress
  /// is joined). Completes with true when the fetch succeeded; false when it was skipped by
  /// the rate limit or failed (logged). Never throws.
  awaitable<bool> refresh() const;
  /// refresh() in the background, without waiting; costs a clock read when rate-limited.
  void refresh_soon() const;

  /// How many fetches of the JWKS document were attempted so far (tests, metrics).
  std::size_t fetches() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
  std::shared_ptr<void> stop_with_last_copy_;  // the background refresh holds impl_ too
};

/// How a jwt_guard over a jwks_source meets a token whose `kid` its keys do not have.
enum class unknown_key_policy {
  /// The guard is a coroutine: the message waits for a (rate-limited) fetch of the keys, then
  /// the token is verified again. The route leaves the synchronous fast path.
  fetch_then_verify,
  /// The guard stays synchronous (and the route on the fast path): the message is refused and
  /// a (rate-limited) fetch starts in the background, so that later tokens of a new key pass.
  refuse_and_refresh,
};

/// A jwt_guard (same options, same answers) whose verifier's keys come from a provider.
roost::guard jwt_guard(jwks_source keys, jwt_guard_options options = {},
                       unknown_key_policy policy = unknown_key_policy::fetch_then_verify);

}  // namespace roost::auth
