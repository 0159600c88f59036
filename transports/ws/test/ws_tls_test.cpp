// wss:// over real sockets on 127.0.0.1: roost's client against roost's server under mutual TLS.
// The certificates are made at run time with the openssl command line, in a temporary directory.

#include <roost/ws.hpp>

#include <roost/roost.hpp>
#include <roost/testing/run.hpp>

#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace roost::ws::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class wss : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("roost-wss-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string openssl = std::string("'") + ROOST_OPENSSL_COMMAND + "'";
    const std::vector<std::string> steps{
        openssl +
            " req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
            " -subj '/CN=roost wss test CA' -addext 'basicConstraints=critical,CA:TRUE'"
            " -addext 'keyUsage=critical,keyCertSign,cRLSign'",
        openssl +
            " req -newkey rsa:2048 -nodes -keyout server.key -out server.csr"
            " -subj '/CN=localhost'",
        openssl +
            " x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            " -out server.crt -days 2 -extfile server.ext",
        openssl +
            " req -newkey rsa:2048 -nodes -keyout client.key -out client.csr"
            " -subj '/CN=roost wss test client'",
        openssl +
            " x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            " -out client.crt -days 2 -extfile client.ext",
    };
    std::ofstream(dir_ / "server.ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
           "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n";
    std::ofstream(dir_ / "client.ext")
        << "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n";
    for (const auto& step : steps) {
      const std::string cmd = "cd '" + dir_.string() + "' && " + step + " >>openssl.log 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        problem_ = "failed: " + step;
        return;
      }
    }
    ready_ = true;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void SetUp() override { ASSERT_TRUE(ready_) << problem_; }
  static std::string file(const char* name) { return (dir_ / name).string(); }

  static inline fs::path dir_;
  static inline bool ready_ = false;
  static inline std::string problem_;
};

microservice_options app_opts() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = 5s;
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

// The server requires a client certificate signed by its CA; the client checks the server's
// certificate and its address. With a certificate the calls go through (a stream too); without
// one the connection fails, promptly.
TEST_F(wss, mutual_tls_calls_and_a_client_without_a_certificate_refused) {
  testing::run([&]() -> awaitable<void> {
    router r;
    r.message("echo", [](json::value v) { return v; });
    r.message("count", [](int n) -> stream<int> {
      for (int i = 0; i < n; ++i) co_yield i;
    });
    server_options so;
    so.host = "127.0.0.1";
    so.port = 0;
    so.log = logger::silent();
    so.tls = tls_options{
        .ca_file = file("ca.crt"), .cert_file = file("server.crt"), .key_file = file("server.key")};
    microservice app(r, app_opts());
    auto& srv = app.add_transport(ws::server(so));
    co_await app.start();
    auto ex = co_await boost::asio::this_coro::executor;

    // From a URL, as the CLI and the peers build it.
    auto u = url::parse("wss://127.0.0.1:" + std::to_string(srv.port()) + "/?ca=" + file("ca.crt") +
                        "&cert=" + file("client.crt") + "&key=" + file("client.key"));
    EXPECT_TRUE(u);
    auto co = client_options_from(*u);
    EXPECT_TRUE(co);
    co->log = logger::silent();
    client_proxy c(ex, ws::client(*co));
    const std::string big(100'000, 'w');
    const std::string echoed = co_await c.send<std::string>("echo", big);
    EXPECT_EQ(echoed, big);
    auto counter = c.stream<int>("count", 3);
    std::vector<int> values;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      values.push_back(*v);
    }
    EXPECT_EQ(values, (std::vector<int>{0, 1, 2}));

    client_options anonymous;
    anonymous.host = "127.0.0.1";
    anonymous.port = srv.port();
    anonymous.tls = tls_options{.ca_file = file("ca.crt")};
    anonymous.log = logger::silent();
    client_proxy refused(ex, ws::client(anonymous));
    bool failed = false;
    try {
      co_await refused.send("echo", 1);
    } catch (const connection_error&) {
      failed = true;
    }
    EXPECT_TRUE(failed);
    co_await app.shutdown();
  });
}

}  // namespace
}  // namespace roost::ws::test
