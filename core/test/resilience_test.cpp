#include <roost/bulkhead.hpp>
#include <roost/circuit_breaker.hpp>
#include <roost/client_proxy.hpp>
#include <roost/deadline.hpp>
#include <roost/errors.hpp>
#include <roost/microservice.hpp>
#include <roost/retry_policy.hpp>
#include <roost/router.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Client resilience (retries, retry budget, circuit breaker, bulkhead) and deadlines, over the
// in-memory transport: every packet goes through the real codec and dispatcher.

namespace roost {
namespace {

using namespace std::chrono_literals;
using roost::test::gate;
using roost::test::sleep_for;
using roost::test::wait_until;

microservice_options quiet() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = std::chrono::seconds(5);
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

template <class T>
awaitable<std::exception_ptr> failure_of(awaitable<T> op) {
  std::exception_ptr e;
  try {
    co_await std::move(op);
  } catch (...) {
    e = std::current_exception();
  }
  co_return e;
}

template <class E>
std::optional<E> caught(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const E& x) {
    return x;
  } catch (...) {
  }
  return std::nullopt;
}

std::string describe(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
  return "no exception";
}

boost::system::error_code code_of(std::exception_ptr e) {
  const auto c = caught<connection_error>(e);
  return c ? c->code() : boost::system::error_code();
}

/// A clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<std::chrono::steady_clock::time_point> now =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  std::function<std::chrono::steady_clock::time_point()> fn() const {
    return [n = now] { return *n; };
  }
  void advance(std::chrono::milliseconds d) const { *now += d; }
};

// ---------------------------------------------------------------------------------------------
// The policies alone

TEST(retry_policy, backoff_is_full_jitter_under_an_exponential_cap) {
  retry_policy p;
  p.initial_backoff = 100ms;
  p.multiplier = 2;
  p.max_backoff = 1000ms;
  EXPECT_EQ(p.backoff(1, 0.0), 0ms);
  EXPECT_EQ(p.backoff(1, 0.5), 50ms);
  EXPECT_EQ(p.backoff(2, 0.5), 100ms);
  EXPECT_EQ(p.backoff(3, 0.5), 200ms);
  EXPECT_EQ(p.backoff(3, 0.999), 399ms);
  EXPECT_EQ(p.backoff(10, 0.5), 500ms);  // capped at max_backoff
  EXPECT_EQ(p.backoff(60, 1.0), 1000ms);
}

TEST(retry_budget, retries_are_bounded_by_calls_and_a_rate) {
  manual_clock clock;
  retry_budget b({.ratio = 0.5, .min_per_second = 2, .max_saved = 10, .clock = clock.fn()});
  // The per-second minimum, without any call.
  EXPECT_TRUE(b.try_retry());
  EXPECT_TRUE(b.try_retry());
  EXPECT_FALSE(b.try_retry());
  // Two calls earn one retry.
  b.on_call();
  EXPECT_FALSE(b.try_retry());
  b.on_call();
  EXPECT_TRUE(b.try_retry());
  EXPECT_FALSE(b.try_retry());
  // Half a second gives back one of the two per second.
  clock.advance(500ms);
  EXPECT_TRUE(b.try_retry());
  EXPECT_FALSE(b.try_retry());
  // Saved up to max_saved and one second's worth.
  for (int i = 0; i < 100; ++i) b.on_call();
  clock.advance(10s);
  int granted = 0;
  while (b.try_retry()) ++granted;
  EXPECT_EQ(granted, 12);
}

TEST(circuit_breaker, opens_after_consecutive_failures_and_recovers_through_a_probe) {
  manual_clock clock;
  circuit_breaker b({.failure_threshold = 3, .open_for = 1000ms, .probes = 1, .clock = clock.fn()});
  EXPECT_EQ(b.state(), circuit_state::closed);
  // A success resets the count: only consecutive failures open it.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_failure();
  }
  ASSERT_TRUE(b.try_acquire());
  b.on_success();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_failure();
  }
  EXPECT_EQ(b.state(), circuit_state::open);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.open_remaining(), 1000ms);
  clock.advance(999ms);
  EXPECT_FALSE(b.try_acquire());
  clock.advance(1ms);
  EXPECT_EQ(b.state(), circuit_state::half_open);
  // One probe at a time; a failed probe opens it again for the whole time.
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  b.on_failure();
  EXPECT_EQ(b.state(), circuit_state::open);
  clock.advance(1000ms);
  // An abandoned probe (its caller cancelled) frees its place for another.
  EXPECT_TRUE(b.try_acquire());
  b.on_abandoned();
  EXPECT_TRUE(b.try_acquire());
  b.on_success();
  EXPECT_EQ(b.state(), circuit_state::closed);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(to_string(circuit_state::half_open), "half-open");
}

/// `n` calls through `b`, the first of every `fail_every` failing.
void make_calls(circuit_breaker& b, int n, int fail_every) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(b.try_acquire());
    if (i % fail_every == 0) {
      b.on_failure();
    } else {
      b.on_success();
    }
  }
}

TEST(circuit_breaker, opens_at_a_failure_rate_whether_consecutive_or_not) {
  manual_clock clock;
  circuit_breaker b(
      {.failure_threshold = 100, .failure_rate = 0.5, .window = 10, .clock = clock.fn()});
  // One failure in three, for long: never half of the window.
  make_calls(b, 30, 3);
  EXPECT_EQ(b.state(), circuit_state::closed);
  // One in two, never two in a row: the window fills with half failures and it opens.
  circuit_breaker c(
      {.failure_threshold = 100, .failure_rate = 0.5, .window = 10, .clock = clock.fn()});
  make_calls(c, 10, 2);
  EXPECT_EQ(c.state(), circuit_state::closed);  // a success fills the window: it opens on a failure
  ASSERT_TRUE(c.try_acquire());
  c.on_failure();  // 5 of the last 10
  EXPECT_EQ(c.state(), circuit_state::open);
  // Closed again after a probe, it counts afresh: one failure does not reopen it.
  clock.advance(5000ms);
  ASSERT_TRUE(c.try_acquire());
  c.on_success();
  ASSERT_TRUE(c.try_acquire());
  c.on_failure();
  EXPECT_EQ(c.state(), circuit_state::closed);
}

TEST(circuit_breaker, tells_each_change_of_state) {
  manual_clock clock;
  std::vector<std::string> told;
  circuit_breaker* self = nullptr;
  circuit_breaker b({.failure_threshold = 2,
                     .open_for = 1000ms,
                     .on_state_change =
                         [&](circuit_state from, circuit_state to) {
                           // Outside the breaker's lock: it may be asked.
                           EXPECT_EQ(self->state(), to);
                           told.push_back(std::string(to_string(from)) + ">" +
                                          std::string(to_string(to)));
                         },
                     .clock = clock.fn()});
  self = &b;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_failure();
  }
  clock.advance(1000ms);
  ASSERT_TRUE(b.try_acquire());  // seen half-open as this call asks
  b.on_failure();
  clock.advance(1000ms);
  ASSERT_TRUE(b.try_acquire());
  b.on_success();
  ASSERT_TRUE(b.try_acquire());
  b.on_success();  // no change, nothing told
  EXPECT_EQ(told, (std::vector<std::string>{"closed>open", "open>half-open", "half-open>open",
                                            "open>half-open", "half-open>closed"}));
}

TEST(deadline, header_text_round_trips_and_bad_text_is_refused) {
  const deadline_point d{std::chrono::milliseconds(1796000000123)};
  EXPECT_EQ(format_deadline(d), "1796000000123");
  EXPECT_EQ(parse_deadline("1796000000123"), d);
  EXPECT_FALSE(parse_deadline(""));
  EXPECT_FALSE(parse_deadline("12x"));
  EXPECT_FALSE(parse_deadline("-5"));
  EXPECT_FALSE(parse_deadline("99999999999999999999999"));
}

// ---------------------------------------------------------------------------------------------
// A client with the policies, calling a service

/// A router served over an in-memory broker, started and shut down around `body`.
void with_service(const router& r, client_options copts,
                  std::function<awaitable<void>(microservice&, client_proxy&)> body) {
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;
    microservice app(r, quiet());
    app.add_transport(broker.server());
    co_await app.start();
    client_proxy client(ex, broker.client(), std::move(copts));
    co_await body(app, client);
    EXPECT_EQ(client.pending(), 0u);
    co_await app.shutdown();
  });
}

client_options retrying(int attempts) {
  client_options o;
  o.retry.max_attempts = attempts;
  o.retry.initial_backoff = 1ms;
  o.retry.max_backoff = 2ms;
  o.retry.random = [] { return 0.5; };
  return o;
}

TEST(client_resilience, an_idempotent_call_is_retried_after_a_timeout) {
  router r;
  gate never;  // opened at the end, so that the service drains
  std::atomic<int> calls{0};
  r.message("flaky", [&]() -> awaitable<int> {
    if (++calls < 3) co_await never.wait();  // the first two attempts time out
    co_return 7;
  });
  with_service(r, retrying(3), [&](microservice&, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.timeout = 300ms;  // long enough for the third attempt's reply on a busy machine
    o.idempotent = true;
    const int v = co_await client.send<int>("flaky", 0, o);
    EXPECT_EQ(v, 7);
    EXPECT_EQ(calls.load(), 3);
    // Not idempotent: one attempt, its timeout is the caller's.
    calls = 0;
    o.idempotent = false;
    const auto e = co_await failure_of(client.send<int>("flaky", 0, o));
    EXPECT_TRUE(caught<timeout_error>(e)) << describe(e);
    EXPECT_EQ(calls.load(), 1);
    never.open();
  });
}

TEST(client_resilience, the_handler_s_error_is_retried_only_when_the_policy_says_so) {
  router r;
  std::atomic<int> calls{0};
  r.message("fails-once", [&]() -> int {
    if (++calls == 1) throw rpc_exception("try again");
    return 1;
  });
  with_service(r, retrying(3), [&](microservice&, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.idempotent = true;
    const auto e = co_await failure_of(client.send<int>("fails-once", 0, o));
    const auto err = caught<rpc_error>(e);
    EXPECT_TRUE(err) << describe(e);
    if (err) {
      EXPECT_EQ(err->message(), "try again");
    }
    EXPECT_EQ(calls.load(), 1);
  });
  calls = 0;
  auto opts = retrying(3);
  opts.retry.retry_rpc_errors = true;
  with_service(r, opts, [&](microservice&, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.idempotent = true;
    const int v = co_await client.send<int>("fails-once", 0, o);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(calls.load(), 2);
  });
}

TEST(client_resilience, an_empty_budget_stops_the_retries) {
  router r;
  std::atomic<int> calls{0};
  r.message("down", [&]() -> int {
    ++calls;
    throw rpc_exception("down");
  });
  manual_clock clock;
  auto opts = retrying(5);
  opts.retry.retry_rpc_errors = true;
  opts.retry.budget = std::make_shared<retry_budget>(
      retry_budget::options{.ratio = 0, .min_per_second = 3, .max_saved = 0, .clock = clock.fn()});
  with_service(r, opts, [&](microservice&, client_proxy& client) -> awaitable<void> {
    call_options o;
    o.idempotent = true;
    // Three retries in the budget: the first call makes four attempts, the second one.
    const auto e1 = co_await failure_of(client.send<int>("down", 0, o));
    EXPECT_TRUE(caught<rpc_error>(e1)) << describe(e1);
    EXPECT_EQ(calls.load(), 4);
    const auto e2 = co_await failure_of(client.send<int>("down", 0, o));
    EXPECT_TRUE(caught<rpc_error>(e2)) << describe(e2);
    EXPECT_EQ(calls.load(), 5);
  });
}

TEST(client_resilience, the_breaker_fails_fast_while_open_and_closes_once_the_target_is_back) {
  router r;
  r.message("ping", [] { return 1; });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;  // nobody listens yet
    manual_clock clock;
    auto breaker = std::make_shared<circuit_breaker>(circuit_breaker::options{
        .failure_threshold = 2, .open_for = 5000ms, .probes = 1, .clock = clock.fn()});
    client_options copts;
    copts.breaker = breaker;
    client_proxy client(ex, broker.client(), copts);
    for (int i = 0; i < 2; ++i) {
      const auto e = co_await failure_of(client.send<int>("ping", 0));
      EXPECT_EQ(code_of(e), make_error_code(error::not_connected)) << describe(e);
    }
    EXPECT_EQ(breaker->state(), circuit_state::open);
    const auto fast = co_await failure_of(client.send<int>("ping", 0));
    EXPECT_EQ(code_of(fast), make_error_code(error::circuit_open)) << describe(fast);
    EXPECT_NE(describe(fast).find("Circuit open"), std::string::npos) << describe(fast);
    // The target comes back; the circuit lets a probe through once its time is up.
    microservice app(r, quiet());
    app.add_transport(broker.server());
    co_await app.start();
    const auto still = co_await failure_of(client.send<int>("ping", 0));
    EXPECT_EQ(code_of(still), make_error_code(error::circuit_open)) << describe(still);
    clock.advance(5000ms);
    EXPECT_EQ(breaker->state(), circuit_state::half_open);
    const int v = co_await client.send<int>("ping", 0);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(breaker->state(), circuit_state::closed);
    co_await app.shutdown();
  });
}

TEST(client_resilience, the_bulkhead_bounds_calls_in_flight) {
  router r;
  gate release;
  std::atomic<int> running{0};
  r.message("hold", [&]() -> awaitable<int> {
    ++running;
    co_await release.wait();
    co_return 1;
  });
  auto bh = std::make_shared<bulkhead>(
      bulkhead::options{.max_in_flight = 1, .max_waiting = 1, .max_wait = 20ms});
  client_options copts;
  copts.bulkhead = bh;
  with_service(r, copts, [&](microservice&, client_proxy& client) -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    std::atomic<int> done{0};
    auto call = [&]() -> awaitable<void> {
      const int v = co_await client.send<int>("hold", 0);
      EXPECT_EQ(v, 1);
      ++done;
    };
    boost::asio::co_spawn(ex, call(), boost::asio::detached);
    const bool first_runs = co_await wait_until([&] { return running.load() == 1; });
    EXPECT_TRUE(first_runs);
    EXPECT_EQ(bh->in_flight(), 1u);
    // One call may wait, 20 ms at most: it gives up while the first is held.
    const auto waited = co_await failure_of(client.send<int>("hold", 0));
    EXPECT_EQ(code_of(waited), make_error_code(error::bulkhead_full)) << describe(waited);
    EXPECT_EQ(running.load(), 1);
    release.open();
    const bool both = co_await wait_until([&] { return done.load() == 1; });
    EXPECT_TRUE(both);
    EXPECT_EQ(bh->in_flight(), 0u);
  });
}

TEST(client_resilience, a_waiting_call_takes_the_slot_a_finished_one_frees) {
  router r;
  gate release;
  std::atomic<int> running{0};
  r.message("hold", [&]() -> awaitable<int> {
    ++running;
    co_await release.wait();
    co_return 1;
  });
  auto bh = std::make_shared<bulkhead>(
      bulkhead::options{.max_in_flight = 1, .max_waiting = 1, .max_wait = 60000ms});
  client_options copts;
  copts.bulkhead = bh;
  with_service(r, copts, [&](microservice&, client_proxy& client) -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    std::atomic<int> done{0};
    auto call = [&]() -> awaitable<void> {
      const int v = co_await client.send<int>("hold", 0);
      EXPECT_EQ(v, 1);
      ++done;
    };
    boost::asio::co_spawn(ex, call(), boost::asio::detached);
    const bool first_runs = co_await wait_until([&] { return running.load() == 1; });
    EXPECT_TRUE(first_runs);
    boost::asio::co_spawn(ex, call(), boost::asio::detached);
    const bool queued = co_await wait_until([&] { return bh->waiting() == 1; });
    EXPECT_TRUE(queued);
    // The waiting room is full: a third call fails at once, unsent.
    const auto full = co_await failure_of(client.send<int>("hold", 0));
    EXPECT_EQ(code_of(full), make_error_code(error::bulkhead_full)) << describe(full);
    EXPECT_EQ(running.load(), 1);
    release.open();
    const bool both = co_await wait_until([&] { return done.load() == 2; });
    EXPECT_TRUE(both);
    EXPECT_EQ(running.load(), 2);
    EXPECT_EQ(bh->in_flight(), 0u);
    EXPECT_EQ(bh->waiting(), 0u);
  });
}

TEST(client_resilience, a_cancelled_waiting_call_leaves_its_place_and_takes_no_slot) {
  router r;
  gate release;
  std::atomic<int> running{0};
  r.message("hold", [&]() -> awaitable<int> {
    ++running;
    co_await release.wait();
    co_return 1;
  });
  auto bh = std::make_shared<bulkhead>(
      bulkhead::options{.max_in_flight = 1, .max_waiting = 1, .max_wait = 60000ms});
  client_options copts;
  copts.bulkhead = bh;
  with_service(r, copts, [&](microservice&, client_proxy& client) -> awaitable<void> {
    using namespace boost::asio::experimental::awaitable_operators;
    const auto ex = co_await boost::asio::this_coro::executor;
    std::atomic<int> done{0};
    auto call = [&]() -> awaitable<void> {
      const int v = co_await client.send<int>("hold", 0);
      EXPECT_EQ(v, 1);
      ++done;
    };
    boost::asio::co_spawn(ex, call(), boost::asio::detached);
    const bool first_runs = co_await wait_until([&] { return running.load() == 1; });
    EXPECT_TRUE(first_runs);
    // A waiting call that loses a race with a timer is cancelled while it waits.
    auto waiting = client.send<int>("hold", 0);
    auto timer = sleep_for(20ms);
    const auto raced = co_await (std::move(waiting) || std::move(timer));
    EXPECT_EQ(raced.index(), 1u);
    EXPECT_EQ(bh->waiting(), 0u);
    EXPECT_EQ(bh->in_flight(), 1u);
    // Its place is free again, and the slot goes to the next call once the first ends.
    boost::asio::co_spawn(ex, call(), boost::asio::detached);
    const bool queued = co_await wait_until([&] { return bh->waiting() == 1; });
    EXPECT_TRUE(queued);
    release.open();
    const bool both = co_await wait_until([&] { return done.load() == 2; });
    EXPECT_TRUE(both);
    EXPECT_EQ(running.load(), 2);
    EXPECT_EQ(bh->in_flight(), 0u);
  });
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST(deadline, a_handler_reads_the_deadline_its_caller_sent) {
  router r;
  r.message("left", [](context& ctx) -> json::value {
    const auto left = ctx.remaining();
    if (!left) return nullptr;
    return left->count();
  });
  with_service(r, {}, [&](microservice&, client_proxy& client) -> awaitable<void> {
    // No timeout, no deadline: nothing sent.
    const json::value none = co_await client.send("left", 0);
    EXPECT_TRUE(none.is_null());
    call_options o;
    o.timeout = 30s;
    const json::value left = co_await client.send("left", 0, o);
    EXPECT_TRUE(left.is_int64()) << left;
    if (left.is_int64()) {
      EXPECT_GT(left.as_int64(), 20000);
      EXPECT_LE(left.as_int64(), 30000);
    }
  });
}

TEST(deadline, a_request_whose_deadline_passed_is_not_served) {
  router r;
  std::atomic<int> served{0};
  r.message("work", [&] { return ++served; });
  with_service(r, {}, [&](microservice& app, client_proxy& client) -> awaitable<void> {
    // The client refuses a call whose deadline passed before it is sent.
    call_options late;
    late.deadline = std::chrono::system_clock::now() - 1s;
    const auto e = co_await failure_of(client.send<int>("work", 0, late));
    EXPECT_TRUE(caught<timeout_error>(e)) << describe(e);
    // A server refuses one that arrives after it (a peer that sends the header by hand).
    call_options stale;
    stale.headers.set(deadline_header, format_deadline(std::chrono::system_clock::now() - 1s));
    const auto e2 = co_await failure_of(client.send<int>("work", 0, stale));
    const auto err = caught<rpc_error>(e2);
    EXPECT_TRUE(err) << describe(e2);
    if (err) {
      EXPECT_EQ(err->message(), "Deadline exceeded");
    }
    EXPECT_EQ(served.load(), 0);
    EXPECT_EQ(app.dispatcher().expired_requests(), 1u);
    const int v = co_await client.send<int>("work", 0);
    EXPECT_EQ(v, 1);
  });
}

TEST(deadline, calls_a_handler_makes_inherit_its_deadline) {
  router r;
  std::shared_ptr<client_proxy> downstream;
  std::optional<std::chrono::system_clock::time_point> seen_upstream, seen_downstream;
  r.message("inner", [&](context& ctx) {
    seen_downstream = ctx.deadline();
    return 1;
  });
  r.message("outer", [&](context& ctx) -> awaitable<int> {
    seen_upstream = ctx.deadline();
    auto inner = downstream->send<int>("inner", 0, call_options::from(ctx));
    const int v = co_await std::move(inner);
    co_return v + 1;
  });
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;
    microservice app(r, quiet());
    app.add_transport(broker.server());
    co_await app.start();
    downstream = std::make_shared<client_proxy>(ex, broker.client());
    client_proxy client(ex, broker.client());
    call_options o;
    o.deadline = std::chrono::system_clock::now() + 20s;
    const int v = co_await client.send<int>("outer", 0, o);
    EXPECT_EQ(v, 2);
    EXPECT_TRUE(seen_upstream && seen_downstream);
    if (seen_upstream && seen_downstream) {
      EXPECT_EQ(*seen_downstream, *seen_upstream);
      EXPECT_EQ(std::chrono::floor<std::chrono::milliseconds>(*o.deadline), *seen_upstream);
    }
    downstream.reset();
    co_await app.shutdown();
  });
}

}  // namespace
}  // namespace roost
