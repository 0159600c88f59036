// A roost client against a roost server over real sockets on 127.0.0.1.

#include <roost/tcp.hpp>

#include "loopback_support.hpp"

#include <roost/blocking_client.hpp>
#include <roost/testing/brokers.hpp>

#include <future>
#include <thread>

#include <filesystem>

namespace roost::tcp::test {
namespace {

class loopback : public ::testing::Test {
 protected:
  service_state st;
  router r = make_router(st);
};

const std::vector<double> one_two_three{1, 2, 3};

awaitable<bool> echo_matches(client_proxy& c, int i) {
  json::object data;
  data["i"] = i;
  data["text"] = "call " + std::to_string(i);
  const json::value sent(std::move(data));
  const json::value got = co_await c.send("echo", sent);
  co_return got == sent;
}

awaitable<std::string> hold_call(client_proxy& c) {
  const json::value v = co_await c.send("hold", 0);
  co_return str(v);
}

std::size_t threads_of_this_process() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& t : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// A server listening on an address and a client connecting to one take it as it is: the
// resolver would start a thread of its own, kept idle as long as the io_context.
TEST_F(loopback, numeric_addresses_start_no_resolver_thread) {
  const std::size_t before = threads_of_this_process();
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(client_opts(svc.port())));
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    EXPECT_EQ(threads_of_this_process(), before);
    co_await svc.app.shutdown();
  });
}

TEST_F(loopback, send_stream_and_emit) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(client_opts(svc.port())));

    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    const json::value by_object = {{"role", "math"}, {"cmd", "sum"}};
    const double by_object_sum = co_await c.send<double>(by_object, one_two_three);
    EXPECT_EQ(by_object_sum, 6);

    // Big and non-ASCII values make it through (heap-allocated replies, multi-read frames,
    // UTF-16 length prefixes on both sides).
    const std::string big = std::string(200'000, 'y') + "h\xC3\xA9llo \xF0\x9F\x98\x80";
    const std::string echoed = co_await c.send<std::string>("echo", big);
    EXPECT_EQ(echoed, big);

    auto counter = c.stream<int>("count", 5);
    std::vector<int> values;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      values.push_back(*v);
    }
    const std::vector<int> want{0, 1, 2, 3, 4};
    EXPECT_EQ(values, want);

    const std::string note = "hello";
    co_await c.emit("note", note);
    const json::value event_pattern = {{"cmd", "ev"}, {"role", "math"}};
    co_await c.emit(event_pattern, 7);
    const bool both = co_await eventually([&] { return st.events.load() == 2; });
    EXPECT_TRUE(both);
    const std::vector<std::string> events{R"("hello")", "ev:7"};
    EXPECT_EQ(st.events_seen(), events);
    EXPECT_EQ(c.pending(), 0u);
    EXPECT_EQ(svc.srv.connections(), 1u);
    co_await svc.app.shutdown();
  });
}

TEST_F(loopback, remote_errors_arrive_as_rpc_error) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(client_opts(svc.port())));
    try {
      co_await c.send("boom", 0);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(), "bad thing");
      EXPECT_EQ(str(e.error()), R"({"status":"error","message":"bad thing"})");
    }
    try {
      co_await c.send("nope", 0);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(), no_handler_message);
    }
    // The connection is still good.
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    EXPECT_EQ(c.pending(), 0u);
    co_await svc.app.shutdown();
  });
}

// Replies come back in whatever order the server finishes them; each matches its call by id.
TEST_F(loopback, a_thousand_concurrent_requests_on_one_client) {
  testing::run(
      [&]() -> awaitable<void> {
        service svc(r);
        co_await svc.app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, tcp::client(client_opts(svc.port())));
        std::vector<std::shared_ptr<background<bool>>> calls;
        for (int i = 0; i < 1000; ++i) calls.push_back(spawn(ex, echo_matches(c, i)));
        int matched = 0;
        for (auto& call : calls) {
          const bool ok = co_await call->join(20s);
          if (ok) ++matched;
        }
        EXPECT_EQ(matched, 1000);
        EXPECT_EQ(c.pending(), 0u);
        EXPECT_EQ(svc.srv.connections(), 1u);  // all multiplexed over one connection
        co_await svc.app.shutdown();
      },
      30s, 2);
}

// Each client has its own connection (and strand on the server); they run side by side.
TEST_F(loopback, several_clients_in_parallel) {
  testing::run(
      [&]() -> awaitable<void> {
        service svc(r);
        co_await svc.app.start();
        auto ex = co_await asio::this_coro::executor;
        std::vector<std::unique_ptr<client_proxy>> clients;
        for (int k = 0; k < 4; ++k) {
          clients.push_back(
              std::make_unique<client_proxy>(ex, tcp::client(client_opts(svc.port()))));
        }
        std::vector<std::shared_ptr<background<bool>>> calls;
        for (int i = 0; i < 400; ++i) calls.push_back(spawn(ex, echo_matches(*clients[i % 4], i)));
        int matched = 0;
        for (auto& call : calls) {
          const bool ok = co_await call->join(20s);
          if (ok) ++matched;
        }
        EXPECT_EQ(matched, 400);
        EXPECT_EQ(svc.srv.connections(), 4u);
        clients.clear();  // closes their connections
        const bool gone = co_await eventually([&] { return svc.srv.connections() == 0; });
        EXPECT_TRUE(gone);
        co_await svc.app.shutdown();
      },
      30s, 2);
}

// A graceful shutdown lets the handler in flight answer, then closes every connection and
// stops listening.
TEST_F(loopback, shutdown_answers_in_flight_calls_then_closes_connections) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    const std::uint16_t port = svc.port();
    client_proxy c(ex, tcp::client(client_opts(port)));
    auto idle = co_await raw_peer::connect(port);
    const bool connected = co_await eventually([&] { return svc.srv.connections() == 1; });
    EXPECT_TRUE(connected);
    const int ms = 200;  // outlives the call: send() may keep a reference to its data
    auto slow = spawn(ex, c.send<int>("sleep", ms));
    const bool sent = co_await eventually([&] { return svc.app.dispatcher().in_flight() == 1; });
    EXPECT_TRUE(sent);
    co_await svc.app.shutdown();
    const int slept = co_await slow->join();
    EXPECT_EQ(slept, 200);
    const bool closed = co_await idle.closed_by_peer();
    EXPECT_TRUE(closed);
    const bool none = co_await eventually([&] { return svc.srv.connections() == 0; });
    EXPECT_TRUE(none);
    try {
      co_await raw_peer::connect(port);
      ADD_FAILURE() << "still listening";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::connection_refused);
    }
  });
}

TEST_F(loopback, a_call_times_out_and_leaves_nothing_pending) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer gate(ex, asio::steady_timer::time_point::max());
    st.gate = &gate;
    service svc(r);
    co_await svc.app.start();
    client_proxy c(ex, tcp::client(client_opts(svc.port())));
    call_options quick;
    quick.timeout = 100ms;
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await c.send("hold", 0, quick);
      ADD_FAILURE() << "no timeout";
    } catch (const timeout_error& e) {
      EXPECT_STREQ(e.what(), "Timeout has occurred");
    }
    EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
    EXPECT_EQ(c.pending(), 0u);
    // A stream that is dropped early ends its call too.
    {
      auto counter = c.stream<int>("count", 1000);
      auto first = co_await counter.next();
      EXPECT_EQ(first, 0);
    }
    EXPECT_EQ(c.pending(), 0u);
    gate.cancel();
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    co_await svc.app.shutdown();
  });
}

// The reply to a call that timed out still arrives later; it is dropped, and the calls after
// it are not confused by it.
TEST_F(loopback, a_late_reply_is_dropped) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, tcp::client(client_opts(svc.port())));
    call_options quick;
    quick.timeout = 50ms;
    try {
      co_await c.send("sleep", 300, quick);
      ADD_FAILURE() << "no timeout";
    } catch (const timeout_error&) {
    }
    EXPECT_EQ(c.pending(), 0u);
    // Issued after the timeout, this one ends at least 400 ms later, i.e. after the late reply
    // (same connection, replies written in order).
    const int slept = co_await c.send<int>("sleep", 400);
    EXPECT_EQ(slept, 400);
    EXPECT_EQ(c.pending(), 0u);
    co_await svc.app.shutdown();
  });
}

// NestJS's ClientTCP: when the connection drops, pending calls fail with "Connection closed"
// and the next call connects again.
TEST_F(loopback, a_server_restart_fails_pending_calls_and_the_next_call_reconnects) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer gate(ex, asio::steady_timer::time_point::max());
    st.gate = &gate;
    auto first = std::make_unique<service>(r);
    co_await first->app.start();
    const std::uint16_t port = first->port();
    client_proxy c(ex, tcp::client(client_opts(port)));
    std::vector<connection_status> statuses;
    c.on_status([&](connection_status s) { statuses.push_back(s); });
    co_await c.connect();
    EXPECT_EQ(c.status(), connection_status::connected);

    std::vector<std::shared_ptr<background<std::string>>> calls;
    for (int i = 0; i < 3; ++i) calls.push_back(spawn(ex, hold_call(c)));
    const bool all_held = co_await eventually([&] { return st.held.load() == 3; });
    EXPECT_TRUE(all_held);
    EXPECT_EQ(c.pending(), 3u);

    // The server goes away without answering.
    first->srv.stop_accepting();
    first->srv.close();
    for (auto& call : calls) {
      try {
        (void)co_await call->join();
        ADD_FAILURE() << "the call succeeded";
      } catch (const connection_error& e) {
        EXPECT_STREQ(e.what(), "Connection closed");
        EXPECT_EQ(e.code(), make_error_code(error::connection_lost));
      }
    }
    EXPECT_EQ(c.pending(), 0u);
    const bool disconnected =
        co_await eventually([&] { return c.status() == connection_status::disconnected; });
    EXPECT_TRUE(disconnected);
    gate.cancel();
    co_await first->app.shutdown();
    first.reset();

    // Back on the same port: the next call connects again.
    service second(r, server_opts({}, port));
    co_await second.app.start();
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    EXPECT_EQ(c.status(), connection_status::connected);
    const std::vector<connection_status> want{
        connection_status::connecting, connection_status::connected,
        connection_status::disconnected, connection_status::connecting,
        connection_status::connected};
    EXPECT_EQ(statuses, want);
    co_await second.app.shutdown();
  });
}

TEST_F(loopback, close_fails_pending_calls_and_the_next_call_reconnects) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer gate(ex, asio::steady_timer::time_point::max());
    st.gate = &gate;
    service svc(r);
    co_await svc.app.start();
    client_proxy c(ex, tcp::client(client_opts(svc.port())));
    auto call = spawn(ex, hold_call(c));
    const bool held = co_await eventually([&] { return st.held.load() == 1; });
    EXPECT_TRUE(held);
    c.close();
    try {
      (void)co_await call->join();
      ADD_FAILURE() << "the call succeeded";
    } catch (const connection_error& e) {
      EXPECT_STREQ(e.what(), "Connection closed");
      EXPECT_EQ(e.code(), make_error_code(error::connection_closed));
    }
    EXPECT_EQ(c.pending(), 0u);
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);
    // The server saw the first connection go.
    const bool one = co_await eventually([&] { return svc.srv.connections() == 1; });
    EXPECT_TRUE(one);
    gate.cancel();
    co_await svc.app.shutdown();
  });
}

TEST_F(loopback, connecting_to_a_closed_port_fails_promptly) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::uint16_t port = 0;
    {
      // A port that was free a moment ago, and nobody listens on.
      const asio::ip::tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
      asio::ip::tcp::acceptor probe(ex, any);
      port = probe.local_endpoint().port();
    }
    tcp::client_options o = client_opts(port);
    o.connect_timeout = 10s;
    client_proxy c(ex, tcp::client(o));
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await c.send("sum", one_two_three);
      ADD_FAILURE() << "connected to a closed port";
    } catch (const connection_error& e) {
      EXPECT_EQ(e.code(), make_error_code(error::not_connected));
      EXPECT_NE(std::string(e.what()).find("cannot connect to 127.0.0.1:" + std::to_string(port)),
                std::string::npos)
          << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    EXPECT_EQ(c.pending(), 0u);
    EXPECT_EQ(c.status(), connection_status::disconnected);
  });
}

// A listener whose accept queue is full: Linux then drops new SYNs, so a connect hangs.
TEST_F(loopback, connect_timeout) {
  bool queue_full = false;
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const asio::ip::tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
    asio::ip::tcp::acceptor full(ex);
    full.open(asio::ip::tcp::v4());
    full.bind(any);
    full.listen(0);
    const auto ep = full.local_endpoint();
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> fillers;
    for (int i = 0; i < 16 && !queue_full; ++i) {
      fillers.push_back(std::make_unique<asio::ip::tcp::socket>(ex));
      asio::steady_timer t(ex, 300ms);
      auto r = co_await (fillers.back()->async_connect(ep, as_tuple(use_awaitable)) ||
                         t.async_wait(as_tuple(use_awaitable)));
      queue_full = r.index() == 1;
    }
    if (!queue_full) co_return;  // reported below

    tcp::client_options o = client_opts(ep.port());
    o.connect_timeout = 300ms;
    client_proxy c(ex, tcp::client(o));
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await c.connect();
      ADD_FAILURE() << "connected";
    } catch (const connection_error& e) {
      EXPECT_EQ(e.code(), make_error_code(error::timeout));
      EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 5s);
  });
  // A test that cannot set up its condition fails: it must not pass without checking anything.
  if (!queue_full) FAIL() << "could not make a connect hang (accept queue never filled)";
}

// A reply its handler finished while the service drained (stop() asked) reaches the caller
// before run() returns: run() waits for the transports' closes to write it, instead of stopping
// the executor on a reply half written (which left the caller waiting for ever). The reply is
// large (32 MiB), so that it is still being written when the drain ends.
TEST(tcp_shutdown, a_reply_finished_during_the_drain_is_written_before_run_returns) {
  router r;
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  r.message("big", [&](std::size_t n) -> awaitable<std::string> {
    entered = true;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!release) {
      t.expires_after(2ms);
      co_await t.async_wait(use_awaitable);
    }
    co_return std::string(n, 'x');
  });
  microservice app(r, {.threads = 1, .handle_signals = false, .log = logger::silent()});
  auto& srv = app.add_transport(server({.host = "127.0.0.1", .port = 0}));
  std::promise<void> ready;
  app.on_ready([&] { ready.set_value(); });
  int rc = -1;
  std::thread runner([&] { rc = app.run(); });
  ASSERT_EQ(ready.get_future().wait_for(30s), std::future_status::ready);
  constexpr std::size_t size = 32u << 20;
  blocking_client c(client({.host = "127.0.0.1", .port = srv.port()}));
  // Bounded: without the fix the call would wait for ever on a connection nobody closes.
  auto answer = std::async(std::launch::async, [&] {
    return c.send<std::string>("big", size, call_options{.timeout = 30s});
  });
  ASSERT_TRUE(roost::testing::wait_until([&] { return entered.load(); }));
  app.stop();
  release = true;
  runner.join();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(answer.get().size(), size);  // timeout_error (a throw) if it never came
}

}  // namespace
}  // namespace roost::tcp::test
