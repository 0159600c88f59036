#include <roost/adaptive_limit.hpp>

#include <roost/dispatcher.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <queue>
#include <string>
#include <vector>

// The adaptive concurrency limit (roost/adaptive_limit.hpp): its algorithm on a simulated
// clock, against a service of known capacity, and what the dispatcher does with it.

namespace roost {
namespace {

using namespace std::chrono_literals;
using time_point = adaptive_limit::clock_type::time_point;

/// A service of `workers` workers taking `cost` each, first come first served, fed one message
/// every `gap` for `length`, with `limit` in front of it. Everything happens on a simulated
/// clock, in the order of its events.
struct simulation {
  std::size_t workers = 8;
  std::chrono::microseconds cost = 10ms;
  time_point now{};

  struct result {
    std::size_t admitted = 0, shed = 0, completed = 0;
    std::vector<std::chrono::microseconds> latencies;  // of the messages completed
  };

  adaptive_limit make(adaptive_limit::options o = {}) {
    o.clock = [this] { return now; };
    return adaptive_limit(std::move(o));
  }

  /// Runs `length` of traffic; what completed after `measured_from` (since this run's start)
  /// is in the result.
  result run(adaptive_limit& limit, std::chrono::microseconds gap, std::chrono::seconds length,
             std::chrono::seconds measured_from = 0s) {
    result r;
    const time_point start = now, end = now + length;
    std::priority_queue<time_point, std::vector<time_point>, std::greater<>> free_at;
    for (std::size_t i = 0; i < workers; ++i) free_at.push(now);
    struct running {
      time_point finish, started;
      bool operator>(const running& o) const { return finish > o.finish; }
    };
    std::priority_queue<running, std::vector<running>, std::greater<>> done;
    std::size_t in_flight = 0;
    time_point arrival = now;
    while (arrival < end || !done.empty()) {
      if (!done.empty() && (arrival >= end || done.top().finish <= arrival)) {
        const running m = done.top();
        done.pop();
        now = m.finish;
        limit.complete(m.started);
        --in_flight;
        if (now - start >= measured_from) {
          ++r.completed;
          r.latencies.push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(m.finish - m.started));
        }
        continue;
      }
      now = arrival;
      arrival += gap;
      if (!limit.admit(in_flight)) {
        ++r.shed;
        continue;
      }
      ++r.admitted;
      ++in_flight;
      const time_point worker = free_at.top();
      free_at.pop();
      const time_point finish = std::max(worker, now) + cost;
      free_at.push(finish);
      done.push({finish, now});
    }
    return r;
  }

  static std::chrono::microseconds percentile(std::vector<std::chrono::microseconds> v, double q) {
    if (v.empty()) return 0us;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  }
};

TEST(adaptive_limit, at_capacity_nothing_is_shed_and_the_limit_stays) {
  simulation s;  // 8 workers × 10 ms: 800 messages a second
  auto limit = s.make();
  const auto r = s.run(limit, 1250us, 20s);
  EXPECT_EQ(r.shed, 0u);
  EXPECT_EQ(limit.shed(), 0u);
  // 8 in flight never come near 20: the limit, binding nothing, is not raised.
  EXPECT_EQ(limit.limit(), 20u);
  EXPECT_EQ(simulation::percentile(r.latencies, 0.99), 10ms);
  EXPECT_EQ(limit.baseline(), 10ms);
}

TEST(adaptive_limit, at_twice_the_capacity_it_sheds_the_excess_and_keeps_the_latency) {
  simulation s;
  auto limit = s.make();
  const auto r = s.run(limit, 625us, 30s, 10s);  // 1,600 a second; the last 20 s measured
  // The limit settles near the workers (8), within the tolerance (1.25) and its probes.
  EXPECT_GE(limit.limit(), 6u);
  EXPECT_LE(limit.limit(), 14u);
  const auto p99 = simulation::percentile(r.latencies, 0.99);
  EXPECT_LE(p99, 18ms) << "p50 " << simulation::percentile(r.latencies, 0.5).count() << " us";
  // Goodput: what completed in those 20 s, against the 16,000 the workers can do.
  EXPECT_GE(r.completed, 15'000u);
  EXPECT_GE(r.shed, 10'000u);
  EXPECT_EQ(limit.shed(), r.shed);
  EXPECT_LE(limit.baseline(), 11ms);
}

TEST(adaptive_limit, without_a_limit_the_queue_grows_without_bound) {
  // The same load with a limit that never binds: what the adaptive one saves.
  simulation s;
  auto limit = s.make({.initial_limit = 100'000, .min_limit = 100'000, .max_limit = 100'000});
  const auto r = s.run(limit, 625us, 10s);
  EXPECT_EQ(r.shed, 0u);
  EXPECT_GT(simulation::percentile(r.latencies, 0.99), 4s);
}

TEST(adaptive_limit, a_service_started_under_load_finds_its_baseline_by_a_probe) {
  simulation s;
  // Begins far above the workers: the first windows' latency is 6× the unloaded one.
  auto limit = s.make({.initial_limit = 48});
  (void)s.run(limit, 625us, 10s);
  EXPECT_LE(limit.baseline(), 11ms);
  EXPECT_LE(limit.limit(), 14u);
}

TEST(adaptive_limit, it_grows_while_the_latency_holds_and_the_load_reaches_it) {
  simulation s;
  s.workers = 1000;  // more than the load ever needs: the latency never moves
  auto limit = s.make({.initial_limit = 10, .max_limit = 200});
  const auto r = s.run(limit, 100us, 10s);  // 100 in flight wanted
  EXPECT_GT(limit.limit(), 100u);
  EXPECT_LE(limit.limit(), 200u);
  EXPECT_LE(simulation::percentile(r.latencies, 1.0), 10ms);
}

TEST(adaptive_limit, it_follows_a_service_that_gets_faster_and_slower) {
  simulation s;
  auto limit = s.make();
  (void)s.run(limit, 625us, 10s);
  const auto before = limit.limit();
  // Twice the workers: the same load is now 1× the capacity; the limit rises to let it through.
  s.workers = 16;
  (void)s.run(limit, 625us, 10s);
  EXPECT_GT(limit.limit(), before);
  auto r = s.run(limit, 625us, 10s);
  EXPECT_EQ(r.shed, 0u);
  // Back to 8: it comes down again, and the latency with it.
  s.workers = 8;
  (void)s.run(limit, 625us, 10s);
  r = s.run(limit, 625us, 10s);
  EXPECT_LE(limit.limit(), 14u);
  EXPECT_LE(simulation::percentile(r.latencies, 0.99), 18ms);
  EXPECT_GE(r.completed, 7'500u);
}

TEST(adaptive_limit, stays_within_its_bounds) {
  simulation s;
  auto limit = s.make({.initial_limit = 1, .min_limit = 3, .max_limit = 5});
  EXPECT_EQ(limit.limit(), 3u);
  s.workers = 1000;
  (void)s.run(limit, 100us, 5s);
  EXPECT_EQ(limit.limit(), 5u);
  s.workers = 1;
  (void)s.run(limit, 100us, 5s);
  // One worker: 3 in flight take 30 ms, which a probe cannot go below; within the bounds still.
  EXPECT_GE(limit.limit(), 3u);
  EXPECT_LE(limit.limit(), 5u);
}

TEST(adaptive_limit, reads_its_settings_from_text) {
  auto p = adaptive_limit::parse("adaptive");
  ASSERT_TRUE(p.limit) << p.error;
  EXPECT_EQ(p.limit->max_limit, adaptive_limit::options{}.max_limit);
  p = adaptive_limit::parse("adaptive,max=200,min=8,initial=32,tolerance=1.25,window=50");
  ASSERT_TRUE(p.limit) << p.error;
  EXPECT_EQ(p.limit->max_limit, 200u);
  EXPECT_EQ(p.limit->min_limit, 8u);
  EXPECT_EQ(p.limit->initial_limit, 32u);
  EXPECT_DOUBLE_EQ(p.limit->tolerance, 1.25);
  EXPECT_EQ(p.limit->window, 50ms);
  p = adaptive_limit::parse("off");
  EXPECT_FALSE(p.limit);
  EXPECT_TRUE(p.error.empty());
  p = adaptive_limit::parse("");
  EXPECT_FALSE(p.limit);
  EXPECT_TRUE(p.error.empty());
  for (const auto* bad : {"on", "adaptive,max", "adaptive,max=-1", "adaptive,speed=3", "off,max=3",
                          "adaptive,max=lots"}) {
    p = adaptive_limit::parse(bad);
    EXPECT_FALSE(p.limit) << bad;
    EXPECT_NE(p.error.find("ROOST_CONCURRENCY_LIMIT"), std::string::npos) << bad;
  }
}

/// Sets an environment variable for one scope (the tests of a program run one at a time).
class env_var {
 public:
  env_var(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~env_var() { ::unsetenv(name_); }
  env_var(const env_var&) = delete;
  env_var& operator=(const env_var&) = delete;

 private:
  const char* name_;
};

TEST(adaptive_limit, a_microservice_takes_it_from_its_options_or_the_environment) {
  const router r;
  microservice_options o;
  o.log = logger::silent();
  EXPECT_EQ(microservice(r, o).dispatcher().limiter(), nullptr);  // off by default
  o.concurrency_limit = adaptive_limit::options{.initial_limit = 7};
  EXPECT_EQ(microservice(r, o).dispatcher().limiter()->limit(), 7u);
  {
    env_var v("ROOST_CONCURRENCY_LIMIT", "adaptive,initial=9,min=2");
    microservice from_env(r, o);
    ASSERT_NE(from_env.dispatcher().limiter(), nullptr);
    EXPECT_EQ(from_env.dispatcher().limiter()->limit(), 9u);
    o.from_environment = false;
    EXPECT_EQ(microservice(r, o).dispatcher().limiter()->limit(), 7u);
    o.from_environment = true;
  }
  {
    env_var v("ROOST_CONCURRENCY_LIMIT", "off");
    EXPECT_EQ(microservice(r, o).dispatcher().limiter(), nullptr);
  }
  {
    env_var v("ROOST_CONCURRENCY_LIMIT", "adaptive,fast=yes");  // logged; the options' kept
    EXPECT_EQ(microservice(r, o).dispatcher().limiter()->limit(), 7u);
  }
}

/// Frames an immediate sink wrote.
class recording_sink final : public immediate_reply_sink {
 public:
  explicit recording_sink(std::vector<std::string>& out) : out_(out) {}
  void send_now(reply_packet reply, const json::value& id) override {
    std::string text;
    encode_reply(text, reply, id);
    out_.push_back(std::move(text));
  }

 private:
  std::vector<std::string>& out_;
};

class settling_context final : public context {
 public:
  settling_context(json::value pattern, std::vector<settlement>& settled)
      : context("test", std::move(pattern)) {
    accept_settlement({{}, [&settled](settlement s) { settled.push_back(s); }});
  }
};

struct origin {
  std::vector<std::string>* written;
  std::vector<settlement>* settled;
  settling_context make_context(json::value pattern, std::optional<json::object>) {
    return settling_context(std::move(pattern), *settled);
  }
  recording_sink make_sink() { return recording_sink(*written); }
};

TEST(adaptive_limit, the_dispatcher_refuses_beyond_it_and_gives_it_the_latencies) {
  test::gate g;
  router r;
  r.message("slow", [&g](int x) -> awaitable<int> {
    co_await g.wait();
    co_return x;
  });
  r.event("slow.event", [&g](int) -> awaitable<void> { co_await g.wait(); });
  dispatcher d(r, logger::silent());
  auto limit = std::make_shared<adaptive_limit>(adaptive_limit::options{
      .initial_limit = 2, .min_limit = 2, .max_limit = 2, .window = 0ms, .min_samples = 1});
  d.limit(limit);
  EXPECT_EQ(d.limiter(), limit);
  std::vector<std::string> written;
  std::vector<settlement> settled;
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto serve = [&](std::string text) {
      auto p = decode_inbound(text);
      ASSERT_TRUE(p) << text;
      d.serve(ex, *p, origin{&written, &settled});
    };
    serve(R"({"pattern":"slow","data":1,"id":"1"})");
    serve(R"({"pattern":"slow","data":2,"id":"2"})");
    serve(R"({"pattern":"slow","data":3,"id":"3"})");
    serve(R"({"pattern":"slow.event","data":4})");
    EXPECT_EQ(written, std::vector<std::string>{
                           R"({"err":{"status":"error","message":"Too many requests in flight"},)"
                           R"("isDisposed":true,"id":"3"})"});
    // The shed request is acknowledged (its caller has the error); the shed event is given back
    // to the broker, not lost.
    EXPECT_EQ(settled, (std::vector<settlement>{settlement::ack, settlement::redeliver}));
    EXPECT_EQ(limit->shed(), 2u);
    EXPECT_EQ(limit->baseline(), 0ns);  // no message admitted has finished
    g.open();
    co_await test::wait_until([&] { return d.in_flight() == 0; });
    EXPECT_EQ(written.size(), 3u);
    EXPECT_GT(limit->baseline(), 0ns);  // their latencies were sampled
  });
}

}  // namespace
}  // namespace roost
