// Graceful shutdown under load, one driver for every transport of this build (chosen by URL),
// against the real brokers (scripts/brokers.sh; each one's URL in its ROOST_<BROKER>_URL):
// clients keep calls in flight against handlers that take 100-300 ms, the service is stopped
// while they run, and every call whose handler started gets its reply; none is left waiting.
// On RabbitMQ what the stopped service did not take waits in the queue for the next consumer,
// which serves it: both ends are counted. Also: a second SIGTERM ends a service whose handler
// never returns, at once. A broker whose URL is unset fails its case, never skips it.

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/transports.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace roost::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using roost::testing::eventually;
using roost::testing::unique_number;
using roost::testing::with_query;

struct target {
  std::string name;
  std::string scheme;  // the case runs when this build has that transport
  // The service's URL; the clients use the same. Empty variable: a loopback port of its own.
  std::string variable;
  std::string query;
  bool connection_oriented = false;  // a call made during the drain is refused at once
  bool queued = false;  // what the stopped service did not take waits for the next consumer
};

std::vector<target> targets() {
  const std::string queue = "t" + unique_number() + ".drain";
  const std::vector<target> all{
      {"tcp", "tcp", "", "", true, false},
      {"ws", "ws", "", "", true, false},
      {"redis", "redis", "ROOST_REDIS_URL", "", false, false},
      {"nats", "nats", "ROOST_NATS_URL", "", false, false},
      // noAck=false: a message is acknowledged when its handler returned; the queue outlives
      // its consumers (for the next one) and goes a minute after the test.
      {"rabbitmq", "amqp", "ROOST_RABBITMQ_URL",
       "queue=" + queue +
           "&durable=false&autoDelete=false&expires=60000&noAck=false&"
           "prefetchCount=8",
       false, true},
      {"mqtt", "mqtt", "ROOST_MQTT_URL", "", false, false},
      {"mqtt5", "mqtt", "ROOST_MQTT_URL", "protocolVersion=5", false, false}};
  std::vector<target> built;
  for (const auto& t : all) {
    if (find_transport(t.scheme)) built.push_back(t);
  }
  return built;
}

url url_of(const target& t) {
  std::string text = t.variable.empty()
                         ? t.scheme + "://127.0.0.1:" + std::to_string(roost::testing::free_port())
                         : roost::testing::broker_url(t.variable.c_str());
  if (!t.query.empty()) text = with_query(text, t.query);
  auto u = url::parse(text);
  if (!u) throw std::runtime_error("bad url " + text);
  return *u;
}

microservice_options service_options() {
  auto o = roost::testing::app_options();
  o.drain_timeout = 10s;
  return o;
}

// A service of its own thread: run() until stop(), as a process runs it.
class running_service {
 public:
  running_service(const router& r, const url& where) : app_(r, service_options()) {
    app_.add_transport(make_server(where, app_.log()).value());
    std::promise<void> up;
    auto ready = up.get_future();
    app_.on_ready([&up] { up.set_value(); });
    runner_ = std::thread([this] {
      rc_ = app_.run();
      ended_ = true;
    });
    if (ready.wait_for(30s) != std::future_status::ready) {
      app_.stop();
      runner_.join();
      throw std::runtime_error("the service did not start within 30 s");
    }
  }
  ~running_service() { join(); }
  void stop() { app_.stop(); }
  bool ended() const { return ended_; }
  int join() {
    if (runner_.joinable()) runner_.join();
    return rc_;
  }

 private:
  microservice app_;
  std::thread runner_;
  int rc_ = -1;
  std::atomic<bool> ended_{false};
};

// What the clients saw, and what the handlers did.
struct tally {
  std::atomic<int> started{0}, finished{0};  // handler runs
  std::atomic<int> issued{0}, replied{0}, wrong{0}, timed_out{0};
  std::mutex mutex;
  std::map<std::string, int> errors;  // by message

  void error(const std::string& what) {
    std::lock_guard lock(mutex);
    ++errors[what];
  }
  std::string errors_text() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& [what, n] : errors) out += std::to_string(n) + " x " + what + "; ";
    return out;
  }
};

// A handler that takes 100 to 300 ms, by the number it is sent.
router slow_router(const json::value& route, tally& t) {
  router r;
  r.message(route, [&t](int n) -> awaitable<int> {
    ++t.started;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(100 + (n * 37) % 200));
    co_await timer.async_wait(asio::use_awaitable);
    ++t.finished;
    co_return n;
  });
  return r;
}

// One call, its outcome counted. A timeout is a call left waiting: the failure this test is for.
awaitable<void> call(client_proxy& c, const json::value& route, int n, tally& t) {
  ++t.issued;
  try {
    const int v = co_await c.send<int>(route, n, {.timeout = 20s});
    if (v == n) {
      ++t.replied;
    } else {
      ++t.wrong;
    }
  } catch (const timeout_error&) {
    ++t.timed_out;
  } catch (const std::exception& e) {
    t.error(e.what());
  }
}

class drain_on : public ::testing::TestWithParam<target> {};

TEST_P(drain_on, every_call_whose_handler_started_gets_its_reply) {
  const target& tg = GetParam();
  const url where = url_of(tg);
  const json::value route = json::string("t" + unique_number() + ".slow");
  constexpr int callers = 16;
  tally t;
  const router r = slow_router(route, t);
  auto first = std::make_unique<running_service>(r, where);
  int in_flight_at_stop = 0, extra = 0;

  roost::testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, make_client(where, logger::silent()).value());
        co_await c.connect();
        std::atomic<bool> stopping{false};
        std::atomic<int> workers{callers};
        std::atomic<int> next{0};
        for (int w = 0; w < callers; ++w) {
          asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                while (!stopping) co_await call(c, route, next++, t);
                --workers;
              },
              asio::detached);
        }
        // Under load: every caller has had calls answered.
        const bool loaded =
            co_await eventually([&] { return t.replied.load() >= 2 * callers; }, 30s);
        EXPECT_TRUE(loaded) << t.replied.load() << " replies";
        // No new call from now on; once each call made has reached its handler (so that none
        // is still on its way to a subscription being ended), the service stops while they run.
        stopping = true;
        const bool reached =
            co_await eventually([&] { return t.started.load() == t.issued.load(); }, 10s);
        EXPECT_TRUE(reached) << t.started.load() << " of " << t.issued.load()
                             << " calls reached their handler";
        in_flight_at_stop = t.started.load() - t.finished.load();
        first->stop();
        if (tg.connection_oriented || tg.queued) {
          // Calls made while it drains: refused at once on a connection it still holds;
          // waiting in the queue for the next consumer on a broker that keeps them.
          extra = tg.queued ? 2 * callers : 1;
          for (int k = 0; k < extra; ++k) {
            ++workers;
            asio::co_spawn(
                ex,
                [&, n = next++]() -> awaitable<void> {
                  co_await call(c, route, n, t);
                  --workers;
                },
                asio::detached);
          }
        }
        if (tg.queued) {
          // The next consumer, once the first one is gone, serves what the first left.
          const bool ended = co_await eventually([&] { return first->ended(); }, 30s);
          EXPECT_TRUE(ended) << "the first service's run did not end";
          EXPECT_EQ(first->join(), 0);
          first.reset();
          first = std::make_unique<running_service>(r, where);
        }
        const bool answered = co_await eventually([&] { return workers.load() == 0; }, 40s);
        EXPECT_TRUE(answered) << workers.load() << " callers still waiting";
        c.close();
      },
      90s);
  if (first) {
    first->stop();
    EXPECT_EQ(first->join(), 0);
  }

  SCOPED_TRACE(tg.name + ": " + std::to_string(t.issued.load()) + " calls, " +
               std::to_string(t.started.load()) + " handler runs, " +
               std::to_string(in_flight_at_stop) +
               " in flight at the stop; errors: " + t.errors_text());
  EXPECT_GT(in_flight_at_stop, 0) << "the stop came while handlers ran";
  EXPECT_EQ(t.timed_out.load(), 0) << "calls left waiting";
  EXPECT_EQ(t.wrong.load(), 0);
  EXPECT_EQ(t.finished.load(), t.started.load()) << "handlers cut short";
  EXPECT_EQ(t.replied.load(), t.finished.load()) << "a handler's reply lost";
  // The only failures: a call made during the drain, refused (or on a connection closing).
  std::lock_guard lock(t.mutex);
  int failed = 0;
  for (const auto& [what, n] : t.errors) {
    failed += n;
    EXPECT_TRUE(what.find(shutting_down_message) != std::string::npos ||
                what.find("Connection closed") != std::string::npos ||
                what.find("cannot connect") != std::string::npos)
        << what;
  }
  EXPECT_LE(failed, extra);
  EXPECT_EQ(t.replied.load() + failed, t.issued.load());
}

INSTANTIATE_TEST_SUITE_P(transports, drain_on, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<target>& info) {
                           return info.param.name;
                         });

// RabbitMQ, acknowledged on return (noAck=false): the events the stopped service handled are
// acknowledged, and only the others reach the next consumer, which handles them all.
TEST(drain_events, rabbitmq_handled_events_acknowledged_the_rest_redelivered_to_the_next) {
  if (!find_transport("amqp")) FAIL() << "this build has no RabbitMQ transport";
  const std::string queue = "t" + unique_number() + ".events";
  target tg{"rabbitmq", "amqp", "ROOST_RABBITMQ_URL",
            "queue=" + queue +
                "&durable=false&autoDelete=false&expires=60000&noAck=false&"
                "prefetchCount=4"};
  const url where = url_of(tg);
  constexpr int events = 40;
  std::mutex mutex;
  std::vector<std::multiset<int>> handled(2);  // by each service
  std::atomic<int> instance{0};
  router r;
  r.event("note", [&](int n) -> awaitable<void> {
    const int by = instance.load();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(100ms);
    co_await timer.async_wait(asio::use_awaitable);
    std::lock_guard lock(mutex);
    handled[by].insert(n);
  });
  auto count = [&](int by) {
    std::lock_guard lock(mutex);
    return handled[by].size();
  };
  {
    running_service first(r, where);
    roost::testing::run([&]() -> awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      client_proxy c(ex, make_client(where, logger::silent()).value());
      for (int n = 0; n < events; ++n) co_await c.emit("note", n);
      c.close();
      const bool started = co_await eventually([&] { return count(0) >= 8; }, 20s);
      EXPECT_TRUE(started) << count(0) << " handled";
    });
    first.stop();
    EXPECT_EQ(first.join(), 0);
  }
  const std::size_t by_first = count(0);
  instance = 1;
  {
    running_service next(r, where);
    roost::testing::run(
        [&]() -> awaitable<void> {
          const bool all =
              co_await eventually([&] { return count(0) + count(1) >= std::size_t{events}; }, 30s);
          EXPECT_TRUE(all) << count(0) << " + " << count(1) << " handled";
          co_await roost::testing::pause_for(300ms);  // nothing more comes
        },
        60s);
    next.stop();
    EXPECT_EQ(next.join(), 0);
  }
  std::lock_guard lock(mutex);
  EXPECT_LT(by_first, std::size_t{events}) << "the stop came before the first had them all";
  EXPECT_EQ(handled[0].size(), by_first) << "the first handled events after its run ended";
  std::multiset<int> all = handled[0];
  all.insert(handled[1].begin(), handled[1].end());
  for (int n = 0; n < events; ++n) {
    EXPECT_EQ(all.count(n), 1u) << "event " << n << " (first: " << handled[0].count(n)
                                << ", next: " << handled[1].count(n) << ")";
  }
}

// A second SIGTERM while the service drains ends it at once with 128 + SIGTERM, even though a
// handler never returns; the first alone waits for that handler (up to drain_timeout).
TEST(drain_signals, a_second_sigterm_ends_a_draining_service_at_once) {
  router r;
  std::atomic<bool> entered{false};
  r.message("stuck", [&](int) -> awaitable<int> {
    entered = true;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::hours(1));
    co_await timer.async_wait(asio::use_awaitable);
    co_return 0;
  });
  auto o = roost::testing::app_options();
  o.handle_signals = true;
  o.drain_timeout = 60s;
  auto service = std::make_unique<microservice>(r, o);
  auto& app = *service;
  const std::string where = "tcp://127.0.0.1:" + std::to_string(roost::testing::free_port());
  app.add_transport(make_server(url::parse(where).value(), app.log()).value());
  std::promise<void> up;
  app.on_ready([&up] { up.set_value(); });
  std::promise<int> ended;
  auto rc = ended.get_future();
  std::thread runner([&] { ended.set_value(app.run()); });
  ASSERT_EQ(up.get_future().wait_for(30s), std::future_status::ready);

  blocking_client c(make_client(url::parse(where).value(), logger::silent()).value());
  auto answer = std::async(std::launch::async, [&] {
    try {
      (void)c.send<int>("stuck", 1, {.timeout = 30s});
      return std::string("a reply");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  });
  ASSERT_TRUE(roost::testing::wait_until([&] { return entered.load(); }, 10s));

  ::kill(::getpid(), SIGTERM);
  ASSERT_TRUE(roost::testing::wait_until([&] { return !app.ready(); }, 10s));
  // The first signal drains: the stuck handler holds the service up.
  EXPECT_EQ(rc.wait_for(300ms), std::future_status::timeout) << "ended without draining";
  const auto second = std::chrono::steady_clock::now();
  ::kill(::getpid(), SIGTERM);
  if (rc.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "a second SIGTERM did not end the run within 10 s";
    std::_Exit(1);  // the runner cannot be joined: a hung test must not hang CI
  }
  EXPECT_LT(std::chrono::steady_clock::now() - second, 5s);
  EXPECT_EQ(rc.get(), 128 + SIGTERM);
  runner.join();
  service.reset();
  // The caller is not left waiting either: its connection closes with the service.
  EXPECT_EQ(answer.wait_for(10s), std::future_status::ready);
  const std::string seen = answer.get();
  EXPECT_NE(seen, "a reply");
}

}  // namespace
}  // namespace roost::test
