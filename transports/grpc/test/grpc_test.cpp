// The gRPC server and client on loopback (port 0), with the interop suite's proto: unary and
// server-streaming calls, the JSON mapping, statuses, metadata and the URL options.

#include "protos.hpp"

#include <roost/grpc.hpp>
#include <roost/roost.hpp>
#include <roost/testing/run.hpp>

#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace roost::grpc::test {
namespace {

namespace asio = boost::asio;

json::value pattern(std::string_view service, std::string_view rpc) {
  return json::object{{"service", service}, {"rpc", rpc}};
}

proto_options protos(std::string url) {
  proto_options o;
  o.url = std::move(url);
  o.packages = {"interop"};
  o.proto_paths = {ROOST_GRPC_TEST_PROTO};
  return o;
}

std::int64_t number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->to_number<std::int64_t>() : 0;
}

// 0 .. count - 1, failing at `fail_at` (when positive) with the status `code`.
stream<json::value> range(std::int64_t count, std::int64_t fail_at, std::int64_t code) {
  for (std::int64_t i = 0; i < count; ++i) {
    if (fail_at > 0 && i == fail_at) {
      json::object err;
      err["code"] = code;
      err["message"] = "stopped at " + std::to_string(i);
      throw rpc_exception(std::move(err));
    }
    json::object item;
    item["value"] = i;
    co_yield json::value(std::move(item));
  }
}

// {"total":1} .. {"total":n}.
stream<json::value> totals(std::int64_t n) {
  for (std::int64_t i = 1; i <= n; ++i) {
    json::object item;
    item["total"] = i;
    co_yield json::value(std::move(item));
  }
}

// What the Mirror handler was given, for the test to check the request's mapping.
struct seen {
  json::value mirrored;
};

router make_router(seen& s) {
  router r;
  r.message(pattern("Math", "Sum"), [](json::object req) {
    std::int64_t total = 0;
    if (const auto* n = req.if_contains("numbers")) {
      for (const auto& x : n->as_array()) total += x.to_number<std::int64_t>();
    }
    return json::value{{"total", total}};
  });
  r.message(pattern("Math", "Range"), [](json::object req) {
    return range(number(req, "count"), number(req, "failAt"), number(req, "code"));
  });
  r.message(pattern("Math", "Fail"), [](json::object req) -> json::value {
    if (!req.contains("code")) throw std::runtime_error("not for the caller's eyes");
    if (req.at("code").to_number<int>() == 0)
      throw rpc_exception(std::string(req.at("message").as_string()));
    throw rpc_exception(json::object{{"code", req.at("code")}, {"message", req.at("message")}});
  });
  r.message(pattern("Math", "Whoami"), [](json::object req, grpc::context& ctx) {
    const std::string* v = ctx.header(req.at("name").as_string());
    return json::value{{"value", v ? *v : std::string("(none)")}};
  });
  // By the service's full name: NestJS's second lookup.
  r.message(pattern("interop.Math", "Mirror"), [&s](json::value req) {
    s.mirrored = req;
    return req;
  });
  return r;
}

class grpc_loopback : public ::testing::Test {
 protected:
  seen s;
  router r = make_router(s);
};

std::string str(const json::value& v) {
  return json::serialize(v);
}

TEST_F(grpc_loopback, unary_stream_errors_and_metadata) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r);
    auto srv = std::make_unique<server>(server_options{protos("127.0.0.1:0")});
    server* s_ptr = srv.get();
    app.add_transport(std::move(srv));
    EXPECT_FALSE(s_ptr->ready());
    co_await app.start();
    EXPECT_NE(s_ptr->port(), 0);
    EXPECT_TRUE(s_ptr->ready());  // listening: a call made now is served
    EXPECT_TRUE(app.ready());
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex,
                   client(client_options{protos("127.0.0.1:" + std::to_string(s_ptr->port()))}));

    // Unary.
    const json::value numbers = {{"numbers", {1, 2, 3}}};
    const json::value sum = co_await c.send(pattern("Math", "Sum"), numbers);
    EXPECT_EQ(str(sum), R"({"total":6})");
    // The package's full service name reaches the same method.
    const json::value sum_full = co_await c.send(pattern("interop.Math", "Sum"), numbers);
    EXPECT_EQ(str(sum_full), R"({"total":6})");
    // A zero the handler returns goes on the wire, and comes back, as with protobuf.js.
    const json::value none = json::object{};
    const json::value zero = co_await c.send(pattern("Math", "Sum"), none);
    EXPECT_EQ(str(zero), R"({"total":0})");

    // Server streaming.
    auto range = c.stream<json::value>(pattern("Math", "Range"), json::value{{"count", 4}});
    std::vector<std::string> values;
    for (;;) {
      auto v = co_await range.next();
      if (!v) break;
      values.push_back(str(*v));
    }
    const std::vector<std::string> want{R"({"value":0})", R"({"value":1})", R"({"value":2})",
                                        R"({"value":3})"};
    EXPECT_EQ(values, want);

    // An error in the middle of a stream ends it with the status it carries.
    auto broken = c.stream<json::value>(pattern("Math", "Range"),
                                        json::value{{"count", 5}, {"failAt", 2}, {"code", 8}});
    values.clear();
    std::optional<json::value> stream_error;
    try {
      for (;;) {
        auto v = co_await broken.next();
        if (!v) break;
        values.push_back(str(*v));
      }
    } catch (const rpc_error& e) {
      stream_error = e.error();
    }
    EXPECT_EQ(values.size(), 2u);
    EXPECT_TRUE(stream_error);
    EXPECT_EQ(
        stream_error ? str(*stream_error) : "",
        R"({"code":8,"details":"stopped at 2","message":"8 RESOURCE_EXHAUSTED: stopped at 2"})");

    // Statuses: an object's integer code, a string error, any other error.
    const auto failure = [&](json::value req) -> awaitable<std::string> {
      try {
        co_await c.send(pattern("Math", "Fail"), req);
      } catch (const rpc_error& e) {
        co_return str(e.error());
      }
      co_return "no error";
    };
    const json::value not_found = {{"code", 5}, {"message", "no such thing"}};
    const std::string with_code = co_await failure(not_found);
    EXPECT_EQ(with_code,
              R"({"code":5,"details":"no such thing","message":"5 NOT_FOUND: no such thing"})");
    const json::value plain = {{"code", 0}, {"message", "plain words"}};
    const std::string with_text = co_await failure(plain);
    EXPECT_EQ(with_text,
              R"({"code":2,"details":"plain words","message":"2 UNKNOWN: plain words"})");
    const std::string unexpected = co_await failure(json::object{});
    EXPECT_EQ(
        unexpected,
        R"({"code":2,"details":"Internal server error","message":"2 UNKNOWN: Internal server error"})");

    // A method of the proto without a handler.
    try {
      co_await c.send(pattern("Math", "Unhandled"), numbers);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.error().at("code"), 12);
    }

    // Metadata reaches the handler's context as headers.
    call_options with_header;
    with_header.headers.add("x-tenant", "blue");
    const json::value who_req = {{"name", "x-tenant"}};
    const json::value who = co_await c.send(pattern("Math", "Whoami"), who_req, with_header);
    EXPECT_EQ(str(who), R"({"value":"blue"})");

    // The mapping of every kind of field, both ways.
    const json::value kinds = boost::json::parse(
        R"({"big":"9007199254740993","color":1,"blob":"AAEC","number":7,"inner":{"label":"in"},)"
        R"("snake_case_name":"snake","tags":["a","b"],"counts":{"x":1},"ratio":0.5,"flag":true})");
    const json::value mirrored = co_await c.send(pattern("Math", "Mirror"), kinds);
    // The handler sees lowerCamelCase names (objects compare without regard to key order).
    const json::value want_mirrored = boost::json::parse(
        R"({"big":"9007199254740993","color":1,"blob":"AAEC","number":7,"inner":{"label":"in"},)"
        R"("snakeCaseName":"snake","tags":["a","b"],"counts":{"x":1},"ratio":0.5,"flag":true})");
    EXPECT_EQ(s.mirrored, want_mirrored) << str(s.mirrored);
    EXPECT_EQ(mirrored, want_mirrored) << str(mirrored);
    // Enums by name and 64-bit integers as numbers are read too.
    const json::value by_name = {{"color", "BLUE"}, {"big", 42}};
    const json::value mirrored_name = co_await c.send(pattern("Math", "Mirror"), by_name);
    const json::value want_name = {{"big", "42"}, {"color", 2}};
    EXPECT_EQ(mirrored_name, want_name) << str(mirrored_name);

    co_await app.shutdown();
    EXPECT_FALSE(s_ptr->ready());
  });
}

// A call the client gives up on (the proxy's timeout) is cancelled on the server: the
// handler's context says so. A guard reads the metadata (names lowercased on the way). A
// handler returning nothing answers the empty message, and a unary method's handler returning
// a stream answers its first value.
TEST(grpc_calls, cancellation_guards_void_and_stream_replies) {
  auto cancelled_seen = std::make_shared<std::atomic<bool>>(false);
  // The deadline the Sum handler saw, and whether the Whoami one saw any.
  auto sum_deadline = std::make_shared<std::optional<std::chrono::system_clock::time_point>>();
  auto whoami_had_deadline = std::make_shared<bool>(true);
  router r;
  r.message(
      pattern("Math", "Sum"),
      [cancelled_seen, sum_deadline](json::value, grpc::context& ctx) -> awaitable<json::value> {
        *sum_deadline = ctx.deadline();
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
          t.expires_after(std::chrono::milliseconds(5));
          co_await t.async_wait(asio::use_awaitable);
        }
        cancelled_seen->store(ctx.cancelled());
        co_return json::value{{"total", 1}};
      });
  r.message(pattern("Math", "Whoami"), [whoami_had_deadline](json::value, grpc::context& ctx) {
    *whoami_had_deadline = ctx.deadline().has_value();
  });
  // A guard reads the call's metadata, as the JWT guard reads `authorization`.
  r.enhance(pattern("Math", "Whoami")).use_guard([](roost::context& ctx) {
    const std::string* token = ctx.headers().get("authorization");
    return token && *token == "Bearer good";
  });
  r.message(pattern("Math", "Fail"), [](json::value) { return totals(3); });
  testing::run([&]() -> awaitable<void> {
    microservice app(r);
    auto srv = std::make_unique<server>(server_options{protos("127.0.0.1:0")});
    server* s_ptr = srv.get();
    app.add_transport(std::move(srv));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex,
                   client(client_options{protos("127.0.0.1:" + std::to_string(s_ptr->port()))}));

    call_options quick;
    quick.timeout = std::chrono::milliseconds(100);
    const json::value numbers = {{"numbers", {1}}};
    bool timed_out = false;
    const auto before = std::chrono::system_clock::now();
    try {
      co_await c.send(pattern("Math", "Sum"), numbers, quick);
    } catch (const timeout_error&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    // The timeout went out as the call's deadline.
    EXPECT_TRUE(sum_deadline->has_value());
    const auto seen_deadline = sum_deadline->value_or(before);
    EXPECT_GE(seen_deadline, before + quick.timeout);
    EXPECT_LT(seen_deadline, before + std::chrono::seconds(60));
    asio::steady_timer t(ex);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!cancelled_seen->load() && std::chrono::steady_clock::now() < until) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_TRUE(cancelled_seen->load());

    const json::value who = {{"name", "x"}};
    std::string refusal;
    try {
      co_await c.send(pattern("Math", "Whoami"), who);
    } catch (const rpc_error& e) {
      refusal = str(e.error());
    }
    EXPECT_EQ(
        refusal,
        R"({"code":2,"details":"Forbidden resource","message":"2 UNKNOWN: Forbidden resource"})");
    call_options with_token;
    with_token.headers.add("Authorization", "Bearer good");
    const json::value nothing = co_await c.send(pattern("Math", "Whoami"), who, with_token);
    EXPECT_EQ(str(nothing), "{}");
    EXPECT_FALSE(*whoami_had_deadline);  // no timeout, no deadline
    const json::value fail = json::object{};
    const json::value first = co_await c.send(pattern("Math", "Fail"), fail);
    EXPECT_EQ(str(first), R"({"total":1})");
    co_await app.shutdown();
  });
}

// {"value":v}. (Not braced in a coroutine: GCC 12 rejects initializer lists there.)
json::value value_item(std::int64_t v) {
  json::object item;
  item["value"] = v;
  return item;
}

// {"value":v} for each of `values`; fails after them with `fail` when it is not empty.
stream<json::value> items(std::vector<int> values, std::string fail = {}) {
  for (int v : values) co_yield value_item(v);
  if (!fail.empty()) throw std::runtime_error(fail);
}

// Waits, polling, until `done()` or 10 s pass.
template <class F>
awaitable<void> wait_until(F done) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < until) {
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// Client streaming (Accumulate) and bidirectional streaming (Echo), both ways: a handler
// takes a stream of requests, the client sends one; an error on either side ends the call
// with its status; a client that gives up cancels the handler's stream of requests.
TEST(grpc_calls, client_and_bidirectional_streaming) {
  auto echo_ended = std::make_shared<std::atomic<int>>(0);  // 1: at the end, 2: by an error
  auto echo_cancelled = std::make_shared<std::atomic<bool>>(false);
  router r;
  r.message(pattern("Math", "Accumulate"),
            [](stream<json::object> items) -> awaitable<json::value> {
              std::int64_t total = 0;
              for (;;) {
                auto item = co_await items.next();
                if (!item) break;
                const auto v = number(*item, "value");
                if (v < 0) {
                  throw rpc_exception(json::object{{"code", 3}, {"message", "a negative value"}});
                }
                total += v;
              }
              co_return json::value{{"total", total}};
            });
  r.message(pattern("Math", "Echo"),
            [echo_ended, echo_cancelled](stream<json::value> items,
                                         grpc::context& ctx) -> stream<json::value> {
              for (;;) {
                std::optional<json::value> item;
                try {
                  item = co_await items.next();
                } catch (const std::exception&) {
                  echo_cancelled->store(ctx.cancelled());
                  echo_ended->store(2);
                  throw;
                }
                if (!item) break;
                co_yield std::move(*item);
              }
              echo_ended->store(1);
            });
  testing::run([&]() -> awaitable<void> {
    microservice app(r);
    auto srv = std::make_unique<server>(server_options{protos("127.0.0.1:0")});
    server* s_ptr = srv.get();
    app.add_transport(std::move(srv));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex,
                   client(client_options{protos("127.0.0.1:" + std::to_string(s_ptr->port()))}));

    // Client streaming: the sum of what was sent; none sent is a zero.
    // (The streams are made apart from the co_await: GCC 12 rejects an initializer list there.)
    auto one_two_three = items(std::vector<int>{1, 2, 3});
    const json::value six =
        co_await c.send(pattern("Math", "Accumulate"), std::move(one_two_three));
    EXPECT_EQ(str(six), R"({"total":6})");
    auto nothing = items(std::vector<int>{});
    const json::value zero =
        co_await c.send(pattern("interop.Math", "Accumulate"), std::move(nothing));
    EXPECT_EQ(str(zero), R"({"total":0})");
    // The handler's error in the middle of the requests is the call's status.
    std::string refused;
    try {
      auto with_negative = items(std::vector<int>{1, -1, 2});
      co_await c.send(pattern("Math", "Accumulate"), std::move(with_negative));
    } catch (const rpc_error& e) {
      refused = str(e.error());
    }
    EXPECT_EQ(
        refused,
        R"({"code":3,"details":"a negative value","message":"3 INVALID_ARGUMENT: a negative value"})");
    // A method that takes a stream is not called with one request, nor the reverse.
    bool refused_locally = false;
    try {
      const json::value one = value_item(1);
      co_await c.send(pattern("Math", "Accumulate"), one);
    } catch (const connection_error&) {
      refused_locally = true;
    }
    EXPECT_TRUE(refused_locally);

    // Bidirectional: each value back, in order, then the end.
    auto five_six_seven = c.stream(pattern("Math", "Echo"), items(std::vector<int>{5, 6, 7}));
    auto echoed = co_await collect(std::move(five_six_seven));
    EXPECT_EQ(str(json::value_from(echoed)), R"([{"value":5},{"value":6},{"value":7}])");
    EXPECT_EQ(echo_ended->load(), 1);

    // Replies come while the client is still sending: each request waits for the reply to
    // the one before.
    auto received = std::make_shared<int>(0);
    auto paced = [](std::shared_ptr<int> received) -> stream<json::value> {
      for (int i = 0; i < 3; ++i) {
        co_await wait_until([&] { return *received >= i; });
        co_yield value_item(i);
      }
    };
    auto replies = c.stream(pattern("Math", "Echo"), paced(received));
    for (;;) {
      auto v = co_await replies.next();
      if (!v) break;
      EXPECT_EQ(number(v->as_object(), "value"), *received);
      ++*received;
    }
    EXPECT_EQ(*received, 3);

    // A client that stops reading cancels the call: the handler's requests end with an error
    // and its context says cancelled.
    echo_ended->store(0);
    {
      // Its requests go on until the handler saw the call end.
      auto until_ended = [](std::shared_ptr<std::atomic<int>> ended) -> stream<json::value> {
        co_yield value_item(1);
        co_await wait_until([&] { return ended->load() != 0; });
      };
      auto open = c.stream(pattern("Math", "Echo"), until_ended(echo_ended));
      auto first = co_await open.next();
      EXPECT_TRUE(first);
    }
    co_await wait_until([&] { return echo_ended->load() != 0; });
    EXPECT_EQ(echo_ended->load(), 2);
    EXPECT_TRUE(echo_cancelled->load());

    // The client's requests failing cancels the call, which fails with their error.
    echo_ended->store(0);
    std::string failed;
    try {
      auto failing =
          c.stream(pattern("Math", "Echo"), items(std::vector<int>{1}, "no more numbers"));
      co_await collect(std::move(failing));
    } catch (const rpc_error& e) {
      failed = str(e.error());
    }
    EXPECT_EQ(failed, R"({"message":"no more numbers"})");
    co_await wait_until([&] { return echo_ended->load() != 0; });
    EXPECT_EQ(echo_ended->load(), 2);
    co_await app.shutdown();
  });
}

// Makes a CA, a server certificate (localhost, 127.0.0.1) and a client certificate with the
// openssl command line in a temporary directory; "" when done, else what failed.
std::string make_certs(const std::filesystem::path& dir) {
  const std::string openssl = std::string("'") + ROOST_OPENSSL_COMMAND + "'";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                       "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n";
  std::ofstream(dir / "client.ext") << "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n";
  const std::vector<std::string> steps{
      openssl +
          " req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
          " -subj '/CN=roost test CA' -addext 'basicConstraints=critical,CA:TRUE'"
          " -addext 'keyUsage=critical,keyCertSign,cRLSign'",
      openssl +
          " req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'",
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
  for (const auto& step : steps) {
    const std::string cmd = "cd '" + dir.string() + "' && " + step + " >>openssl.log 2>&1";
    if (std::system(cmd.c_str()) != 0) return "failed: " + step;
  }
  return {};
}

// The gRPC status code of a call's failure, or 0 when it succeeded.
awaitable<std::int64_t> status_of(client_proxy& c, const json::value& p, const json::value& req) {
  try {
    co_await c.send(p, req);
  } catch (const rpc_error& e) {
    co_return e.error().at("code").to_number<std::int64_t>();
  }
  co_return 0;
}

// TLS (a server certificate the client verifies), mutual TLS (a client certificate the server
// requires), and message size limits: a message over one is RESOURCE_EXHAUSTED (8).
TEST_F(grpc_loopback, tls_mutual_tls_and_message_limits) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("roost-grpc-tls-test-" + std::to_string(::getpid()));
  const std::string problem = make_certs(dir);
  ASSERT_EQ(problem, "");
  const auto file = [&](const char* name) { return (dir / name).string(); };
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const json::value sum = pattern("Math", "Sum");
    const json::value numbers = {{"numbers", {1, 2}}};

    // A server with a certificate; with `mutual`, one that requires a client certificate.
    const auto start = [&](microservice& app, bool mutual,
                           std::optional<int> max_receive = std::nullopt) -> awaitable<int> {
      server_options so{protos("127.0.0.1:0")};
      so.tls.emplace();
      so.tls->cert_file = file("server.crt");
      so.tls->key_file = file("server.key");
      if (mutual) so.tls->ca_file = file("ca.crt");
      so.max_receive_message_length = max_receive;
      auto srv = std::make_unique<server>(so);
      server* s_ptr = srv.get();
      app.add_transport(std::move(srv));
      co_await app.start();
      co_return s_ptr->port();
    };
    const auto client_of = [&](int port, bool tls, bool with_cert) {
      client_options co{protos("127.0.0.1:" + std::to_string(port))};
      if (tls) {
        co.tls.emplace();
        co.tls->ca_file = file("ca.crt");
        if (with_cert) {
          co.tls->cert_file = file("client.crt");
          co.tls->key_file = file("client.key");
        }
      }
      return client(co);
    };

    {
      microservice app(r);
      const int port = co_await start(app, false);
      client_proxy trusted(ex, client_of(port, true, false));
      const json::value three = co_await trusted.send(sum, numbers);
      EXPECT_EQ(str(three), R"({"total":3})");
      client_proxy plain(ex, client_of(port, false, false));
      EXPECT_EQ(co_await status_of(plain, sum, numbers), 14);  // UNAVAILABLE: no handshake
      co_await app.shutdown();
    }
    {
      microservice app(r);
      const int port = co_await start(app, true, 64);
      client_proxy anonymous(ex, client_of(port, true, false));
      EXPECT_EQ(co_await status_of(anonymous, sum, numbers), 14);
      client_proxy known(ex, client_of(port, true, true));
      const json::value three = co_await known.send(sum, numbers);
      EXPECT_EQ(str(three), R"({"total":3})");
      // Over the server's 64 bytes.
      const json::value big = {{"snakeCaseName", std::string(200, 'x')}};
      EXPECT_EQ(co_await status_of(known, pattern("Math", "Mirror"), big), 8);
      co_await app.shutdown();
    }
    {
      // Over the client's own sending limit: refused before it leaves.
      microservice app(r);
      const int port = co_await start(app, false);
      client_options co{protos("127.0.0.1:" + std::to_string(port))};
      co.tls.emplace();
      co.tls->ca_file = file("ca.crt");
      co.max_send_message_length = 16;
      client_proxy c(ex, client(co));
      const json::value big = {{"snakeCaseName", std::string(200, 'x')}};
      EXPECT_EQ(co_await status_of(c, pattern("Math", "Mirror"), big), 8);
      const json::value three = co_await c.send(sum, numbers);
      EXPECT_EQ(str(three), R"({"total":3})");
      co_await app.shutdown();
    }
  });
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The standard health service, called by the roost client through the built-in health.proto
// (no file on disk): SERVING once listening, NOT_SERVING once the server stops taking calls,
// per served service and for the whole server (""); Watch streams the changes.
TEST_F(grpc_loopback, health_check_and_watch) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r);
    auto srv = std::make_unique<server>(server_options{protos("127.0.0.1:0")});
    server* s_ptr = srv.get();
    app.add_transport(std::move(srv));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    proto_options health;
    health.url = "127.0.0.1:" + std::to_string(s_ptr->port());
    health.packages = {"grpc.health.v1"};
    health.proto_paths = {"grpc/health/v1/health.proto"};
    client_proxy c(ex, client(client_options{health}));
    const auto check = [&](const char* service) -> awaitable<std::string> {
      const json::value request = {{"service", service}};
      const json::value method = pattern("Health", "Check");
      try {
        const json::value reply = co_await c.send(method, request);
        co_return str(reply);
      } catch (const rpc_error& e) {
        co_return str(e.error().at("code"));
      }
    };
    const std::string whole = co_await check("");
    EXPECT_EQ(whole, R"({"status":1})");
    const std::string math_service = co_await check("interop.Math");
    EXPECT_EQ(math_service, R"({"status":1})");
    const std::string short_name = co_await check("Math");
    EXPECT_EQ(short_name, "5");  // by full name only: NOT_FOUND
    const std::string unknown_service = co_await check("interop.Nothing");
    EXPECT_EQ(unknown_service, "5");

    const json::value watch_math = {{"service", "interop.Math"}};
    const json::value watch_nothing = {{"service", "interop.Nothing"}};
    auto watch = c.stream<json::value>(pattern("grpc.health.v1.Health", "Watch"), watch_math);
    auto unknown = c.stream<json::value>(pattern("Health", "Watch"), watch_nothing);
    auto first = co_await watch.next();
    EXPECT_EQ(first ? str(*first) : "(end)", R"({"status":1})");
    auto unknown_first = co_await unknown.next();
    EXPECT_EQ(unknown_first ? str(*unknown_first) : "(end)", R"({"status":3})");

    // Draining: the health service says so, while other calls are refused.
    s_ptr->stop_accepting();
    auto second = co_await watch.next();
    EXPECT_EQ(second ? str(*second) : "(end)", R"({"status":2})");
    const std::string draining = co_await check("");
    EXPECT_EQ(draining, R"({"status":2})");
    client_proxy math(ex, client(client_options{protos(health.url)}));
    try {
      const json::value one = {{"numbers", {1}}};
      co_await math.send(pattern("Math", "Sum"), one);
      ADD_FAILURE() << "served while draining";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.error().at("code"), 14);
    }

    // Closing ends the watch with an error, not OK.
    co_await app.shutdown();
    bool ended_with_error = false;
    try {
      while (co_await watch.next()) {
      }
    } catch (const rpc_error&) {
      ended_with_error = true;
    }
    EXPECT_TRUE(ended_with_error);

    // Turned off: the method is not served.
    server_options off{protos("127.0.0.1:0")};
    off.health = false;
    microservice quiet(r);
    auto quiet_srv = std::make_unique<server>(off);
    server* q_ptr = quiet_srv.get();
    quiet.add_transport(std::move(quiet_srv));
    co_await quiet.start();
    proto_options quiet_health = health;
    quiet_health.url = "127.0.0.1:" + std::to_string(q_ptr->port());
    client_proxy q(ex, client(client_options{quiet_health}));
    try {
      const json::value whole_server = json::object{};
      co_await q.send(pattern("Health", "Check"), whole_server);
      ADD_FAILURE() << "answered";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.error().at("code"), 12);
    }
    co_await quiet.shutdown();
  });
}

// The values of `texts` (JSON), one by one.
stream<json::value> json_values(std::vector<std::string> texts) {
  for (const auto& t : texts) co_yield boost::json::parse(t);
}

// Server reflection, as grpcurl calls it, through the built-in reflection.proto: the services,
// the file declaring a symbol and a file by its name (FileDescriptorProtos), a symbol that is
// not there; in both of the protocol's packages; and nothing unless asked for.
TEST_F(grpc_loopback, server_reflection) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r);
    server_options so{protos("127.0.0.1:0")};
    so.reflection = true;
    auto srv = std::make_unique<server>(so);
    server* s_ptr = srv.get();
    app.add_transport(std::move(srv));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    const auto reflection_client = [&](const char* package, std::uint16_t port) {
      proto_options o;
      o.url = "127.0.0.1:" + std::to_string(port);
      o.packages = {package};
      o.proto_paths = {"grpc/reflection/" + std::string(package).substr(16) + "/reflection.proto"};
      return client_proxy(ex, client(client_options{o}));
    };
    auto c = reflection_client("grpc.reflection.v1alpha", s_ptr->port());
    auto answers = c.stream(pattern("ServerReflection", "ServerReflectionInfo"),
                            json_values({R"({"host":"h","listServices":"*"})",
                                         R"({"fileContainingSymbol":"interop.Math"})",
                                         R"({"fileByFilename":"roost_test.proto"})",
                                         R"({"fileContainingSymbol":"interop.Nothing"})"}));
    std::vector<json::value> got = co_await collect(std::move(answers));
    EXPECT_EQ(got.size(), 4u);
    while (got.size() < 4) got.emplace_back(json::object{});
    EXPECT_EQ(str(got[0].at("listServicesResponse")),
              R"({"service":[{"name":"grpc.health.v1.Health"},)"
              R"({"name":"grpc.reflection.v1.ServerReflection"},)"
              R"({"name":"grpc.reflection.v1alpha.ServerReflection"},{"name":"interop.Math"}]})");
    EXPECT_EQ(str(got[0].at("validHost")), R"("h")");
    EXPECT_EQ(str(got[0].at("originalRequest")), R"({"host":"h","listServices":"*"})");
    // The file itself first: its FileDescriptorProto's name, roost_test.proto, in base64.
    for (int i : {1, 2}) {
      const auto* files = got[i].as_object().if_contains("fileDescriptorResponse");
      EXPECT_TRUE(files) << str(got[i]);
      if (!files) continue;
      const auto& first = files->at("fileDescriptorProto").at(0).as_string();
      EXPECT_TRUE(first.starts_with("ChByb29zdF90ZXN0LnByb3Rv")) << first;
    }
    EXPECT_EQ(str(got[3].at("errorResponse").at("errorCode")), "5");

    // The v1 package answers the same.
    auto c1 = reflection_client("grpc.reflection.v1", s_ptr->port());
    auto v1 = c1.stream(pattern("ServerReflection", "ServerReflectionInfo"),
                        json_values({R"({"listServices":""})"}));
    std::vector<json::value> got_v1 = co_await collect(std::move(v1));
    EXPECT_EQ(got_v1.size(), 1u);
    if (!got_v1.empty()) {
      EXPECT_EQ(got_v1[0].at("listServicesResponse"), got[0].at("listServicesResponse"));
    }
    co_await app.shutdown();

    // Off by default.
    microservice plain(r);
    auto plain_srv = std::make_unique<server>(server_options{protos("127.0.0.1:0")});
    server* p_ptr = plain_srv.get();
    plain.add_transport(std::move(plain_srv));
    co_await plain.start();
    auto c2 = reflection_client("grpc.reflection.v1alpha", p_ptr->port());
    bool unimplemented = false;
    try {
      auto none = c2.stream(pattern("ServerReflection", "ServerReflectionInfo"),
                            json_values({R"({"listServices":""})"}));
      co_await collect(std::move(none));
    } catch (const rpc_error& e) {
      unimplemented = e.error().at("code") == 12;
    }
    EXPECT_TRUE(unimplemented);
    co_await plain.shutdown();
  });
}

TEST_F(grpc_loopback, bad_configuration_is_refused_clearly) {
  testing::run([&]() -> awaitable<void> {
    auto o = protos("127.0.0.1:0");
    o.packages = {"nope"};
    microservice app(r);
    server srv(server_options{o});
    dispatcher d(r, logger{});
    try {
      co_await srv.listen(d);
      ADD_FAILURE() << "listened";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("package nope"), std::string::npos) << e.what();
    }
    o.packages = {"interop"};
    // A port another server holds is refused, not shared.
    server first(server_options{o});
    co_await first.listen(d);
    server second(server_options{protos("127.0.0.1:" + std::to_string(first.port()))});
    bool refused = false;
    try {
      co_await second.listen(d);
    } catch (const connection_error&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    first.close();
    o.proto_paths = {"/no/such/file.proto"};
    server missing(server_options{o});
    try {
      co_await missing.listen(d);
      ADD_FAILURE() << "listened";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot load"), std::string::npos) << e.what();
    }
  });
}

// The direct JSON conversion (src/wire_json.cpp) gives what protobuf's own gives, both ways,
// on every kind of field and at the edges of each; what protobuf refuses is refused.
TEST(grpc_json, direct_conversion_matches_protobufs) {
  const auto set = detail::proto_set::load(protos("127.0.0.1:0"));
  const std::string kinds = "type.googleapis.com/interop.Kinds";
  const std::string sum = "type.googleapis.com/interop.SumRequest";
  const std::vector<std::pair<std::string, std::string>> samples = {
      {kinds,
       R"({"big":"9007199254740993","color":1,"blob":"AAEC","number":7,"inner":{"label":"in"},)"
       R"("snake_case_name":"snake","tags":["a","b"],"counts":{"x":1,"y":-2},"ratio":0.5,)"
       R"("flag":true})"},
      {kinds, R"({"big":-5,"color":"BLUE","text":"héllo","ratio":1,"flag":false})"},
      {kinds, R"({"big":"-9223372036854775808","ratio":1e300,"blob":"/+8=","tags":[]})"},
      {kinds, R"({"ratio":"NaN","counts":{}})"},
      {kinds, R"({"ratio":"-Infinity","inner":{},"number":0})"},
      {kinds, R"({"ratio":123456789012345,"snakeCaseName":"camel","color":7})"},
      {kinds, R"({"ratio":1e15,"big":0,"unknown":1,"inner":null})"},
      {kinds, R"({"ratio":-0.000001,"blob":"-_8","number":-2147483648})"},
      {kinds, R"({"number":2147483648})"},
      {kinds, R"({"number":"abc"})"},
      {kinds, R"({"number":1.5})"},
      {kinds, R"({"color":"PURPLE"})"},
      {kinds, R"({"flag":"yes"})"},
      {kinds, R"({"tags":"a"})"},
      {kinds, R"({"inner":"x"})"},
      {sum, R"({"numbers":[1,-2,3,2147483647,-2147483648]})"},
      {sum, R"({"numbers":["4",5]})"},
      {sum, "{}"},
  };
  for (const auto& [type, text] : samples) {
    const json::value value = boost::json::parse(text);
    std::string direct_bytes, reference_bytes, direct_error, reference_error;
    const bool direct_ok = set->to_binary(type, value, direct_bytes, direct_error, true);
    const bool reference_ok = set->to_binary(type, value, reference_bytes, reference_error, false);
    EXPECT_EQ(direct_ok, reference_ok) << text << ": " << reference_error;
    EXPECT_EQ(direct_error, reference_error) << text;
    if (!direct_ok || !reference_ok) continue;
    // The bytes may differ in order; what they decode to may not.
    json::value from_direct, from_reference, direct_json;
    std::string error;
    ASSERT_TRUE(set->to_json(type, direct_bytes, from_direct, error, false)) << text << error;
    ASSERT_TRUE(set->to_json(type, reference_bytes, from_reference, error, false)) << text;
    EXPECT_EQ(from_direct, from_reference) << text;
    ASSERT_TRUE(set->to_json(type, reference_bytes, direct_json, error, true)) << text;
    EXPECT_EQ(str(direct_json), str(from_reference)) << text;
  }
  // Bytes that are cut short, a string that is not UTF-8, a group: what protobuf makes of
  // them (it takes some), word for word. And an empty packed run of a repeated number: an
  // empty list, in both (fuzz/wire_json_fuzz.cpp found that it does not read back the same;
  // an empty list and no field are the same message).
  const std::vector<std::pair<std::string, std::string>> bad_bytes = {
      {kinds, "\x08"},
      {kinds, std::string("\x0a\x05"
                          "ab")},
      {kinds, "\x22\x02\xff\xfe"},
      {kinds, "\x0f"},
      {sum, std::string("\x0a\x00", 2)},
  };
  for (const auto& [type, bad] : bad_bytes) {
    json::value direct_json, reference_json;
    std::string direct_error, reference_error;
    EXPECT_EQ(set->to_json(type, bad, direct_json, direct_error, true),
              set->to_json(type, bad, reference_json, reference_error, false));
    EXPECT_EQ(direct_json, reference_json) << str(direct_json);
    EXPECT_EQ(direct_error, reference_error);
  }
}

TEST(grpc_url, options_from_url) {
  auto u = url::parse(
      "grpc://127.0.0.1:5001/?package=a&package=b.c&protoPath=x.proto&protoPath=/y/"
      "z.proto&includeDirs=/inc");
  ASSERT_TRUE(u);
  auto o = server_options_from(*u);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->url, "127.0.0.1:5001");
  EXPECT_EQ(o->packages, (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(o->proto_paths, (std::vector<std::string>{"x.proto", "/y/z.proto"}));
  EXPECT_EQ(o->include_dirs, (std::vector<std::string>{"/inc"}));
  EXPECT_FALSE(o->tls);
  // TLS by scheme or by its parameters; limits and keepalive by NestJS's names.
  auto t = url::parse(
      "grpcs://localhost:5001/?package=a&protoPath=x.proto&ca=ca.pem&servername=svc&"
      "maxSendMessageLength=-1&maxReceiveMessageLength=1024&keepaliveTimeMs=10000&"
      "keepalivePermitWithoutCalls=true&http2MaxPingStrikes=3");
  ASSERT_TRUE(t);
  auto to = client_options_from(*t);
  ASSERT_TRUE(to);
  ASSERT_TRUE(to->tls);
  EXPECT_EQ(to->tls->ca_file, "ca.pem");
  EXPECT_EQ(to->tls->server_name, "svc");
  EXPECT_EQ(to->max_send_message_length, -1);
  EXPECT_EQ(to->max_receive_message_length, 1024);
  EXPECT_EQ(to->keepalive.keepalive_time_ms, 10000);
  EXPECT_EQ(to->keepalive.keepalive_permit_without_calls, true);
  EXPECT_EQ(to->keepalive.http2_max_ping_strikes, 3);
  EXPECT_FALSE(to->keepalive.keepalive_timeout_ms);
  auto by_param = url::parse("grpc://localhost:5001/?package=a&protoPath=x.proto&cert=c&key=k");
  ASSERT_TRUE(by_param);
  EXPECT_TRUE(server_options_from(*by_param)->tls);
  EXPECT_TRUE(server_options_from(*by_param)->health);
  auto no_health = url::parse("grpc://localhost:5001/?package=a&protoPath=x.proto&health=false");
  ASSERT_TRUE(no_health);
  EXPECT_FALSE(server_options_from(*no_health)->health);
  EXPECT_FALSE(server_options_from(*no_health)->reflection);
  auto reflecting =
      url::parse("grpc://localhost:5001/?package=a&protoPath=x.proto&reflection=true");
  ASSERT_TRUE(reflecting);
  EXPECT_TRUE(server_options_from(*reflecting)->reflection);
  auto d = url::parse("grpc://localhost/?package=a&protoPath=x.proto");
  ASSERT_TRUE(d);
  EXPECT_EQ(client_options_from(*d)->url, "localhost:5000");
  for (const char* bad :
       {"grpc://localhost:5000/?protoPath=x.proto", "grpc://localhost:5000/?package=a",
        "tcp://localhost:5000/?package=a&protoPath=x.proto",
        "grpc://localhost:5000/?package=&protoPath=x.proto",
        "grpc://localhost:5000/?package=a&protoPath=x.proto&maxReceiveMessageLength=big",
        "grpc://localhost:5000/?package=a&protoPath=x.proto&keepaliveTimeMs=-5",
        "grpc://localhost:5000/?package=a&protoPath=x.proto&keepalivePermitWithoutCalls=1"}) {
    auto b = url::parse(bad);
    ASSERT_TRUE(b) << bad;
    EXPECT_FALSE(server_options_from(*b)) << bad;
  }
}

}  // namespace
}  // namespace roost::grpc::test
