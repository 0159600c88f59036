// A client balancing over several servers (client_options::endpoints), over real sockets on
// 127.0.0.1: how calls, streams and events spread, least-outstanding against a slow server, and
// a server lost mid-call and restarted.

#include <roost/tcp.hpp>

#include "loopback_support.hpp"

namespace roost::tcp::test {
namespace {

// One server of the test, with what its handlers count.
struct node {
  explicit node(milliseconds delay = 0ms) : r(make_router(st)) {
    r.message("who", [this, delay]() -> awaitable<int> {
      ++hits;
      if (delay.count() > 0) {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer t(ex, delay);
        co_await t.async_wait(use_awaitable);
      }
      co_return 1;
    });
  }

  awaitable<void> start(std::uint16_t port = 0) {
    svc = std::make_unique<service>(r, server_opts({}, port));
    co_await svc->app.start();
  }

  awaitable<void> stop() {
    svc->srv.stop_accepting();
    svc->srv.close();
    co_await svc->app.shutdown();
    svc.reset();
  }

  std::atomic<int> hits{0};
  service_state st;
  router r;
  std::unique_ptr<service> svc;
};

tcp::client_options balanced(const std::vector<std::uint16_t>& ports, balance_policy p) {
  tcp::client_options o = client_opts(0);
  for (auto port : ports) o.endpoints.push_back({"127.0.0.1", port});
  o.balance = p;
  o.reconnect_min = 20ms;
  o.reconnect_max = 100ms;
  return o;
}

boost::system::error_code code_of(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const connection_error& c) {
    return c.code();
  } catch (...) {
  }
  return {};
}

awaitable<int> who(client_proxy& c) {
  const int v = co_await c.send<int>("who", json::value(nullptr));
  co_return v;
}

awaitable<std::string> hold(client_proxy& c) {
  auto s = co_await c.send<std::string>("hold", json::value(nullptr));
  co_return s;
}

awaitable<int> worker(client_proxy& c, std::shared_ptr<std::atomic<int>> left) {
  while (left->fetch_sub(1) > 0) (void)co_await who(c);
  co_return 0;
}

// `workers` coroutines making `calls` calls in all; completes when all are answered.
awaitable<void> call_concurrently(client_proxy& c, int workers, int calls) {
  auto ex = co_await asio::this_coro::executor;
  auto left = std::make_shared<std::atomic<int>>(calls);
  std::vector<std::shared_ptr<background<int>>> all;
  for (int w = 0; w < workers; ++w) all.push_back(spawn(ex, worker(c, left)));
  for (auto& b : all) (void)co_await b->join(30s);
}

TEST(tcp_balancing, round_robin_spreads_calls_streams_and_events_evenly) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    node a, b, c;
    co_await a.start();
    co_await b.start();
    co_await c.start();
    const std::vector<std::uint16_t> ports{a.svc->port(), b.svc->port(), c.svc->port()};
    client_proxy client(ex, tcp::client(balanced(ports, balance_policy::round_robin)));
    // 8 callers at once: each server gets a third, within 10%.
    co_await call_concurrently(client, 8, 300);
    for (node* n : {&a, &b, &c}) {
      EXPECT_GE(n->hits.load(), 90);
      EXPECT_LE(n->hits.load(), 110);
    }
    EXPECT_EQ(a.hits + b.hits + c.hits, 300);

    for (int i = 0; i < 30; ++i) {
      auto sent = client.emit("note", i);
      co_await std::move(sent);
    }
    const bool all_events =
        co_await eventually([&] { return a.st.events + b.st.events + c.st.events == 30; });
    EXPECT_TRUE(all_events);
    for (node* n : {&a, &b, &c}) {
      EXPECT_GE(n->st.events.load(), 9);
      EXPECT_LE(n->st.events.load(), 11);
    }

    auto values = client.stream<int>("count", 5);
    std::vector<int> got;
    for (;;) {
      auto v = co_await values.next();
      if (!v) break;
      got.push_back(*v);
    }
    const std::vector<int> expected{0, 1, 2, 3, 4};
    EXPECT_EQ(got, expected);
    EXPECT_EQ(client.pending(), 0u);

    client.close();
    co_await a.stop();
    co_await b.stop();
    co_await c.stop();
  });
}

TEST(tcp_balancing, least_outstanding_favours_the_fast_server) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    node fast, slow(200ms);
    co_await fast.start();
    co_await slow.start();
    const std::vector<std::uint16_t> ports{slow.svc->port(), fast.svc->port()};
    client_proxy client(ex, tcp::client(balanced(ports, balance_policy::least_outstanding)));
    co_await call_concurrently(client, 8, 120);
    EXPECT_EQ(fast.hits + slow.hits, 120);
    // Round robin would give each 60; here the slow one gets few more than the first calls.
    EXPECT_GE(fast.hits.load(), 3 * slow.hits.load());
    EXPECT_GE(slow.hits.load(), 1);
    client.close();
    co_await fast.stop();
    co_await slow.stop();
  });
}

TEST(tcp_balancing, a_lost_server_fails_its_calls_only_is_skipped_and_used_again_once_back) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    node a, b, c;
    asio::steady_timer gate_a(ex, asio::steady_timer::time_point::max());
    asio::steady_timer gate_b(ex, asio::steady_timer::time_point::max());
    a.st.gate = &gate_a;
    b.st.gate = &gate_b;
    co_await a.start();
    co_await b.start();
    co_await c.start();
    const std::uint16_t port_b = b.svc->port();
    const std::vector<std::uint16_t> ports{a.svc->port(), port_b, c.svc->port()};
    client_proxy client(ex, tcp::client(balanced(ports, balance_policy::round_robin)));
    co_await client.connect();

    // One call held on a, one on b (round robin: a, then b).
    auto on_a = spawn(ex, hold(client));
    const bool held_a = co_await eventually([&] { return a.st.held == 1; });
    EXPECT_TRUE(held_a);
    auto on_b = spawn(ex, hold(client));
    const bool held_b = co_await eventually([&] { return b.st.held == 1; });
    EXPECT_TRUE(held_b);

    // b goes: its call fails with "Connection closed"; a's goes on.
    b.svc->srv.stop_accepting();
    b.svc->srv.close();
    std::exception_ptr lost;
    try {
      (void)co_await on_b->join();
    } catch (...) {
      lost = std::current_exception();
    }
    EXPECT_EQ(code_of(lost), make_error_code(error::connection_lost));
    gate_b.cancel();  // b's handler ends (its reply goes nowhere), so b can shut down
    co_await b.stop();
    EXPECT_FALSE(on_a->done.load());
    gate_a.cancel();
    const std::string released = co_await on_a->join();
    EXPECT_EQ(released, "released");

    // b is skipped: every call succeeds, on a and c alike.
    const int a_before = a.hits, c_before = c.hits;
    for (int i = 0; i < 40; ++i) {
      const int v = co_await who(client);
      EXPECT_EQ(v, 1);
    }
    EXPECT_EQ(a.hits - a_before, 20);
    EXPECT_EQ(c.hits - c_before, 20);

    // b back on its port: the background retry finds it and it gets calls again.
    co_await b.start(port_b);
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (b.hits == 0 && std::chrono::steady_clock::now() < until) {
      (void)co_await who(client);
      co_await pause_for(5ms);
    }
    EXPECT_GT(b.hits.load(), 0);
    const int b_before = b.hits;
    for (int i = 0; i < 30; ++i) (void)co_await who(client);
    EXPECT_EQ(b.hits - b_before, 10);
    EXPECT_EQ(client.pending(), 0u);

    client.close();
    co_await a.stop();
    co_await b.stop();
    co_await c.stop();
  });
}

TEST(tcp_balancing, every_server_down_fails_the_call_with_not_connected) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    node a;
    co_await a.start();
    const std::uint16_t port = a.svc->port();
    co_await a.stop();
    const std::vector<std::uint16_t> ports{port};
    client_proxy client(ex, tcp::client(balanced(ports, balance_policy::least_outstanding)));
    std::exception_ptr e;
    try {
      (void)co_await who(client);
    } catch (...) {
      e = std::current_exception();
    }
    EXPECT_EQ(code_of(e), make_error_code(error::not_connected));
    client.close();
  });
}

TEST(tcp_balancing, urls_name_several_servers_or_a_policy) {
  auto two = url::parse("tcp://10.0.0.1:3001,10.0.0.2?balance=round_robin");
  ASSERT_TRUE(two);
  auto o = client_options_from(*two);
  ASSERT_TRUE(o);
  ASSERT_EQ(o->endpoints.size(), 2u);
  EXPECT_EQ(o->endpoints[0].host, "10.0.0.1");
  EXPECT_EQ(o->endpoints[0].port, 3001);
  EXPECT_EQ(o->endpoints[1].host, "10.0.0.2");
  EXPECT_EQ(o->endpoints[1].port, 3001);  // the first one's port
  EXPECT_EQ(o->balance, balance_policy::round_robin);

  auto headless = url::parse("tcp://math.default.svc:3000?balance=least_outstanding");
  ASSERT_TRUE(headless);
  auto h = client_options_from(*headless);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->endpoints.size(), 1u);
  EXPECT_EQ(h->endpoints[0].host, "math.default.svc");
  EXPECT_EQ(h->balance, balance_policy::least_outstanding);

  auto one = url::parse("tcp://math:3000");
  ASSERT_TRUE(one);
  auto single = client_options_from(*one);
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->endpoints.empty());
  EXPECT_EQ(single->host, "math");

  auto bad = url::parse("tcp://a:1,b:2?balance=random");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(client_options_from(*bad));
}

}  // namespace
}  // namespace roost::tcp::test
