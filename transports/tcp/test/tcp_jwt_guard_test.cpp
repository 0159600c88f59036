// roost::auth::jwt_guard over real sockets: the client sends its token as NestJS 12 packet
// metadata, the guard reads it as headers, and the handler answers the claims it was given; no
// token, an expired, a forged or a malformed one gets NestJS's `Forbidden resource`.

#include <roost/auth/jwt_guard.hpp>
#include <roost/auth/jwt_signer.hpp>
#include <roost/tcp.hpp>

#include "loopback_support.hpp"

namespace roost::tcp::test {
namespace {

constexpr std::string_view secret = "a 256-bit secret for the guard tests, not for use";

TEST(tcp_jwt_guard, a_token_sent_as_metadata_reaches_the_handler_as_claims) {
  auth::jwt_rules rules;
  rules.algorithms = {auth::jwt_algorithm::hs256};
  rules.audiences = {"orders"};
  auto verifier =
      std::make_shared<const auth::jwt_verifier>(rules, auth::jwt_key::hmac(secret).value());
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() +
                   300;
  const json::object claims{{"sub", "ada"}, {"aud", "orders"}, {"exp", exp}};
  const std::string token =
      auth::jwt_signer(auth::jwt_key::hmac(secret).value(), auth::jwt_algorithm::hs256)
          .sign(claims)
          .value();

  router r;
  r.message("whoami", [](context& ctx) -> json::value {
    const json::object* c = auth::jwt_claims(ctx);
    return c ? json::value(*c) : json::value(nullptr);
  });
  auth::jwt_guard_options o;
  o.log = logger::silent();
  r.enhance("whoami").use_guard(auth::jwt_guard(verifier, std::move(o)));

  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(client_opts(svc.port())));

    call_options with_token;
    with_token.metadata = json::object{{"authorization", "Bearer " + token}};
    const json::value seen = co_await c.send("whoami", nullptr, std::move(with_token));
    EXPECT_EQ(seen, json::value(claims));

    const std::string forbidden = R"({"status":"error","message":"Forbidden resource"})";
    std::string denied = "no error";
    try {
      co_await c.send("whoami", nullptr);
    } catch (const rpc_error& e) {
      denied = str(e.error());
    }
    EXPECT_EQ(denied, forbidden) << "no token";

    // Tokens the guard must refuse: expired, signed with another secret, not a JWT.
    const json::object old_claims{{"sub", "ada"}, {"aud", "orders"}, {"exp", exp - 600}};
    const std::string expired =
        auth::jwt_signer(auth::jwt_key::hmac(secret).value(), auth::jwt_algorithm::hs256)
            .sign(old_claims)
            .value();
    const std::string forged =
        auth::jwt_signer(auth::jwt_key::hmac("another secret").value(), auth::jwt_algorithm::hs256)
            .sign(claims)
            .value();
    const std::vector<std::string> refused{expired, forged, "x.y.z"};
    for (const std::string& bad : refused) {
      call_options o;
      o.metadata = json::object{{"authorization", "Bearer " + bad}};
      std::string got = "no error";
      try {
        co_await c.send("whoami", nullptr, std::move(o));
      } catch (const rpc_error& e) {
        got = str(e.error());
      }
      EXPECT_EQ(got, forbidden) << bad;
    }
    c.close();
    co_await svc.app.shutdown();
  });
}

}  // namespace
}  // namespace roost::tcp::test
