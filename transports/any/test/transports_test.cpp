#include <roost/transports.hpp>

#include <roost/client_proxy.hpp>
#include <roost/errors.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/run.hpp>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>
#include <vector>

// make_server(url) / make_client(url) find each transport through the build's generated table
// of transport modules; the in-memory transport (roost::testing, memory://NAME) is declared as
// any other, so it proves the table without a network.

namespace roost {
namespace {

microservice_options quiet() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = std::chrono::seconds(5);
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

url parse(const std::string& text) {
  auto u = url::parse(text);
  EXPECT_TRUE(u) << text;
  return u ? *u : url{};
}

bool has_scheme(std::string_view s) {
  auto all = transport_schemes();
  return std::find(all.begin(), all.end(), s) != all.end();
}

TEST(transports, memory_server_and_client_meet_by_name) {
  router r;
  r.message("sum", [](std::vector<int> xs) { return std::accumulate(xs.begin(), xs.end(), 0); });
  testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    auto server = make_server(parse("memory://orders"));
    EXPECT_TRUE(server);
    if (!server) co_return;
    EXPECT_EQ((*server)->name(), "memory");
    microservice app(r, quiet());
    app.add_transport(std::move(*server));
    co_await app.start();

    auto transport = make_client(parse("memory://orders"));
    EXPECT_TRUE(transport);
    if (!transport) co_return;
    client_proxy client(ex, std::move(*transport));
    const std::vector<int> xs = {1, 2, 3};
    const int sum = co_await client.send<int>("sum", xs);
    EXPECT_EQ(sum, 6);

    // Another name is another broker: nobody serves there.
    auto elsewhere = make_client(parse("memory://elsewhere"));
    EXPECT_TRUE(elsewhere);
    if (elsewhere) {
      client_proxy lonely(ex, std::move(*elsewhere));
      bool refused = false;
      try {
        co_await lonely.connect();
      } catch (const connection_error&) {
        refused = true;
      }
      EXPECT_TRUE(refused);
    }
    co_await app.shutdown();
  });
}

TEST(transports, every_declared_module_is_in_the_table) {
  EXPECT_TRUE(has_scheme("memory"));
  const transport_module* m = find_transport("memory");
  EXPECT_NE(m, nullptr);
  if (m) {
    EXPECT_EQ(m->name, "memory");
  }
  // One module per roost_add_transport() of this build, each reached by its schemes.
  std::vector<const transport_module*> modules;
  for (std::string_view s : transport_schemes()) {
    const transport_module* t = find_transport(s);
    EXPECT_NE(t, nullptr) << s;
    if (std::find(modules.begin(), modules.end(), t) == modules.end()) modules.push_back(t);
  }
  EXPECT_EQ(modules.size(), std::size_t{ROOST_TEST_TRANSPORT_MODULES});
}

TEST(transports, unknown_scheme_is_refused_naming_the_known_ones) {
  std::vector<std::string> lines;
  logger log(log_level::debug,
             [&](log_level, std::string_view, std::string_view m) { lines.emplace_back(m); });
  auto c = make_client(parse("gopher://host:70"), log);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), make_error_code(error::invalid_argument));
  auto s = make_server(parse("gopher://host:70"), log);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), make_error_code(error::invalid_argument));

  const std::string message = unknown_scheme_message("gopher");
  EXPECT_NE(message.find("'gopher://'"), std::string::npos) << message;
  for (std::string_view known : transport_schemes()) {
    EXPECT_NE(message.find(std::string(known)), std::string::npos) << message;
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], message);
  EXPECT_EQ(lines[1], message);
}

TEST(transports, memory_url_needs_a_name) {
  auto u = url::parse("memory://");
  if (u) {
    EXPECT_FALSE(make_client(*u));
  }
}

}  // namespace
}  // namespace roost
