#include <roost/auth/jwt_guard.hpp>

#include <roost/auth/jwt_signer.hpp>
#include <roost/client_proxy.hpp>
#include <roost/errors.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

// The JWT guard served through a microservice over the in-memory transport, as a caller sees
// it: the reply (the handler's view of the claims) or NestJS's Forbidden resource.

namespace {

using namespace roost;
using namespace roost::auth;

constexpr std::int64_t now_s = 1'700'000'000;
constexpr std::string_view secret = "a 256-bit secret for the guard tests, not for use";
constexpr std::string_view forbidden = R"({"status":"error","message":"Forbidden resource"})";

std::shared_ptr<const jwt_verifier> hs256_verifier() {
  jwt_rules rules;
  rules.algorithms = {jwt_algorithm::hs256};
  rules.audiences = {"orders"};
  rules.clock = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_s)); };
  return std::make_shared<const jwt_verifier>(std::move(rules), jwt_key::hmac(secret).value());
}

std::string token(json::object claims, std::string_view key = secret) {
  return jwt_signer(jwt_key::hmac(key).value(), jwt_algorithm::hs256).sign(claims).value();
}

json::object good_claims() {
  return {{"sub", "ada"},
          {"aud", "orders"},
          {"exp", now_s + 60},
          {"scope", "orders:read orders:write"}};
}

call_options bearer(const std::string& t) {
  call_options o;
  o.headers.add("authorization", "Bearer " + t);
  return o;
}

/// A service whose `whoami` route is behind a jwt_guard and answers the claims it was given.
class guarded_service {
 public:
  /// `options.log` stays silent unless `log` is given.
  explicit guarded_service(jwt_guard_options options, std::optional<logger> log = std::nullopt) {
    r_.message("whoami", [](const json::value&, context& ctx) -> json::value {
      const json::object* claims = jwt_claims(ctx);
      return claims ? json::value(*claims) : json::value(nullptr);
    });
    options.log = log ? *log : logger::silent();
    r_.enhance("whoami").use_guard(jwt_guard(hs256_verifier(), std::move(options)));
    microservice_options o;
    o.threads = 1;
    o.handle_signals = false;
    o.log = logger::silent();
    app_ = std::make_unique<microservice>(r_, o);
    app_->add_transport(broker_.server());
  }

  /// The reply to `whoami` with `data`, or the error the caller got, as JSON text.
  std::string call(json::value data, call_options opts = {}) {
    std::string out;
    roost::testing::run([&]() -> awaitable<void> {
      const auto ex = co_await boost::asio::this_coro::executor;
      co_await app_->start();
      client_proxy client(ex, broker_.client());
      try {
        out = boost::json::serialize(
            co_await client.send<json::value>("whoami", data, std::move(opts)));
      } catch (const rpc_error& e) {
        out = boost::json::serialize(e.error());
      }
      client.close();
      co_await app_->shutdown();
    });
    return out;
  }

 private:
  router r_;
  roost::testing::memory_broker broker_;
  std::unique_ptr<microservice> app_;
};

TEST(jwt_guard, a_valid_bearer_token_passes_and_the_handler_sees_its_claims) {
  guarded_service svc({});
  const json::value seen = boost::json::parse(svc.call(nullptr, bearer(token(good_claims()))));
  EXPECT_EQ(seen, json::value(good_claims()));
}

TEST(jwt_guard, refused_tokens_answer_forbidden_resource) {
  guarded_service svc({});
  auto expired = good_claims();
  expired["exp"] = now_s - 1;
  auto other_audience = good_claims();
  other_audience["aud"] = "billing";
  EXPECT_EQ(svc.call(nullptr), forbidden) << "no token";
  EXPECT_EQ(svc.call(nullptr, bearer(token(expired))), forbidden) << "expired";
  EXPECT_EQ(svc.call(nullptr, bearer(token(other_audience))), forbidden) << "wrong audience";
  EXPECT_EQ(svc.call(nullptr, bearer(token(good_claims(), "another secret, same length......"))),
            forbidden)
      << "forged";
  call_options basic;
  basic.headers.add("authorization", "Basic " + token(good_claims()));
  EXPECT_EQ(svc.call(nullptr, basic), forbidden) << "another scheme";
}

TEST(jwt_guard, the_token_may_come_in_a_payload_field) {
  jwt_guard_options o;
  o.payload_field = "token";
  guarded_service svc(std::move(o));
  const json::value seen =
      boost::json::parse(svc.call(json::object{{"token", token(good_claims())}, {"n", 1}}));
  EXPECT_EQ(seen.at("sub"), "ada");
  EXPECT_EQ(svc.call(json::object{{"token", "not.a.token"}}), forbidden);
  EXPECT_EQ(svc.call(json::object{{"jwt", token(good_claims())}}), forbidden) << "other field";
}

TEST(jwt_guard, without_a_payload_field_a_token_in_the_payload_is_not_looked_at) {
  guarded_service svc({});
  EXPECT_EQ(svc.call(json::object{{"token", token(good_claims())}}), forbidden);
}

TEST(jwt_guard, required_scopes_from_scope_or_scp) {
  jwt_guard_options o;
  o.required_scopes = {"orders:write"};
  guarded_service svc(std::move(o));
  EXPECT_NE(svc.call(nullptr, bearer(token(good_claims()))), forbidden);

  auto read_only = good_claims();
  read_only["scope"] = "orders:read orders:writer";
  EXPECT_EQ(svc.call(nullptr, bearer(token(read_only))), forbidden) << "a longer scope";

  auto scp = good_claims();
  scp.erase("scope");
  scp["scp"] = json::array{"orders:read", "orders:write"};
  EXPECT_NE(svc.call(nullptr, bearer(token(scp))), forbidden) << "scp array";
  scp["scp"] = json::array{"orders:read"};
  EXPECT_EQ(svc.call(nullptr, bearer(token(scp))), forbidden) << "scp without the scope";
}

TEST(jwt_guard, a_denial_is_logged_with_its_reason_and_without_the_token) {
  std::vector<std::string> lines;
  const logger capture(log_level::debug, [&](log_level, std::string_view, std::string_view m) {
    lines.emplace_back(m);
  });
  guarded_service svc({}, capture);
  auto expired = good_claims();
  expired["exp"] = now_s - 1;
  const std::string t = token(expired);
  ASSERT_EQ(svc.call(nullptr, bearer(t)), forbidden);
  ASSERT_EQ(svc.call(nullptr), forbidden);
  std::vector<std::string> denials;
  for (const auto& l : lines) {
    if (l.find("denied") != std::string::npos) denials.push_back(l);
  }
  ASSERT_EQ(denials.size(), 2u);
  EXPECT_NE(denials[0].find("expired"), std::string::npos) << denials[0];
  EXPECT_NE(denials[0].find("whoami"), std::string::npos) << denials[0];
  EXPECT_NE(denials[1].find("no bearer token"), std::string::npos) << denials[1];
  for (const auto& l : lines) {
    EXPECT_EQ(l.find(t.substr(t.rfind('.') + 1)), std::string::npos) << "signature in " << l;
    EXPECT_EQ(l.find(t.substr(0, t.find('.'))), std::string::npos) << "token header in " << l;
  }
}

}  // namespace
