// The real `roost` binary with --client-credentials: it fetches a token from a provider started
// here (TLS on loopback, a CA made at test time) and calls a TCP service whose guard verifies
// the token with the provider's JWKS. ROOST_CLI is the binary's path.

#include <roost/auth/jwks_source.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/tcp.hpp>
#include <roost/testing/run.hpp>

#include "test_keys.hpp"
#include "test_pki.hpp"
#include "test_provider.hpp"

#include <gtest/gtest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

using namespace roost;
using namespace std::chrono_literals;
namespace test = roost::auth::test;

struct cli_result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

cli_result run_cli(const std::string& args, const std::string& env = {}) {
  const std::string command = env + " '" + std::string(ROOST_CLI) + "' " + args + " 2>&1";
  cli_result r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), p))
    r.out.append(buffer.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The same on a thread of its own, so that the service, which runs on the caller's executor,
// serves the CLI meanwhile.
awaitable<cli_result> run_cli_async(std::string args, std::string env = {}) {
  cli_result r;
  std::atomic<bool> done{false};
  std::thread t([&] {
    r = run_cli(args, env);
    done = true;
  });
  const auto ex = co_await boost::asio::this_coro::executor;
  while (!done) {
    boost::asio::steady_timer wait(ex, 20ms);
    co_await wait.async_wait(boost::asio::use_awaitable);
  }
  t.join();
  co_return r;
}

TEST(roost_cli_oauth, client_credentials_fetch_a_token_the_service_accepts) {
  const test::test_pki pki = test::make_pki();
  const auto dir =
      std::filesystem::temp_directory_path() / ("roost_cli_oauth_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string ca_file = (dir / "ca.pem").string();
  std::ofstream(ca_file) << pki.ca_pem;

  test::test_provider provider(pki);
  provider.set_keys({{test::pem_key(test::make_key("EC", "P-256").private_pem),
                      auth::jwt_algorithm::es256, "ec-1"}});
  const std::string token_url = provider.base() + "/token";

  roost::testing::run(
      [&]() -> awaitable<void> {
        const auto ex = co_await boost::asio::this_coro::executor;
        // The route's guard holds the key source, which must go before its executor does.
        router r;
        r.message("whoami", [](context& ctx) -> json::value {
          const json::object* c = auth::jwt_claims(ctx);
          return c ? json::value(c->at("sub")) : json::value(nullptr);
        });
        auth::jwt_rules rules;
        rules.algorithms = {auth::jwt_algorithm::es256};
        rules.audiences = {"orders"};
        auth::jwks_options ko;
        ko.issuer = provider.base();
        ko.http.tls.ca_pem = pki.ca_pem;
        ko.log = logger::silent();
        auth::jwks_source keys(ex, rules, ko);
        co_await keys.start();
        auth::jwt_guard_options go;
        go.required_scopes = {"orders:write"};
        go.log = logger::silent();
        r.enhance("whoami").use_guard(auth::jwt_guard(keys, go));
        microservice_options mo;
        mo.threads = 1;
        mo.handle_signals = false;
        mo.log = logger::silent();
        microservice app(r, mo);
        auto& srv = app.add_transport(
            tcp::server({.host = "127.0.0.1", .port = 0, .log = logger::silent()}));
        co_await app.start();
        const std::string url = "tcp://127.0.0.1:" + std::to_string(srv.port());
        const std::string common = "call " + url + " whoami --client-credentials " + token_url +
                                   " --token-cacert '" + ca_file + "'";

        // The secret from the environment; the id as an option.
        auto ok_run =
            run_cli_async(common + " --client-id orders-cli --scope 'orders:read orders:write'",
                          "ROOST_CLIENT_SECRET=s3cret");
        auto ok = co_await std::move(ok_run);
        EXPECT_EQ(ok.exit_code, 0) << ok.out;
        EXPECT_EQ(ok.out, "\"basic-client\"\n");
        const auto seen = provider.requests();
        EXPECT_EQ(seen.size(), 3u);  // discovery, JWKS, token
        if (seen.size() == 3) {
          EXPECT_EQ(seen[2].body,
                    "grant_type=client_credentials&scope=orders%3Aread+orders%3Awrite");
          EXPECT_EQ(seen[2].authorization, "Basic b3JkZXJzLWNsaTpzM2NyZXQ=");  // orders-cli:s3cret
        }

        // A token without the scope the handler asks for.
        auto narrow_run =
            run_cli_async(common + " --scope orders:read", "ROOST_CLIENT_ID=orders-cli");
        auto narrow = co_await std::move(narrow_run);
        EXPECT_EQ(narrow.exit_code, 1) << narrow.out;
        EXPECT_NE(narrow.out.find("Forbidden resource"), std::string::npos) << narrow.out;

        // The token endpoint refuses: exit 5 with its error.
        provider.set_token_answer(401, R"({"error":"invalid_client"})");
        auto refused_run = run_cli_async(common + " --client-id orders-cli");
        auto refused = co_await std::move(refused_run);
        EXPECT_EQ(refused.exit_code, 5) << refused.out;
        EXPECT_NE(refused.out.find("'invalid_client'"), std::string::npos) << refused.out;

        // Bad arguments: exit 2, nothing asked of the endpoint.
        const std::size_t before = provider.count("/token");
        auto no_id_run = run_cli_async(common);
        auto no_id = co_await std::move(no_id_run);
        EXPECT_EQ(no_id.exit_code, 2) << no_id.out;
        EXPECT_NE(no_id.out.find("--client-id"), std::string::npos) << no_id.out;
        auto both_run = run_cli_async(common + " --client-id x --jwt a.b.c");
        auto both = co_await std::move(both_run);
        EXPECT_EQ(both.exit_code, 2) << both.out;
        auto plain_run =
            run_cli_async("call " + url + " whoami --client-id x --client-credentials " +
                          "http://127.0.0.1:1/token");
        auto plain = co_await std::move(plain_run);
        EXPECT_EQ(plain.exit_code, 2) << plain.out;
        EXPECT_NE(plain.out.find("plain http://"), std::string::npos) << plain.out;
        EXPECT_EQ(provider.count("/token"), before);
        co_await app.shutdown();
      },
      60s);
  std::filesystem::remove_all(dir);
}

}  // namespace
