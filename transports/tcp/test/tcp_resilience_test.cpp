// Client resilience and deadlines over real sockets on 127.0.0.1: retries across a server
// restart, a circuit breaker that opens while the server is down and closes once it is back,
// and the deadline a client sends with its timeout.

#include <roost/tcp.hpp>

#include "loopback_support.hpp"

namespace roost::tcp::test {
namespace {

class resilience : public ::testing::Test {
 protected:
  service_state st;
  router r = make_router(st);
};

const std::vector<double> one_two_three{1, 2, 3};

boost::system::error_code code_of(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const connection_error& c) {
    return c.code();
  } catch (...) {
  }
  return {};
}

awaitable<std::exception_ptr> failure_of(awaitable<double> op) {
  std::exception_ptr e;
  try {
    (void)co_await std::move(op);
  } catch (...) {
    e = std::current_exception();
  }
  co_return e;
}

awaitable<double> idempotent_sum(client_proxy& c) {
  call_options o;
  o.idempotent = true;
  const double v = co_await c.send<double>("sum", one_two_three, o);
  co_return v;
}

TEST_F(resilience, an_idempotent_call_retries_until_the_server_is_back) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto first = std::make_unique<service>(r);
    co_await first->app.start();
    const std::uint16_t port = first->port();
    co_await first->app.shutdown();
    first.reset();

    std::atomic<int> retries{0};
    roost::client_options copts;
    copts.retry.max_attempts = 500;
    copts.retry.initial_backoff = 20ms;
    copts.retry.max_backoff = 20ms;
    copts.retry.random = [&retries] {
      ++retries;
      return 1.0;
    };
    copts.retry.budget = std::make_shared<retry_budget>(
        retry_budget::options{.ratio = 0, .min_per_second = 1000, .max_saved = 0, .clock = {}});
    client_proxy c(ex, tcp::client(client_opts(port)), copts);
    // Not idempotent: the refused connection is the call's answer.
    const auto refused = co_await failure_of(c.send<double>("sum", one_two_three));
    EXPECT_EQ(code_of(refused), make_error_code(error::not_connected));
    EXPECT_EQ(retries.load(), 0);

    auto call = spawn(ex, idempotent_sum(c));
    const bool retrying = co_await eventually([&] { return retries.load() >= 2; });
    EXPECT_TRUE(retrying);
    service second(r, server_opts({}, port));
    co_await second.app.start();
    const double sum = co_await call->join();
    EXPECT_EQ(sum, 6);
    EXPECT_GE(retries.load(), 2);
    EXPECT_EQ(c.pending(), 0u);
    co_await second.app.shutdown();
  });
}

TEST_F(resilience, the_breaker_opens_while_the_server_is_down_and_closes_once_it_is_back) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto first = std::make_unique<service>(r);
    co_await first->app.start();
    const std::uint16_t port = first->port();

    auto now =
        std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    auto breaker = std::make_shared<circuit_breaker>(circuit_breaker::options{
        .failure_threshold = 3, .open_for = 10s, .probes = 1, .clock = [now] { return *now; }});
    roost::client_options copts;
    copts.breaker = breaker;
    client_proxy c(ex, tcp::client(client_opts(port)), copts);
    int connects = 0;
    c.on_status([&](connection_status s) {
      if (s == connection_status::connecting) ++connects;
    });
    const double sum = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(sum, 6);

    first->srv.stop_accepting();
    first->srv.close();
    co_await first->app.shutdown();
    first.reset();
    const bool dropped =
        co_await eventually([&] { return c.status() == connection_status::disconnected; });
    EXPECT_TRUE(dropped);
    for (int i = 0; i < 3; ++i) {
      const auto e = co_await failure_of(c.send<double>("sum", one_two_three));
      EXPECT_EQ(code_of(e), make_error_code(error::not_connected));
    }
    EXPECT_EQ(breaker->state(), circuit_state::open);
    const int connects_before = connects;
    const auto fast = co_await failure_of(c.send<double>("sum", one_two_three));
    EXPECT_EQ(code_of(fast), make_error_code(error::circuit_open));
    EXPECT_EQ(connects, connects_before);  // failed without trying the network

    service second(r, server_opts({}, port));
    co_await second.app.start();
    *now += 10s;
    EXPECT_EQ(breaker->state(), circuit_state::half_open);
    const double again = co_await c.send<double>("sum", one_two_three);
    EXPECT_EQ(again, 6);
    EXPECT_EQ(breaker->state(), circuit_state::closed);
    co_await second.app.shutdown();
  });
}

TEST_F(resilience, the_server_sees_the_client_s_deadline_and_refuses_an_expired_request) {
  r.message("left", [](context& ctx) -> json::value {
    const auto left = ctx.remaining();
    if (!left) return nullptr;
    return left->count();
  });
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    service svc(r);
    co_await svc.app.start();
    client_proxy c(ex, tcp::client(client_opts(svc.port())));
    call_options o;
    o.timeout = 30s;
    const json::value left = co_await c.send("left", 0, o);
    EXPECT_TRUE(left.is_int64()) << str(left);
    if (left.is_int64()) {
      EXPECT_GT(left.as_int64(), 20000);
      EXPECT_LE(left.as_int64(), 30000);
    }
    call_options stale;
    stale.headers.set(deadline_header, format_deadline(std::chrono::system_clock::now() - 1s));
    std::string message;
    try {
      (void)co_await c.send("sum", one_two_three, stale);
    } catch (const rpc_error& e) {
      message = e.message();
    }
    EXPECT_EQ(message, "Deadline exceeded");
    EXPECT_EQ(svc.app.dispatcher().expired_requests(), 1u);
    co_await svc.app.shutdown();
  });
}

}  // namespace
}  // namespace roost::tcp::test
