#include <roost/stream.hpp>

#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

// Tier 1: roost::stream<T> as a generator, driven on an io_context without any transport.

namespace roost {
namespace {

using namespace std::chrono_literals;
using roost::test::sleep_for;

/// Counts live instances, to prove a destroyed frame's locals were destroyed.
struct tracker {
  explicit tracker(int& n) : live(n) { ++live; }
  tracker(const tracker&) = delete;
  tracker& operator=(const tracker&) = delete;
  ~tracker() { --live; }
  int& live;
};

stream<int> count_to(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

stream<int> empty_stream() {
  co_return;
}

awaitable<int> async_value(int v, std::chrono::milliseconds delay) {
  co_await sleep_for(delay);
  co_return v * 10;
}

awaitable<void> async_fail(std::chrono::milliseconds delay) {
  co_await sleep_for(delay);
  throw std::runtime_error("async failure");
}

stream<int> async_count(int n) {
  for (int i = 0; i < n; ++i) {
    co_await sleep_for(1ms);
    const int v = co_await async_value(i, 1ms);
    co_yield v;
  }
}

/// Reads every value; rethrows what the stream threw.
awaitable<std::vector<int>> drain(stream<int>& s) {
  std::vector<int> out;
  for (;;) {
    auto v = co_await s.next();
    if (!v) break;
    out.push_back(*v);
  }
  co_return out;
}

TEST(stream, sync_generator_yields_all_values_then_ends) {
  roost::testing::run([]() -> awaitable<void> {
    auto s = count_to(5);
    const auto values = co_await drain(s);
    EXPECT_EQ(values, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(s.done());
    // After the end, next() keeps completing with nullopt.
    const auto again = co_await s.next();
    EXPECT_FALSE(again.has_value());
  });
}

TEST(stream, body_does_not_start_until_read) {
  roost::testing::run([]() -> awaitable<void> {
    bool started = false;
    auto make = [&started]() -> stream<int> {
      started = true;
      co_yield 1;
    };
    auto s = make();
    EXPECT_FALSE(started);
    EXPECT_FALSE(s.done());
    const auto v = co_await s.next();
    EXPECT_TRUE(started);
    EXPECT_EQ(v, std::optional<int>(1));
  });
}

TEST(stream, async_generator_awaits_inside_the_body) {
  roost::testing::run([]() -> awaitable<void> {
    auto s = async_count(4);
    const auto values = co_await drain(s);
    EXPECT_EQ(values, (std::vector<int>{0, 10, 20, 30}));
    EXPECT_TRUE(s.done());
  });
}

TEST(stream, body_can_await_several_operations_between_yields) {
  roost::testing::run([]() -> awaitable<void> {
    auto make = []() -> stream<int> {
      int sum = 0;
      for (int i = 1; i <= 3; ++i) {
        const int v = co_await async_value(i, 1ms);
        sum += v;
      }
      co_await sleep_for(2ms);
      co_yield sum;
      co_await sleep_for(1ms);  // the end comes after an asynchronous step too
    };
    auto s = make();
    const auto values = co_await drain(s);
    EXPECT_EQ(values, (std::vector<int>{60}));
  });
}

TEST(stream, awaited_exception_can_be_caught_in_the_body) {
  roost::testing::run([]() -> awaitable<void> {
    auto make = []() -> stream<int> {
      bool failed = false;
      try {
        co_await async_fail(1ms);
        co_yield 1;
      } catch (const std::runtime_error&) {
        failed = true;
      }
      if (failed) co_yield -1;
      co_yield 2;
    };
    auto s = make();
    const auto values = co_await drain(s);
    EXPECT_EQ(values, (std::vector<int>{-1, 2}));
  });
}

TEST(stream, exception_at_start_is_rethrown_by_next) {
  roost::testing::run([]() -> awaitable<void> {
    auto make = []() -> stream<int> {
      throw std::runtime_error("at start");
      co_yield 1;
    };
    auto s = make();
    std::string what;
    try {
      (void)co_await s.next();
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    EXPECT_EQ(what, "at start");
    EXPECT_TRUE(s.done());
    // The error is reported once; afterwards the stream is just over.
    const auto after = co_await s.next();
    EXPECT_FALSE(after.has_value());
  });
}

TEST(stream, exception_in_the_middle_comes_after_the_values) {
  roost::testing::run([]() -> awaitable<void> {
    auto make = []() -> stream<int> {
      co_yield 1;
      co_yield 2;
      throw std::logic_error("midway");
    };
    auto s = make();
    std::vector<int> got;
    std::string what;
    try {
      for (;;) {
        auto v = co_await s.next();
        if (!v) break;
        got.push_back(*v);
      }
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    EXPECT_EQ(got, (std::vector<int>{1, 2}));
    EXPECT_EQ(what, "midway");
  });
}

TEST(stream, exception_after_an_await_comes_after_the_values) {
  roost::testing::run([]() -> awaitable<void> {
    auto make = []() -> stream<int> {
      co_yield 1;
      co_await async_fail(2ms);  // propagates out of the body
      co_yield 2;
    };
    auto s = make();
    std::vector<int> got;
    std::string what;
    try {
      for (;;) {
        auto v = co_await s.next();
        if (!v) break;
        got.push_back(*v);
      }
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    EXPECT_EQ(got, (std::vector<int>{1}));
    EXPECT_EQ(what, "async failure");
    EXPECT_TRUE(s.done());
  });
}

TEST(stream, empty_streams) {
  roost::testing::run([]() -> awaitable<void> {
    auto s = empty_stream();
    const auto v = co_await s.next();
    EXPECT_FALSE(v.has_value());
    EXPECT_TRUE(s.done());

    auto async_empty = []() -> stream<int> { co_await sleep_for(1ms); };
    auto a = async_empty();
    const auto w = co_await a.next();
    EXPECT_FALSE(w.has_value());
    EXPECT_TRUE(a.done());

    stream<int> none;  // default-constructed: already over
    EXPECT_TRUE(none.done());
    const auto x = co_await none.next();
    EXPECT_FALSE(x.has_value());
  });
}

TEST(stream, move_only_and_string_values) {
  roost::testing::run([]() -> awaitable<void> {
    auto ptrs = []() -> stream<std::unique_ptr<int>> {
      co_yield std::make_unique<int>(7);
      auto p = std::make_unique<int>(8);
      co_yield std::move(p);
    };
    auto s = ptrs();
    auto a = co_await s.next();
    auto b = co_await s.next();
    auto c = co_await s.next();
    EXPECT_TRUE(a && *a && **a == 7);
    EXPECT_TRUE(b && *b && **b == 8);
    EXPECT_FALSE(c.has_value());

    auto strings = []() -> stream<std::string> {
      std::string kept = "lvalue";
      co_yield kept;  // copied, not moved from
      co_yield kept + "!";
    };
    auto t = strings();
    auto x = co_await t.next();
    auto y = co_await t.next();
    EXPECT_EQ(x, std::optional<std::string>("lvalue"));
    EXPECT_EQ(y, std::optional<std::string>("lvalue!"));
  });
}

TEST(stream, moved_stream_continues_where_it_was) {
  roost::testing::run([]() -> awaitable<void> {
    auto s = count_to(3);
    const auto first = co_await s.next();
    EXPECT_EQ(first, std::optional<int>(0));
    stream<int> t = std::move(s);
    EXPECT_TRUE(s.done());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    const auto rest = co_await drain(t);
    EXPECT_EQ(rest, (std::vector<int>{1, 2}));
    stream<int> u;
    u = count_to(1);
    const auto one = co_await drain(u);
    EXPECT_EQ(one, (std::vector<int>{0}));
  });
}

TEST(stream, poll_and_take_on_a_synchronous_body) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    int steps = 0;
    auto make = [&steps]() -> stream<int> {
      ++steps;
      co_yield 1;
      ++steps;
      co_yield 2;
      ++steps;
    };
    auto s = make();
    EXPECT_TRUE(s.poll(ex));  // ran inline up to the first yield
    EXPECT_EQ(steps, 1);
    EXPECT_TRUE(s.poll(ex));  // a value is ready: polling again does not run the body
    EXPECT_EQ(steps, 1);
    EXPECT_EQ(s.take(), std::optional<int>(1));
    EXPECT_TRUE(s.poll(ex));
    EXPECT_EQ(steps, 2);
    EXPECT_EQ(s.take(), std::optional<int>(2));
    EXPECT_FALSE(s.done());
    EXPECT_TRUE(s.poll(ex));  // the end is ready
    EXPECT_EQ(steps, 3);
    EXPECT_TRUE(s.done());
    EXPECT_EQ(s.take(), std::nullopt);
    EXPECT_TRUE(s.poll(ex));
    EXPECT_EQ(s.take(), std::nullopt);
  });
}

TEST(stream, poll_returns_false_while_the_body_waits) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    auto s = async_count(2);
    EXPECT_FALSE(s.poll(ex));
    EXPECT_FALSE(s.poll(ex));  // still waiting; does not start a second operation
    co_await s.wait_ready();
    EXPECT_TRUE(s.poll(ex));
    EXPECT_EQ(s.take(), std::optional<int>(0));
    EXPECT_FALSE(s.poll(ex));
    co_await s.wait_ready();
    EXPECT_EQ(s.take(), std::optional<int>(10));
    // The end comes synchronously after the last value's step: poll has it at once.
    EXPECT_TRUE(s.poll(ex));
    EXPECT_EQ(s.take(), std::nullopt);
    EXPECT_TRUE(s.done());
  });
}

TEST(stream, take_rethrows_the_error_once) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    auto make = []() -> stream<int> {
      co_yield 1;
      throw std::runtime_error("x");
    };
    auto s = make();
    EXPECT_TRUE(s.poll(ex));
    EXPECT_EQ(s.take(), std::optional<int>(1));
    EXPECT_TRUE(s.poll(ex));
    EXPECT_THROW(s.take(), std::runtime_error);
    EXPECT_EQ(s.take(), std::nullopt);
  });
}

TEST(stream, wait_ready_completes_at_once_when_not_waiting) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    auto s = count_to(1);
    EXPECT_TRUE(s.poll(ex));
    co_await s.wait_ready();
    EXPECT_EQ(s.take(), std::optional<int>(0));
  });
}

// The operation the body awaits, instrumented: it sets `fired` if its timer ran out, and
// `aborted` if it was cancelled.
awaitable<void> long_wait(std::chrono::milliseconds d, bool& fired, bool& aborted, int& live) {
  tracker t(live);
  try {
    co_await sleep_for(d);
    fired = true;
  } catch (const boost::system::system_error& e) {
    if (e.code() == boost::asio::error::operation_aborted) aborted = true;
    throw;
  }
}

TEST(stream, destroying_a_waiting_stream_cancels_the_awaited_operation) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    bool fired = false, aborted = false, resumed = false;
    int live = 0;
    {
      auto make = [&]() -> stream<int> {
        tracker t(live);
        co_yield 1;
        co_await long_wait(100ms, fired, aborted, live);
        resumed = true;
        co_yield 2;
      };
      auto s = make();
      const auto first = co_await s.next();
      EXPECT_EQ(first, std::optional<int>(1));
      EXPECT_FALSE(s.poll(ex));  // now waiting on long_wait
      EXPECT_EQ(live, 2);        // the body's frame and the operation's
    }                            // destroyed mid-wait
    co_await sleep_for(30ms);
    EXPECT_TRUE(aborted);  // cancelled long before its 100 ms timer would have fired
    co_await sleep_for(200ms);
    EXPECT_FALSE(fired);
    EXPECT_FALSE(resumed);
    EXPECT_EQ(live, 0);  // both frames are gone
  });
}

TEST(stream, destroying_a_stream_whose_consumer_never_waited) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    bool fired = false, aborted = false;
    int live = 0;
    {
      auto make = [&]() -> stream<int> {
        co_await long_wait(50ms, fired, aborted, live);
        co_yield 1;
      };
      auto s = make();
      EXPECT_FALSE(s.poll(ex));
    }
    co_await sleep_for(150ms);
    EXPECT_TRUE(aborted);
    EXPECT_FALSE(fired);
    EXPECT_EQ(live, 0);
  });
}

TEST(stream, destroying_unstarted_and_suspended_streams_frees_their_frames) {
  roost::testing::run([]() -> awaitable<void> {
    int live = 0;
    auto make = [&live]() -> stream<int> {
      tracker t(live);
      co_yield 1;
      co_yield 2;
    };
    {
      auto unstarted = make();
      EXPECT_EQ(live, 0);
    }
    {
      auto s = make();
      const auto v = co_await s.next();
      EXPECT_EQ(v, std::optional<int>(1));
      EXPECT_EQ(live, 1);
    }
    EXPECT_EQ(live, 0);
  });
}

TEST(stream, nested_streams) {
  roost::testing::run([]() -> awaitable<void> {
    auto outer = []() -> stream<int> {
      auto inner = async_count(3);
      for (;;) {
        auto v = co_await inner.next();
        if (!v) break;
        co_yield *v + 1;
      }
    };
    auto s = outer();
    const auto values = co_await drain(s);
    EXPECT_EQ(values, (std::vector<int>{1, 11, 21}));
  });
}

TEST(stream, destroying_a_nested_stream_mid_wait) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    bool fired = false, aborted = false;
    int live = 0;
    {
      auto outer = [&]() -> stream<int> {
        auto make_inner = [&]() -> stream<int> {
          co_yield 1;
          co_await long_wait(50ms, fired, aborted, live);
          co_yield 2;
        };
        auto inner = make_inner();
        for (;;) {
          auto v = co_await inner.next();
          if (!v) break;
          co_yield *v;
        }
      };
      auto s = outer();
      const auto first = co_await s.next();
      EXPECT_EQ(first, std::optional<int>(1));
      EXPECT_FALSE(s.poll(ex));
    }
    co_await sleep_for(150ms);
    EXPECT_TRUE(aborted);
    EXPECT_FALSE(fired);
    EXPECT_EQ(live, 0);
  });
}

TEST(stream, many_values_through_asynchronous_steps) {
  roost::testing::run([]() -> awaitable<void> {
    auto make = []() -> stream<int> {
      for (int i = 0; i < 1000; ++i) {
        if (i % 100 == 0) co_await sleep_for(0ms);
        co_yield i;
      }
    };
    auto s = make();
    const auto values = co_await drain(s);
    EXPECT_EQ(values.size(), 1000u);
    bool in_order = true;
    for (int i = 0; i < static_cast<int>(values.size()); ++i) in_order &= values[i] == i;
    EXPECT_TRUE(in_order);
  });
}

}  // namespace
}  // namespace roost
