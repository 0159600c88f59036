#include <roost/auth/client_credentials.hpp>

#include <roost/auth/jwks_source.hpp>
#include <roost/auth/oauth_error.hpp>
#include <roost/client_proxy.hpp>
#include <roost/errors.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include "test_keys.hpp"
#include "test_pki.hpp"
#include "test_provider.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// OAuth2 / OpenID Connect against a provider started by the test (TLS on loopback, a CA and keys
// made at test time): client-credentials tokens (fetch, cache, refresh before expiry,
// single-flight, failures, the bearer hook of a client_proxy) and a provider's JWKS kept current
// for a jwt_guard (discovery, rotation, the rate limit under a flood of unknown kids, failures,
// background refresh, scopes).

namespace {

using namespace roost;
using namespace roost::auth;
using namespace std::chrono_literals;
namespace asio = boost::asio;

constexpr std::string_view forbidden = R"({"status":"error","message":"Forbidden resource"})";

const test::test_pki& pki() {
  static const test::test_pki p = test::make_pki();
  return p;
}

test::provider_key rsa_key(std::string kid) {
  return {test::pem_key(test::make_key("RSA").private_pem), jwt_algorithm::rs256, std::move(kid)};
}
test::provider_key ec_key(std::string kid) {
  return {test::pem_key(test::make_key("EC", "P-256").private_pem), jwt_algorithm::es256,
          std::move(kid)};
}

http_options trusting_test_ca() {
  http_options h;
  h.tls.ca_pem = pki().ca_pem;
  h.timeout = 5s;
  return h;
}

/// A clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<std::atomic<std::chrono::steady_clock::rep>> now =
      std::make_shared<std::atomic<std::chrono::steady_clock::rep>>(
          std::chrono::steady_clock::now().time_since_epoch().count());
  void advance(std::chrono::steady_clock::duration d) { *now += d.count(); }
  std::function<std::chrono::steady_clock::time_point()> fn() const {
    return [n = now] {
      return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(n->load()));
    };
  }
};

client_credentials_options credentials_for(const test::test_provider& p) {
  client_credentials_options o;
  o.token_url = p.base() + "/token";
  o.client_id = "orders-client";
  o.client_secret = "s3cret:with&odd=chars";
  o.scope = "orders:read orders:write";
  o.audience = "orders";
  o.http = trusting_test_ca();
  o.log = logger::silent();
  return o;
}

std::string decode_base64(std::string_view text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  while (!out.empty() && out.back() == '\0') out.pop_back();  // padding
  return out;
}

/// What a call throws, as text ("" when it does not).
template <class F>
std::string failure_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// --- client credentials ---------------------------------------------------------------------

TEST(client_credentials, fetches_a_token_with_basic_authentication_and_caches_it) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  client_credentials creds(credentials_for(provider));
  roost::testing::run([&]() -> awaitable<void> {
    const std::string first = co_await creds.token();
    const std::string second = co_await creds.token();
    EXPECT_FALSE(first.empty());
    EXPECT_EQ(first, second) << "the cached token is reused";
  });
  EXPECT_EQ(creds.fetches(), 1u);
  const auto seen = provider.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/token");
  // RFC 6749 §2.3.1: id and secret form-encoded, then base64.
  ASSERT_EQ(seen[0].authorization.rfind("Basic ", 0), 0u) << seen[0].authorization;
  EXPECT_EQ(decode_base64(seen[0].authorization.substr(6)),
            "orders-client:s3cret%3Awith%26odd%3Dchars");
  EXPECT_EQ(seen[0].body,
            "grant_type=client_credentials&scope=orders%3Aread+orders%3Awrite&audience=orders");
}

TEST(client_credentials, form_authentication_sends_the_credentials_in_the_body) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  auto o = credentials_for(provider);
  o.authentication = client_authentication::form;
  o.scope.clear();
  o.audience.clear();
  client_credentials creds(o);
  roost::testing::run([&]() -> awaitable<void> { (void)co_await creds.token(); });
  const auto seen = provider.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].authorization.empty());
  EXPECT_EQ(seen[0].body,
            "grant_type=client_credentials&client_id=orders-client"
            "&client_secret=s3cret%3Awith%26odd%3Dchars");
}

TEST(client_credentials, a_token_is_replaced_before_it_expires) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  provider.set_expires_in(100);
  manual_clock clock;
  auto o = credentials_for(provider);
  o.refresh_margin = 30s;
  o.clock = clock.fn();
  client_credentials creds(o);
  roost::testing::run([&]() -> awaitable<void> {
    (void)co_await creds.token();
    clock.advance(69s);
    (void)co_await creds.token();
    EXPECT_EQ(creds.fetches(), 1u) << "31 s left: still good";
    clock.advance(2s);
    (void)co_await creds.token();
    EXPECT_EQ(creds.fetches(), 2u) << "29 s left: within the margin, replaced";
    (void)co_await creds.token();
    EXPECT_EQ(creds.fetches(), 2u);
    creds.invalidate();
    (void)co_await creds.token();
    EXPECT_EQ(creds.fetches(), 3u) << "invalidate() drops the cached token";
  });
  EXPECT_EQ(provider.count("/token"), 3u);
}

TEST(client_credentials, a_short_lived_token_is_kept_for_half_its_life_at_least) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  provider.set_expires_in(20);  // shorter than the 30 s margin
  manual_clock clock;
  auto o = credentials_for(provider);
  o.clock = clock.fn();
  client_credentials creds(o);
  roost::testing::run([&]() -> awaitable<void> {
    (void)co_await creds.token();
    clock.advance(9s);
    (void)co_await creds.token();
    EXPECT_EQ(creds.fetches(), 1u);
    clock.advance(2s);
    (void)co_await creds.token();
    EXPECT_EQ(creds.fetches(), 2u);
  });
}

TEST(client_credentials, concurrent_callers_share_one_request) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  provider.hold_tokens();
  client_credentials creds(credentials_for(provider));
  constexpr int callers = 8;
  std::mutex m;
  std::vector<std::string> tokens;
  std::atomic<int> done{0};
  // Two threads: the callers resume on either.
  roost::testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto pause = [ex]() -> awaitable<void> {
          asio::steady_timer t(ex, 10ms);
          co_await t.async_wait(asio::use_awaitable);
        };
        for (int i = 0; i < callers; ++i) {
          asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                std::string t = co_await creds.token();
                std::lock_guard lock(m);
                tokens.push_back(std::move(t));
                ++done;
              },
              asio::detached);
        }
        // Every caller is waiting before the provider answers.
        while (provider.count("/token") == 0) co_await pause();
        for (int i = 0; i < 5; ++i) co_await pause();
        provider.release_tokens();
        while (done < callers) co_await pause();
      },
      20s, 2);
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(callers));
  for (const auto& t : tokens) EXPECT_EQ(t, tokens.front());
  EXPECT_EQ(creds.fetches(), 1u);
  EXPECT_EQ(provider.count("/token"), 1u);
}

TEST(client_credentials, a_refusal_is_a_clear_error_and_the_next_call_tries_again) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  provider.set_token_answer(
      401, R"({"error":"invalid_client","error_description":"Client authentication failed"})");
  client_credentials creds(credentials_for(provider));
  std::string what;
  roost::testing::run([&]() -> awaitable<void> {
    try {
      (void)co_await creds.token();
    } catch (const oauth_error& e) {
      what = e.what();
    }
    provider.set_token_answer(200);
    const std::string t = co_await creds.token();
    EXPECT_FALSE(t.empty());
  });
  EXPECT_NE(what.find("POST " + provider.base() + "/token"), std::string::npos) << what;
  EXPECT_NE(what.find("401"), std::string::npos) << what;
  EXPECT_NE(what.find("'invalid_client'"), std::string::npos) << what;
  EXPECT_NE(what.find("Client authentication failed"), std::string::npos) << what;
  EXPECT_EQ(what.find("s3cret"), std::string::npos) << "never the secret: " << what;
  EXPECT_EQ(creds.fetches(), 2u);
}

TEST(client_credentials, malformed_answers_are_refused) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  const std::vector<std::pair<std::string, std::string>> answers = {
      {"not json", "not a JSON object"},
      {R"({"token_type":"Bearer"})", "no access_token"},
      {R"({"access_token":"abc","token_type":"mac"})", "token_type 'mac', not Bearer"},
      {R"({"access_token":"abc"})", "token_type missing"},
  };
  for (const auto& [body, expected] : answers) {
    provider.set_token_answer(200, body);
    client_credentials creds(credentials_for(provider));
    std::string what;
    roost::testing::run([&]() -> awaitable<void> {
      try {
        (void)co_await creds.token();
      } catch (const oauth_error& e) {
        what = e.what();
      }
    });
    EXPECT_NE(what.find(expected), std::string::npos) << body << " -> " << what;
  }
}

TEST(client_credentials, transport_failures_are_clear_errors) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  std::string untrusted, closed;
  {
    auto o = credentials_for(provider);
    o.http.tls.ca_pem.clear();  // the system's CAs do not know the test CA
    client_credentials creds(o);
    roost::testing::run([&]() -> awaitable<void> {
      try {
        (void)co_await creds.token();
      } catch (const oauth_error& e) {
        untrusted = e.what();
      }
    });
  }
  {
    // A port nobody listens on (the acceptor of a provider that is gone).
    std::string gone;
    {
      test::test_provider other(pki());
      gone = other.base();
    }
    auto o = credentials_for(provider);
    o.token_url = gone + "/token";
    client_credentials creds(o);
    roost::testing::run([&]() -> awaitable<void> {
      try {
        (void)co_await creds.token();
      } catch (const oauth_error& e) {
        closed = e.what();
      }
    });
  }
  EXPECT_NE(untrusted.find("TLS handshake"), std::string::npos) << untrusted;
  EXPECT_NE(closed.find("cannot connect"), std::string::npos) << closed;
  EXPECT_EQ(provider.count("/token"), 0u);
}

TEST(client_credentials, bad_settings_are_refused_when_the_source_is_made) {
  client_credentials_options o;
  o.client_id = "x";
  o.token_url = "http://127.0.0.1:1/token";
  EXPECT_NE(failure_of([&] { client_credentials c(o); }).find("plain http:// is not allowed"),
            std::string::npos);
  o.token_url = "https://user:pw@127.0.0.1/token";
  EXPECT_NE(failure_of([&] { client_credentials c(o); }).find("credentials in the URL"),
            std::string::npos);
  o.token_url = "ftp://127.0.0.1/token";
  EXPECT_NE(failure_of([&] { client_credentials c(o); }).find("not an https:// URL"),
            std::string::npos);
  o.token_url = "https://127.0.0.1/token";
  o.client_id.clear();
  EXPECT_NE(failure_of([&] { client_credentials c(o); }).find("no client_id"), std::string::npos);
  o.client_id = "x";
  o.http.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(failure_of([&] { client_credentials c(o); }).find("cannot load CA"), std::string::npos);
  o.http.tls.ca_file.clear();
  o.token_url = "http://127.0.0.1:1/token";
  o.http.allow_http = true;
  EXPECT_EQ(failure_of([&] { client_credentials c(o); }), "") << "http:// when asked for";
}

bool refreshed(const jwks_source& keys) {
  bool done = false;
  roost::testing::run([&]() -> awaitable<void> { done = co_await keys.refresh(); });
  return done;
}

// --- a service guarded by the provider's keys -------------------------------------------------

/// A service whose `whoami` route is behind a jwt_guard over a jwks_source, answering the
/// claims it was given; the source's background refresh runs on a thread of its own.
class guarded_service {
 public:
  guarded_service(const test::test_provider& provider, jwks_options o, jwt_guard_options guard = {},
                  unknown_key_policy policy = unknown_key_policy::fetch_then_verify)
      : work_(asio::make_work_guard(background_)), thread_([this] { background_.run(); }) {
    jwt_rules rules;
    rules.algorithms = {jwt_algorithm::rs256, jwt_algorithm::es256};
    rules.audiences = {"orders"};
    if (o.issuer.empty() && o.jwks_uri.empty()) o.issuer = provider.base();
    o.http = trusting_test_ca();
    o.log = logger::silent();
    keys_.emplace(background_.get_executor(), rules, o);
    r_.message("whoami", [](const json::value&, context& ctx) -> json::value {
      const json::object* claims = jwt_claims(ctx);
      return claims ? json::value(*claims) : json::value(nullptr);
    });
    guard.log = std::getenv("OAUTH_TEST_LOG")
                    ? logger(log_level::debug,
                             [](log_level, std::string_view s, std::string_view m) {
                               std::fprintf(stderr, "%.*s: %.*s\n", (int)s.size(), s.data(),
                                            (int)m.size(), m.data());
                             })
                    : logger::silent();
    r_.enhance("whoami").use_guard(jwt_guard(*keys_, guard, policy));
    microservice_options mo;
    mo.threads = 1;
    mo.handle_signals = false;
    mo.log = logger::silent();
    app_ = std::make_unique<microservice>(r_, mo);
    app_->add_transport(broker_.server());
  }
  ~guarded_service() {
    app_.reset();
    keys_.reset();
    work_.reset();
    background_.stop();
    thread_.join();
  }

  jwks_source& keys() { return *keys_; }

  /// Starts the source (its first fetch), as an application does before serving.
  std::string start_keys() {
    std::string what;
    roost::testing::run([&]() -> awaitable<void> {
      try {
        co_await keys_->start();
      } catch (const oauth_error& e) {
        what = e.what();
      }
    });
    return what;
  }

  /// The reply to `whoami`, or the error the caller got, as JSON text; with `creds`, the
  /// client attaches its token through client_options::prepare.
  std::string call(call_options opts, std::optional<client_credentials> creds = std::nullopt) {
    std::string out;
    roost::testing::run([&]() -> awaitable<void> {
      const auto ex = co_await asio::this_coro::executor;
      co_await app_->start();
      client_options co;
      if (creds) co.prepare = creds->bearer();
      client_proxy client(ex, broker_.client(), co);
      try {
        out = boost::json::serialize(
            co_await client.send<json::value>("whoami", nullptr, std::move(opts)));
      } catch (const rpc_error& e) {
        out = boost::json::serialize(e.error());
      } catch (const oauth_error& e) {
        out = std::string("oauth_error: ") + e.what();
      }
      client.close();
      co_await app_->shutdown();
    });
    return out;
  }
  std::string call_with(const std::string& token) {
    call_options o;
    o.headers.add("authorization", "Bearer " + token);
    return call(std::move(o));
  }

 private:
  asio::io_context background_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::optional<jwks_source> keys_;
  router r_;
  roost::testing::memory_broker broker_;
  std::unique_ptr<microservice> app_;
};

TEST(jwks_guard, a_client_credentials_token_from_the_provider_passes_a_forged_one_does_not) {
  test::test_provider provider(pki());
  const auto signing = rsa_key("rsa-1");
  provider.set_keys({signing});
  guarded_service svc(provider, {}, {.required_scopes = {"orders:write"}});
  EXPECT_EQ(svc.start_keys(), "");
  EXPECT_EQ(provider.count("/.well-known/openid-configuration"), 1u) << "discovery";
  EXPECT_EQ(provider.count("/jwks"), 1u);

  // The client's calls carry the provider's token, fetched once.
  client_credentials creds(credentials_for(provider));
  const std::string reply = svc.call({}, creds);
  ASSERT_EQ(reply.front(), '{') << reply;
  const json::value seen = boost::json::parse(reply);
  EXPECT_EQ(seen.at("sub"), "basic-client");
  EXPECT_EQ(seen.at("iss"), json::value(provider.base()));
  EXPECT_EQ(boost::json::parse(svc.call({}, creds)), seen);
  EXPECT_EQ(provider.count("/token"), 1u);

  // The same claims and kid, signed with a key the provider does not have.
  test::provider_key forger = rsa_key("rsa-1");
  json::object claims = seen.as_object();
  EXPECT_EQ(svc.call_with(forger.sign(claims)), forbidden);
  EXPECT_EQ(svc.call_with(signing.sign(claims)), svc.call_with(signing.sign(claims)));
  EXPECT_NE(svc.call_with(signing.sign(claims)), forbidden);
  // Another issuer, with the provider's own key.
  claims["iss"] = "https://elsewhere.example";
  EXPECT_EQ(svc.call_with(signing.sign(claims)), forbidden);
  EXPECT_EQ(provider.count("/jwks"), 1u) << "known kids need no fetch";
}

TEST(jwks_guard, scopes_are_checked_per_handler) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  guarded_service svc(provider, {}, {.required_scopes = {"orders:write"}});
  EXPECT_EQ(svc.start_keys(), "");
  EXPECT_NE(svc.call_with(provider.issue("a", "orders:read orders:write", 60)), forbidden);
  EXPECT_EQ(svc.call_with(provider.issue("a", "orders:read", 60)), forbidden);
  EXPECT_EQ(svc.call_with(provider.issue("a", "", 60)), forbidden);
  EXPECT_EQ(svc.call_with(provider.issue("a", "orders:writer", 60)), forbidden);
}

TEST(jwks_guard, a_rotated_key_is_fetched_once_and_a_flood_of_unknown_kids_is_rate_limited) {
  test::test_provider provider(pki());
  const auto old_key = rsa_key("rsa-1");
  provider.set_keys({old_key});
  manual_clock clock;
  jwks_options o;
  o.clock = clock.fn();
  o.min_refresh_interval = 30s;
  guarded_service svc(provider, o);
  EXPECT_EQ(svc.start_keys(), "");
  EXPECT_EQ(provider.count("/jwks"), 1u);

  // The provider rotates to an EC key; its first token makes the guard fetch the keys again.
  clock.advance(31s);
  const auto new_key = ec_key("ec-2");
  provider.set_keys({new_key, old_key});
  const std::string token = provider.issue("ada", "", 60);
  EXPECT_EQ(json::value(boost::json::parse(svc.call_with(token))).at("sub"), "ada");
  EXPECT_EQ(provider.count("/jwks"), 2u);
  EXPECT_EQ(json::value(boost::json::parse(svc.call_with(token))).at("sub"), "ada");
  EXPECT_EQ(provider.count("/jwks"), 2u) << "a known kid needs no fetch";

  // A flood of tokens naming kids nobody has: refused, and no fetch within the interval.
  json::object claims{{"iss", provider.base()},
                      {"sub", "mallory"},
                      {"aud", "orders"},
                      {"exp", std::time(nullptr) + 60}};
  for (int i = 0; i < 20; ++i) {
    test::provider_key forged{new_key.key, jwt_algorithm::es256, "forged-" + std::to_string(i)};
    EXPECT_EQ(svc.call_with(forged.sign(claims)), forbidden);
  }
  EXPECT_EQ(provider.count("/jwks"), 2u) << "the rate limit holds";
  // Once the interval has passed, one unknown kid may cause one fetch again.
  clock.advance(31s);
  test::provider_key forged{new_key.key, jwt_algorithm::es256, "forged-late"};
  EXPECT_EQ(svc.call_with(forged.sign(claims)), forbidden);
  EXPECT_EQ(svc.call_with(forged.sign(claims)), forbidden);
  EXPECT_EQ(provider.count("/jwks"), 3u);

  // The withdrawn key's tokens stop passing once the provider's document drops it.
  provider.set_keys({new_key});
  clock.advance(31s);
  EXPECT_TRUE(refreshed(svc.keys()));
  test::provider_key withdrawn = old_key;
  EXPECT_EQ(svc.call_with(withdrawn.sign(claims)), forbidden);
}

TEST(jwks_guard, a_failed_fetch_keeps_the_keys_in_use) {
  test::test_provider provider(pki());
  const auto key = rsa_key("rsa-1");
  provider.set_keys({key});
  manual_clock clock;
  jwks_options o;
  o.jwks_uri = provider.base() + "/jwks";  // no discovery
  o.clock = clock.fn();
  guarded_service svc(provider, o);
  EXPECT_EQ(svc.start_keys(), "");
  EXPECT_EQ(provider.count("/.well-known/openid-configuration"), 0u);
  provider.set_jwks_status(500);
  clock.advance(31s);
  EXPECT_FALSE(refreshed(svc.keys()));
  EXPECT_EQ(provider.count("/jwks"), 2u);
  EXPECT_NE(svc.call_with(provider.issue("ada", "", 60)), forbidden);
  // A document without a usable signing key is a failure too, not an empty key set.
  provider.set_jwks_status(200);
  provider.set_keys({});
  clock.advance(31s);
  EXPECT_FALSE(refreshed(svc.keys()));
  provider.set_keys({key});
  EXPECT_NE(svc.call_with(provider.issue("ada", "", 60)), forbidden);
}

TEST(jwks_guard, a_first_fetch_that_fails_is_reported_and_tried_again_on_demand) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  provider.set_jwks_status(503);
  manual_clock clock;
  jwks_options o;
  o.clock = clock.fn();
  guarded_service svc(provider, o);
  const std::string what = svc.start_keys();
  EXPECT_NE(what.find("GET " + provider.base() + "/jwks: answered HTTP 503"), std::string::npos)
      << what;
  const std::string token = provider.issue("ada", "", 60);
  EXPECT_EQ(svc.call_with(token), forbidden) << "no keys yet, and the rate limit holds";
  provider.set_jwks_status(200);
  clock.advance(31s);
  EXPECT_NE(svc.call_with(token), forbidden) << "the next unknown kid fetches the keys";
}

TEST(jwks_guard, discovery_must_name_the_configured_issuer) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  jwks_options o;
  o.issuer = provider.base() + "/tenant";  // the document names base() as its issuer
  guarded_service svc(provider, o);
  const std::string what = svc.start_keys();
  EXPECT_NE(what.find("its issuer is not " + o.issuer), std::string::npos) << what;
  EXPECT_EQ(provider.count("/jwks"), 0u);
}

TEST(jwks_guard, the_synchronous_policy_refuses_an_unknown_kid_and_fetches_in_the_background) {
  test::test_provider provider(pki());
  const auto old_key = rsa_key("rsa-1");
  provider.set_keys({old_key});
  manual_clock clock;
  jwks_options o;
  o.clock = clock.fn();
  guarded_service svc(provider, o, {}, unknown_key_policy::refuse_and_refresh);
  EXPECT_EQ(svc.start_keys(), "");
  EXPECT_NE(svc.call_with(provider.issue("ada", "", 60)), forbidden);
  clock.advance(31s);
  provider.set_keys({ec_key("ec-2"), old_key});
  const std::string token = provider.issue("ada", "", 60);
  EXPECT_EQ(svc.call_with(token), forbidden) << "refused while the keys are fetched";
  // The fetch runs on its own; wait for it to finish (the deadline fails a hang).
  roost::testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    while (svc.keys().verifier()->keys()->size() < 2) {
      asio::steady_timer t(ex, 10ms);
      co_await t.async_wait(asio::use_awaitable);
    }
  });
  EXPECT_EQ(provider.count("/jwks"), 2u);
  EXPECT_NE(svc.call_with(token), forbidden);
}

TEST(jwks_source, refreshes_in_the_background_by_max_age) {
  test::test_provider provider(pki());
  provider.set_keys({rsa_key("rsa-1")});
  provider.set_cache_control("public, max-age=1");
  jwks_options o;
  o.min_refresh_interval = 1s;  // the floor of max-age
  guarded_service svc(provider, o);
  EXPECT_EQ(svc.start_keys(), "");
  // A rotation reaches the service without any token asking for it.
  const auto next = ec_key("ec-2");
  provider.set_keys({next});
  roost::testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    while (provider.count("/jwks") < 3) {
      asio::steady_timer t(ex, 50ms);
      co_await t.async_wait(asio::use_awaitable);
    }
  });
  auto keys = svc.keys().verifier()->keys();
  ASSERT_EQ(keys->size(), 1u);
  std::string ec2 = "ec-2";
  EXPECT_TRUE(keys->select(&ec2).has_value());
}

TEST(jwks_source, bad_settings_are_refused_when_the_source_is_made) {
  asio::io_context ioc;
  jwt_rules rules;
  rules.algorithms = {jwt_algorithm::rs256};
  EXPECT_NE(failure_of([&] {
              jwks_source s(ioc.get_executor(), rules, {});
            }).find("give jwks_uri or issuer"),
            std::string::npos);
  jwks_options o;
  o.jwks_uri = "http://127.0.0.1:1/jwks";
  EXPECT_NE(failure_of([&] {
              jwks_source s(ioc.get_executor(), rules, o);
            }).find("plain http:// is not allowed"),
            std::string::npos);
  o.http.allow_http = true;
  EXPECT_EQ(failure_of([&] { jwks_source s(ioc.get_executor(), rules, o); }), "");
}

}  // namespace
