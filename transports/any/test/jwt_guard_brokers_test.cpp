// roost::auth::jwt_guard over every broker transport of this build, against the real brokers
// (scripts/brokers.sh; each one's URL in its ROOST_<BROKER>_URL): a roost client sends its token
// as the call's `authorization` header, which each transport carries its own way (NestJS 12
// packet metadata on Redis and MQTT 3.1.1, a message header on NATS, an AMQP header on RabbitMQ,
// a user property on MQTT 5), and the guard reads it back as the message's headers. A valid
// token reaches the handler, which answers the claims it was given; a missing, expired, forged
// or malformed one gets NestJS's `Forbidden resource` and the handler does not run. A broker
// whose URL is unset fails its case, never skips it; the routes are the test's own, as the
// brokers are shared with other tests and runs.

#include <roost/auth/jwt_guard.hpp>
#include <roost/auth/jwt_signer.hpp>
#include <roost/roost.hpp>
#include <roost/testing/run.hpp>
#include <roost/transports.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace roost::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::string_view secret = "a 256-bit secret for the guard tests, not for use";
constexpr std::string_view forger_secret = "another secret, which the service does not trust";
constexpr std::string_view forbidden = R"({"status":"error","message":"Forbidden resource"})";

std::string unique_name(std::string_view what) {
  std::random_device rd;
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1'000'000) + "." +
         std::string(what);
}

struct broker {
  std::string name;      // the test's name for it
  std::string scheme;    // of its URL: the case runs when this build has that transport
  std::string variable;  // where scripts/brokers.sh puts its URL
  std::string query;     // added to that URL's query: what keeps the test to itself
};

// The brokers of this build's transports. On RabbitMQ the requests go to a queue, which every
// server consuming it shares: the test's is its own, and goes with its consumer.
std::vector<broker> brokers() {
  const std::vector<broker> all{
      {"redis", "redis", "ROOST_REDIS_URL", ""},
      {"nats", "nats", "ROOST_NATS_URL", ""},
      {"rabbitmq", "amqp", "ROOST_RABBITMQ_URL",
       "queue=" + unique_name("guarded") + "&durable=false&autoDelete=true"},
      {"mqtt", "mqtt", "ROOST_MQTT_URL", ""},
      {"mqtt5", "mqtt", "ROOST_MQTT_URL", "protocolVersion=5"}};
  std::vector<broker> built;
  for (const auto& b : all) {
    if (find_transport(b.scheme)) built.push_back(b);
  }
  return built;
}

url broker_url(const broker& b) {
  const char* text = std::getenv(b.variable.c_str());
  if (!text || !*text) {
    throw std::runtime_error(b.variable +
                             " is not set (run `bash scripts/brokers.sh start` and export what "
                             "`bash scripts/brokers.sh env` prints)");
  }
  std::string full = text;
  if (!b.query.empty()) {
    full += (full.find('?') == std::string::npos ? "/?" : "&") + b.query;
  }
  auto u = url::parse(full);
  if (!u) throw std::runtime_error("bad " + b.variable + " " + full);
  return *u;
}

microservice_options app_opts() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = 2s;
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

std::int64_t seconds_from_now(std::int64_t s) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         s;
}

std::string sign(std::string_view key, const json::object& claims) {
  return auth::jwt_signer(auth::jwt_key::hmac(key).value(), auth::jwt_algorithm::hs256)
      .sign(claims)
      .value();
}

// What a call sending `<name>: <value>` (no header when the value is empty) gets: the reply, or
// the error, as JSON text.
awaitable<std::string> call_with(client_proxy& c, json::value route, std::string name,
                                 std::string value) {
  call_options o;
  if (!value.empty()) o.headers.set(name, std::move(value));
  try {
    auto reply = co_await c.send(route, nullptr, std::move(o));
    co_return json::serialize(reply);
  } catch (const rpc_error& e) {
    co_return json::serialize(e.error());
  }
}

class jwt_guard_on : public ::testing::TestWithParam<broker> {};

TEST_P(jwt_guard_on, a_valid_token_in_the_headers_reaches_the_handler_others_are_forbidden) {
  const url where = broker_url(GetParam());
  auth::jwt_rules rules;
  rules.algorithms = {auth::jwt_algorithm::hs256};
  rules.audiences = {"orders"};
  auto verifier =
      std::make_shared<const auth::jwt_verifier>(rules, auth::jwt_key::hmac(secret).value());
  const json::object claims{{"sub", "ada"}, {"aud", "orders"}, {"exp", seconds_from_now(300)}};
  const json::object old{{"sub", "ada"}, {"aud", "orders"}, {"exp", seconds_from_now(-60)}};
  const std::string valid = sign(secret, claims), expired = sign(secret, old),
                    forged = sign(forger_secret, claims);

  const json::value route = json::string(unique_name("whoami"));
  std::atomic<int> handled{0};
  router r;
  r.message(route, [&handled](context& ctx) -> json::value {
    ++handled;
    const json::object* c = auth::jwt_claims(ctx);
    return c ? json::value(*c) : json::value(nullptr);
  });
  auth::jwt_guard_options o;
  o.log = logger::silent();
  r.enhance(route).use_guard(auth::jwt_guard(verifier, std::move(o)));

  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_opts());
    app.add_transport(make_server(where, logger::silent()).value());
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, make_client(where, logger::silent()).value());

    const std::string seen = co_await call_with(c, route, "authorization", "Bearer " + valid);
    EXPECT_EQ(seen, json::serialize(claims));
    // The header's name in any case, as NestJS code sets metadata keys freely.
    const std::string capitalized =
        co_await call_with(c, route, "Authorization", "Bearer " + valid);
    EXPECT_EQ(capitalized, json::serialize(claims));

    const std::string missing = co_await call_with(c, route, "authorization", "");
    EXPECT_EQ(missing, forbidden) << "no token";
    const std::string late = co_await call_with(c, route, "authorization", "Bearer " + expired);
    EXPECT_EQ(late, forbidden) << "an expired token";
    const std::string fake = co_await call_with(c, route, "authorization", "Bearer " + forged);
    EXPECT_EQ(fake, forbidden) << "a token signed with another secret";
    const std::string garbage = co_await call_with(c, route, "authorization", "Bearer x.y.z");
    EXPECT_EQ(garbage, forbidden) << "a malformed token";
    const std::string basic = co_await call_with(c, route, "authorization", "Basic " + valid);
    EXPECT_EQ(basic, forbidden) << "another scheme";
    EXPECT_EQ(handled.load(), 2) << "the handler ran for the valid tokens only";
    c.close();
    co_await app.shutdown();
  });
}

INSTANTIATE_TEST_SUITE_P(brokers, jwt_guard_on, ::testing::ValuesIn(brokers()),
                         [](const ::testing::TestParamInfo<broker>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace roost::test
