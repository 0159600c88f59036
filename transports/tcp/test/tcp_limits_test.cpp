// A TCP server's limits (roost/limits.hpp) as raw NestJS-like peers see them: the peer that
// goes over one gets the error or the closed connection, the others are served as before, and
// once the load is gone the refused peer is served again.

#include <roost/tcp/server.hpp>

#include <roost/tcp/from_url.hpp>

#include "loopback_support.hpp"

#include <roost/testing/worker_pool.hpp>

#include <algorithm>
#include <cstdio>

namespace roost::tcp::test {
namespace {

class tcp_limits : public ::testing::Test {
 protected:
  service_state st;
  router r = make_router(st);
};

/// The warnings the server logged.
struct warnings {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  logger make() const {
    return logger(log_level::warn,
                  [m = mutex, l = lines](log_level, std::string_view, std::string_view text) {
                    std::lock_guard lock(*m);
                    l->emplace_back(text);
                  });
  }
  bool contains(std::string_view text) const {
    std::lock_guard lock(*mutex);
    for (const auto& l : *lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

server_options serving(const roost::limits& l, logger log = logger::silent()) {
  auto o = server_opts();
  o.serving = l;
  o.log = std::move(log);
  return o;
}

std::string hold(std::string_view id) {
  return frame(R"({"pattern":"hold","data":0,"id":")" + std::string(id) + R"("})");
}
std::string sum(std::string_view id) {
  return frame(R"({"pattern":"sum","data":[1,2,3],"id":")" + std::string(id) + R"("})");
}
std::string sum_reply(std::string_view id) {
  return frame(R"({"response":6,"isDisposed":true,"id":")" + std::string(id) + R"("})");
}
std::string released(std::string_view id) {
  return frame(R"({"response":"released","isDisposed":true,"id":")" + std::string(id) + R"("})");
}
std::string error_reply(std::string_view message, std::string_view id) {
  return frame(R"({"err":{"status":"error","message":")" + std::string(message) +
               R"("},"isDisposed":true,"id":")" + std::string(id) + R"("})");
}

TEST_F(tcp_limits, a_connection_over_its_in_flight_limit_gets_the_error_and_others_are_served) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer gate(ex, asio::steady_timer::time_point::max());
    st.gate = &gate;
    service svc(r, serving({.max_in_flight_per_connection = 2}));
    co_await svc.app.start();
    auto busy = co_await raw_peer::connect(svc.port());
    auto other = co_await raw_peer::connect(svc.port());
    co_await busy.write(hold("h1") + hold("h2"));
    const bool both_held = co_await eventually([&] { return st.held == 2; });
    EXPECT_TRUE(both_held);
    // The third on that connection is answered at once...
    co_await busy.write(sum("s1"));
    const std::string refused = co_await busy.read_frame();
    EXPECT_EQ(refused, error_reply("Too many requests in flight on this connection", "s1"));
    // ...while another connection is served as usual, and may hold requests of its own.
    co_await other.write(sum("s2") + hold("h3"));
    const std::string served = co_await other.read_frame();
    EXPECT_EQ(served, sum_reply("s2"));
    const bool third_held = co_await eventually([&] { return st.held == 3; });
    EXPECT_TRUE(third_held);
    gate.cancel();
    const std::string first = co_await busy.read_frame();
    const std::string second = co_await busy.read_frame();
    EXPECT_EQ(first + second, released("h1") + released("h2"));
    const std::string third = co_await other.read_frame();
    EXPECT_EQ(third, released("h3"));
    // The count is back to zero: the connection is served again.
    co_await busy.write(sum("s3") + sum("s4"));
    const std::string again = co_await busy.read(sum_reply("s3").size() * 2);
    EXPECT_EQ(again, sum_reply("s3") + sum_reply("s4"));
    EXPECT_EQ(svc.app.dispatcher().in_flight(), 0u);
    co_await svc.app.shutdown();
  });
}

TEST_F(tcp_limits, the_service_limit_counts_every_connection) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer gate(ex, asio::steady_timer::time_point::max());
    st.gate = &gate;
    service svc(r, serving({.max_in_flight = 2}));
    co_await svc.app.start();
    auto a = co_await raw_peer::connect(svc.port());
    auto b = co_await raw_peer::connect(svc.port());
    auto c = co_await raw_peer::connect(svc.port());
    co_await a.write(hold("a1"));
    co_await b.write(hold("b1"));
    const bool held = co_await eventually([&] { return st.held == 2; });
    EXPECT_TRUE(held);
    co_await c.write(sum("c1"));
    const std::string refused = co_await c.read_frame();
    EXPECT_EQ(refused, error_reply("Too many requests in flight", "c1"));
    gate.cancel();
    const std::string ra = co_await a.read_frame();
    const std::string rb = co_await b.read_frame();
    EXPECT_EQ(ra, released("a1"));
    EXPECT_EQ(rb, released("b1"));
    co_await c.write(sum("c2"));
    const std::string served = co_await c.read_frame();
    EXPECT_EQ(served, sum_reply("c2"));
    co_await svc.app.shutdown();
  });
}

TEST_F(tcp_limits, a_message_too_large_gets_the_error_and_the_connection_stays) {
  testing::run([&]() -> awaitable<void> {
    service svc(r, serving({.max_message_size = 100}));
    co_await svc.app.start();
    auto big = co_await raw_peer::connect(svc.port());
    auto other = co_await raw_peer::connect(svc.port());
    const std::string request =
        R"({"pattern":"echo","data":")" + std::string(200, 'x') + R"(","id":"big"})";
    co_await big.write(frame(request));
    const std::string refused = co_await big.read_frame();
    EXPECT_EQ(refused, error_reply("Message too large: " + std::to_string(request.size()) +
                                       " bytes, the limit is 100",
                                   "big"));
    // An event that large is dropped; nothing comes back, and the connection goes on.
    co_await big.write(frame(R"({"pattern":"note","data":")" + std::string(200, 'x') + R"("})"));
    co_await big.write(sum("s1"));
    const std::string served = co_await big.read_frame();
    EXPECT_EQ(served, sum_reply("s1"));
    EXPECT_EQ(st.events, 0);
    co_await other.write(sum("s2"));
    const std::string other_served = co_await other.read_frame();
    EXPECT_EQ(other_served, sum_reply("s2"));
    co_await svc.app.shutdown();
  });
}

TEST_F(tcp_limits, connections_beyond_the_limit_are_closed_and_the_others_unharmed) {
  testing::run([&]() -> awaitable<void> {
    warnings logs;
    service svc(r, serving({.max_connections = 2}, logs.make()));
    co_await svc.app.start();
    auto a = co_await raw_peer::connect(svc.port());
    auto b = co_await raw_peer::connect(svc.port());
    co_await a.write(sum("a1"));
    co_await b.write(sum("b1"));
    const std::string ra = co_await a.read_frame();
    const std::string rb = co_await b.read_frame();
    EXPECT_EQ(ra, sum_reply("a1"));
    EXPECT_EQ(rb, sum_reply("b1"));
    auto c = co_await raw_peer::connect(svc.port());
    const bool closed = co_await c.closed_by_peer();
    EXPECT_TRUE(closed);
    EXPECT_TRUE(logs.contains("refused: 2 connections open already"));
    co_await a.write(sum("a2"));
    const std::string ra2 = co_await a.read_frame();
    EXPECT_EQ(ra2, sum_reply("a2"));
    // A connection that goes gives its place back.
    boost::system::error_code ec;
    b.socket().close(ec);
    const bool freed = co_await eventually([&] { return svc.srv.connections() == 1; });
    EXPECT_TRUE(freed);
    auto d = co_await raw_peer::connect(svc.port());
    co_await d.write(sum("d1"));
    const std::string rd = co_await d.read_frame();
    EXPECT_EQ(rd, sum_reply("d1"));
    co_await svc.app.shutdown();
  });
}

/// What an open-loop client saw: the latency of each call answered, those shed, anything else.
struct tally {
  std::vector<milliseconds> accepted;  // answered after `measured_from`
  std::size_t shed = 0, sent = 0, done = 0, answered = 0;
  std::vector<std::string> unexpected;
  std::chrono::steady_clock::time_point measured_from;

  milliseconds percentile(double q) const {
    auto v = accepted;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0ms : v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
  }
};

awaitable<void> timed_call(client_proxy& c, tally& t) {
  const auto start = std::chrono::steady_clock::now();
  try {
    (void)co_await c.send<int>("work", 0);
    ++t.answered;
    if (start >= t.measured_from) {
      t.accepted.push_back(
          std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start));
    }
  } catch (const rpc_error& e) {
    if (e.message() == "Too many requests in flight") {
      ++t.shed;
    } else {
      t.unexpected.push_back(e.what());
    }
  } catch (const std::exception& e) {
    t.unexpected.push_back(e.what());
  }
  ++t.done;
}

TEST(tcp_adaptive_limit, twice_the_capacity_sheds_the_excess_and_the_accepted_keep_their_latency) {
  // 4 workers × 40 ms: 100 calls a second. The client sends 200 a second for 4 s, on a
  // schedule that does not wait for the replies (open loop), as independent callers do. Few
  // calls, so that a loaded machine or a sanitizer's slowness does not make them CPU-bound.
  roost::testing::worker_pool pool(4, 40ms);
  router r;
  r.message("work", [&pool]() -> awaitable<int> {
    co_await pool.work();
    co_return 1;
  });
  auto a = app_opts();
  a.concurrency_limit = adaptive_limit::options{};
  a.from_environment = false;
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        service svc(r, server_opts(), a);
        co_await svc.app.start();
        client_proxy c(ex, tcp::client(client_opts(svc.port())));
        tally t;
        const auto start = std::chrono::steady_clock::now();
        t.measured_from = start + 2s;  // the limit has found its level by then
        asio::steady_timer tick(ex);
        for (int i = 0; i < 800; ++i) {
          tick.expires_at(start + i * 5ms);
          co_await tick.async_wait(use_awaitable);
          ++t.sent;
          asio::co_spawn(ex, timed_call(c, t), asio::detached);
        }
        const bool all = co_await eventually([&] { return t.done == t.sent; }, 60s);
        EXPECT_TRUE(all) << t.done << " of " << t.sent << " calls answered";
        EXPECT_TRUE(t.unexpected.empty()) << t.unexpected.front();
        std::printf(
            "shed %zu of %zu; accepted after 2 s: %zu, p50 %lld ms, p90 %lld ms; limit %zu, "
            "baseline %lld us\n",
            t.shed, t.sent, t.accepted.size(), static_cast<long long>(t.percentile(0.5).count()),
            static_cast<long long>(t.percentile(0.9).count()),
            svc.app.dispatcher().limiter()->limit(),
            static_cast<long long>(svc.app.dispatcher().limiter()->baseline().count() / 1000));
        // Excess shed with the clear error, and counted by the limit for its metric.
        EXPECT_GT(t.shed, t.sent / 4) << "shed " << t.shed << " of " << t.sent;
        EXPECT_LT(t.shed, t.sent * 3 / 4) << "shed " << t.shed << " of " << t.sent;
        EXPECT_EQ(svc.app.dispatcher().limiter()->shed(), t.shed);
        // What was accepted kept near its unloaded latency (40 ms); queued without a limit, the
        // last of them would have waited two seconds.
        EXPECT_LE(t.percentile(0.5), 120ms) << "p90 " << t.percentile(0.9).count() << " ms";
        EXPECT_LE(t.percentile(0.9), 200ms);
        EXPECT_LE(svc.app.dispatcher().limiter()->limit(), 16u);
        // Goodput: the workers did at least 60% of what they can in the measured 2 s.
        EXPECT_GE(t.accepted.size(), 120u);
        c.close();
        co_await svc.app.shutdown();
      },
      120s);
}

TEST(tcp_limits_url, the_server_reads_its_limits_from_the_url) {
  auto u = url::parse(
      "tcp://127.0.0.1:0?maxMessageSize=4096&maxInFlightPerConnection=16&maxInFlight=64"
      "&maxConnections=8&maxBufferSize=8192");
  ASSERT_TRUE(u);
  auto o = server_options_from(*u);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->serving.max_message_size, 4096u);
  EXPECT_EQ(o->serving.max_in_flight_per_connection, 16u);
  EXPECT_EQ(o->serving.max_in_flight, 64u);
  EXPECT_EQ(o->serving.max_connections, 8u);
  EXPECT_EQ(o->limits.max_buffer_size, 8192u);
  auto bad = url::parse("tcp://127.0.0.1:0?maxConnections=lots");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(server_options_from(*bad));
}

}  // namespace
}  // namespace roost::tcp::test
