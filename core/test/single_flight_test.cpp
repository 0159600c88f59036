#include <roost/detail/single_flight.hpp>

#include "test_support.hpp"

#include <roost/testing/run.hpp>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

namespace roost {
namespace {

using value = std::shared_ptr<int>;
namespace asio = boost::asio;

// A client's connect reduced to its bones: a stored value, and attempts that take a while.
struct fake_client {
  std::mutex mutex;
  value stored;
  int attempts = 0;
  bool fail = false;
  detail::single_flight<value> flight;

  awaitable<value> connect() {
    auto ready = [this] {
      std::lock_guard lock(mutex);
      return stored;
    };
    auto start = [this]() -> awaitable<value> {
      const int n = ++attempts;
      co_await test::sleep_for(std::chrono::milliseconds(20));
      if (fail) throw std::runtime_error("attempt " + std::to_string(n) + " failed");
      auto v = std::make_shared<int>(n);
      std::lock_guard lock(mutex);
      stored = v;
      co_return v;
    };
    auto r = flight.run(ready, start);
    co_return co_await std::move(r);
  }
};

// Starts `n` callers running `body` on `ex` (copies of one callable) without waiting for them.
template <class Executor, class Body>
void spawn_callers(const Executor& ex, int n, Body body) {
  for (int i = 0; i < n; ++i) asio::co_spawn(ex, body, asio::detached);
}

TEST(single_flight, concurrent_callers_share_one_attempt) {
  fake_client c;
  std::vector<int> got;
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    spawn_callers(ex, 5, [&]() -> awaitable<void> {
      auto v = co_await c.connect();
      got.push_back(*v);
    });
    const bool all = co_await test::wait_until([&] { return got.size() == 5; });
    EXPECT_TRUE(all);
    EXPECT_FALSE(c.flight.in_flight());
  });
  EXPECT_EQ(c.attempts, 1);
  EXPECT_EQ(got, std::vector<int>(5, 1));
}

TEST(single_flight, a_ready_value_makes_no_attempt) {
  fake_client c;
  c.stored = std::make_shared<int>(7);
  testing::run([&]() -> awaitable<void> {
    auto v = co_await c.connect();
    EXPECT_EQ(*v, 7);
  });
  EXPECT_EQ(c.attempts, 0);
}

TEST(single_flight, every_waiting_caller_gets_the_error_and_a_later_call_tries_again) {
  fake_client c;
  c.fail = true;
  std::atomic<int> failures{0};
  std::vector<std::string> messages;
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    spawn_callers(ex, 3, [&]() -> awaitable<void> {
      try {
        co_await c.connect();
      } catch (const std::runtime_error& e) {
        messages.push_back(e.what());
        ++failures;
      }
    });
    const bool all = co_await test::wait_until([&] { return failures == 3; });
    EXPECT_TRUE(all);
    c.fail = false;
    auto v = co_await c.connect();
    EXPECT_EQ(*v, 2);
  });
  EXPECT_EQ(c.attempts, 2);
  EXPECT_EQ(messages, std::vector<std::string>(3, "attempt 1 failed"));
}

TEST(single_flight, callers_on_other_threads_resume_on_their_own_executors) {
  fake_client c;
  std::atomic<int> done{0};
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 8; ++i) {
          auto strand = asio::make_strand(ex);
          asio::co_spawn(
              strand,
              [&, strand]() -> awaitable<void> {
                auto v = co_await c.connect();
                EXPECT_TRUE(strand.running_in_this_thread());
                EXPECT_EQ(*v, 1);
                ++done;
              },
              asio::detached);
        }
        const bool all = co_await test::wait_until([&] { return done == 8; });
        EXPECT_TRUE(all);
      },
      std::chrono::seconds(20), 2);
  EXPECT_EQ(c.attempts, 1);
}

}  // namespace
}  // namespace roost
