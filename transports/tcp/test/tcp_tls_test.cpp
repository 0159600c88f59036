// TLS and mutual TLS on the TCP transport, over 127.0.0.1. The CA, server and client
// certificates are made at run time with the openssl command line, in a temporary directory.

#include <roost/tcp/options.hpp>

#include "loopback_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace roost::tcp::test {
namespace {

namespace fs = std::filesystem;

const std::vector<double> one_two_three{1, 2, 3};

/// "ok:<sum>" or "connection_error:<what>".
awaitable<std::string> try_sum(client_proxy& c) {
  try {
    const json::value v = co_await c.send("sum", one_two_three);
    co_return "ok:" + str(v);
  } catch (const connection_error& e) {
    co_return std::string("connection_error:") + e.what();
  }
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

class tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifdef ROOST_OPENSSL_COMMAND
    dir_ = fs::temp_directory_path() / ("roost-tcp-tls-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string openssl = std::string("'") + ROOST_OPENSSL_COMMAND + "'";
    const std::vector<std::string> steps{
        openssl +
            " req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
            " -subj '/CN=roost test CA' -addext 'basicConstraints=critical,CA:TRUE'"
            " -addext 'keyUsage=critical,keyCertSign,cRLSign'",
        // The server: CN and SAN localhost, and SAN 127.0.0.1.
        openssl +
            " req -newkey rsa:2048 -nodes -keyout server.key -out server.csr"
            " -subj '/CN=localhost'",
        openssl +
            " x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            " -out server.crt -days 2 -extfile server.ext",
        openssl +
            " req -newkey rsa:2048 -nodes -keyout client.key -out client.csr"
            " -subj '/CN=roost test client'",
        openssl +
            " x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            " -out client.crt -days 2 -extfile client.ext",
    };
    std::ofstream(dir_ / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                          "extendedKeyUsage=serverAuth\n"
                                          "basicConstraints=CA:FALSE\n";
    std::ofstream(dir_ / "client.ext") << "extendedKeyUsage=clientAuth\n"
                                          "basicConstraints=CA:FALSE\n";
    for (const auto& step : steps) {
      const std::string cmd = "cd '" + dir_.string() + "' && " + step + " >>openssl.log 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        problem_ = "failed: " + step + "\n" + read("openssl.log");
        return;
      }
    }
    ready_ = true;
#else
    problem_ = "no openssl command line found at configure time";
#endif
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  void SetUp() override {
#ifdef ROOST_OPENSSL_COMMAND
    ASSERT_TRUE(ready_) << problem_;
#else
    FAIL() << problem_;
#endif
  }

  static std::string file(const char* name) {
    return (dir_ / name).string();
  }
  static std::string read(const char* name) {
    std::ifstream in(dir_ / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// A TLS server; with `client_ca`, it requires client certificates signed by the test CA.
  static server_options tls_server(bool client_ca) {
    server_options o = server_opts();
    tls_options t;
    t.cert_file = file("server.crt");
    t.key_file = file("server.key");
    t.verify_peer = client_ca;
    if (client_ca) t.ca_file = file("ca.crt");
    o.tls = t;
    return o;
  }

  /// A client that trusts the test CA and checks the name "localhost".
  static tls_options trusting() {
    tls_options t;
    t.ca_file = file("ca.crt");
    t.server_name = "localhost";
    return t;
  }

  static tcp::client_options tls_client(std::uint16_t port, tls_options t) {
    tcp::client_options o = client_opts(port);
    o.tls = std::move(t);
    return o;
  }

  service_state st;
  router r = make_router(st);
  static inline fs::path dir_;
  static inline bool ready_ = false;
  static inline std::string problem_;
};

TEST_F(tls, calls_over_tls) {
  testing::run([&]() -> awaitable<void> {
    service svc(r, tls_server(false));
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(tls_client(svc.port(), trusting())));
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    // Frames larger than a TLS record, and a stream.
    const std::string big(100'000, 'z');
    const std::string echoed = co_await c.send<std::string>("echo", big);
    EXPECT_EQ(echoed, big);
    auto counter = c.stream<int>("count", 3);
    int n = 0;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      EXPECT_EQ(*v, n++);
    }
    EXPECT_EQ(n, 3);
    co_await c.emit("note", 1);
    const bool seen = co_await eventually([&] { return st.events.load() == 1; });
    EXPECT_TRUE(seen);
    co_await svc.app.shutdown();
  });
}

// max_connections (roost/limits.hpp) counts TLS connections too; one beyond it is closed as
// soon as it is accepted, before its handshake, and its client sees a failed connection.
TEST_F(tls, connections_beyond_the_limit_are_refused_before_the_handshake) {
  testing::run([&]() -> awaitable<void> {
    server_options so = tls_server(false);
    so.serving.max_connections = 1;
    service svc(r, so);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy first(ex, tcp::client(tls_client(svc.port(), trusting())));
    const std::string served = co_await try_sum(first);
    EXPECT_EQ(served, "ok:6");
    client_proxy second(ex, tcp::client(tls_client(svc.port(), trusting())));
    const std::string refused = co_await try_sum(second);
    EXPECT_TRUE(starts_with(refused, "connection_error:")) << refused;
    const std::string still = co_await try_sum(first);
    EXPECT_EQ(still, "ok:6");
    // Once the first is gone, its place is free (the server sees the close a moment later).
    first.close();
    std::string later;
    for (int attempt = 0; attempt < 200 && !starts_with(later, "ok:"); ++attempt) {
      later = co_await try_sum(second);
      if (!starts_with(later, "ok:")) co_await pause_for(10ms);
    }
    EXPECT_EQ(later, "ok:6");
    co_await svc.app.shutdown();
  });
}

// The same with PEM text instead of files; with no server_name the client checks the
// certificate against the IP address it connects to (SAN IP:127.0.0.1), or against the host
// name it was given.
TEST_F(tls, in_memory_pem_and_host_checks) {
  testing::run([&]() -> awaitable<void> {
    server_options so = server_opts();
    tls_options server_tls;
    server_tls.cert_pem = read("server.crt");
    server_tls.key_pem = read("server.key");
    server_tls.verify_peer = false;
    so.tls = server_tls;
    service svc(r, so);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;

    tls_options by_ip;
    by_ip.ca_pem = read("ca.crt");
    client_proxy c1(ex, tcp::client(tls_client(svc.port(), by_ip)));
    const std::string r1 = co_await try_sum(c1);
    EXPECT_EQ(r1, "ok:6");

    tls_options by_name;
    by_name.ca_pem = read("ca.crt");
    tcp::client_options named = tls_client(svc.port(), by_name);
    named.host = "localhost";  // may resolve to ::1 first; the server is on 127.0.0.1 only
    client_proxy c2(ex, tcp::client(named));
    const std::string r2 = co_await try_sum(c2);
    EXPECT_EQ(r2, "ok:6");

    tls_options wrong = trusting();
    wrong.server_name = "wrong.example";
    client_proxy c3(ex, tcp::client(tls_client(svc.port(), wrong)));
    const std::string r3 = co_await try_sum(c3);
    EXPECT_TRUE(starts_with(r3, "connection_error:TLS handshake with 127.0.0.1:")) << r3;
    EXPECT_NE(r3.find("certificate verify failed"), std::string::npos) << r3;
    co_await svc.app.shutdown();
  });
}

TEST_F(tls, a_client_without_the_ca_fails_verification) {
  testing::run([&]() -> awaitable<void> {
    service svc(r, tls_server(false));
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    tls_options no_ca;  // verify_peer is on by default: the system CAs do not know ours
    no_ca.server_name = "localhost";
    client_proxy c(ex, tcp::client(tls_client(svc.port(), no_ca)));
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await c.connect();
      ADD_FAILURE() << "connected";
    } catch (const connection_error& e) {
      EXPECT_EQ(e.code(), make_error_code(error::not_connected));
      const std::string what = e.what();
      EXPECT_TRUE(starts_with(what, "TLS handshake with 127.0.0.1:")) << what;
      EXPECT_NE(what.find("certificate verify failed"), std::string::npos) << what;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(c.pending(), 0u);

    // Without verification it connects (and the server is still fine).
    tls_options insecure;
    insecure.verify_peer = false;
    client_proxy c2(ex, tcp::client(tls_client(svc.port(), insecure)));
    const std::string r2 = co_await try_sum(c2);
    EXPECT_EQ(r2, "ok:6");
    co_await svc.app.shutdown();
  });
}

// With verify_peer on the server, a client must present a certificate signed by its CA. In
// TLS 1.3 the client finishes its handshake before the server has checked its certificate,
// so the rejection may show up on the first call rather than on connect.
TEST_F(tls, mutual_tls) {
  testing::run([&]() -> awaitable<void> {
    service svc(r, tls_server(true));
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;

    client_proxy anonymous(ex, tcp::client(tls_client(svc.port(), trusting())));
    const std::string r1 = co_await try_sum(anonymous);
    EXPECT_TRUE(starts_with(r1, "connection_error:")) << r1;

    // A certificate from the right CA but made for servers only.
    tls_options wrong_purpose = trusting();
    wrong_purpose.cert_file = file("server.crt");
    wrong_purpose.key_file = file("server.key");
    client_proxy c2(ex, tcp::client(tls_client(svc.port(), wrong_purpose)));
    const std::string r2 = co_await try_sum(c2);
    EXPECT_TRUE(starts_with(r2, "connection_error:")) << r2;

    tls_options with_cert = trusting();
    with_cert.cert_file = file("client.crt");
    with_cert.key_file = file("client.key");
    client_proxy c3(ex, tcp::client(tls_client(svc.port(), with_cert)));
    const std::string r3 = co_await try_sum(c3);
    EXPECT_EQ(r3, "ok:6");

    tls_options with_pem;
    with_pem.ca_pem = read("ca.crt");
    with_pem.cert_pem = read("client.crt");
    with_pem.key_pem = read("client.key");
    client_proxy c4(ex, tcp::client(tls_client(svc.port(), with_pem)));
    const std::string r4 = co_await try_sum(c4);
    EXPECT_EQ(r4, "ok:6");
    EXPECT_EQ(svc.srv.connections(), 2u);
    co_await svc.app.shutdown();
  });
}

TEST_F(tls, a_plain_client_to_a_tls_server_fails_cleanly) {
  testing::run([&]() -> awaitable<void> {
    service svc(r, tls_server(false));
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy plain(ex, tcp::client(client_opts(svc.port())));
    const auto start = std::chrono::steady_clock::now();
    const std::string r1 = co_await try_sum(plain);
    EXPECT_EQ(r1, "connection_error:Connection closed");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    // A raw peer sees the connection closed too, and TLS clients are still served.
    auto peer = co_await raw_peer::connect(svc.port());
    co_await peer.write(R"(42#{"pattern":"sum","data":[1,2,3],"id":"a1"})");
    const bool closed = co_await peer.closed_by_peer();
    EXPECT_TRUE(closed);
    client_proxy good(ex, tcp::client(tls_client(svc.port(), trusting())));
    const std::string r2 = co_await try_sum(good);
    EXPECT_EQ(r2, "ok:6");
    co_await svc.app.shutdown();
  });
}

TEST_F(tls, a_tls_client_to_a_plain_server_fails_cleanly) {
  testing::run([&]() -> awaitable<void> {
    tcp::limits lim;
    lim.incomplete_message_timeout = 300ms;  // a ClientHello is not a frame
    service svc(r, server_opts(lim));
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(tls_client(svc.port(), trusting())));
    const auto start = std::chrono::steady_clock::now();
    const std::string r1 = co_await try_sum(c);
    EXPECT_TRUE(starts_with(r1, "connection_error:TLS handshake with 127.0.0.1:")) << r1;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
    co_await svc.app.shutdown();
  });
}

TEST_F(tls, unreadable_certificates_are_reported_when_the_transport_is_made) {
  server_options so = server_opts();
  tls_options t;
  t.cert_file = (dir_ / "missing.crt").string();
  t.key_file = file("server.key");
  so.tls = t;
  try {
    tcp::server s(so);
    ADD_FAILURE() << "no error";
  } catch (const connection_error& e) {
    EXPECT_NE(std::string(e.what()).find("TLS: cannot load certificate"), std::string::npos)
        << e.what();
  }
  tcp::client_options co = client_opts(1);
  tls_options bad_ca;
  bad_ca.ca_pem = "not a certificate";
  co.tls = bad_ca;
  EXPECT_THROW(tcp::client c(co), connection_error);
}

}  // namespace
}  // namespace roost::tcp::test
