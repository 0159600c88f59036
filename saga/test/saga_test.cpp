// roost::saga in one process: the log's records and transitions, then the orchestrator driving
// the shop's saga over the in-memory transport (happy path, compensation in reverse order,
// retries, a stuck compensation, an action whose outcome is unknown), and resuming a saga
// stopped after each transition of its log.

#include "shop.hpp"

#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace roost::saga {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::shop_state;

// A file in a fresh directory, removed with it.
struct temp_file {
  explicit temp_file(const std::string& name) {
    dir = std::filesystem::temp_directory_path() /
          ("roost-saga-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir);
    path = (dir / name).string();
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir;
  std::string path;
};

std::vector<std::string> described(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    out.push_back(std::string(to_string(e.kind)) +
                  (e.step >= 0 ? " " + std::to_string(e.step) : ""));
  }
  return out;
}

json::value order_input(int qty, int amount) {
  return json::object{{"item", "book"}, {"qty", qty}, {"amount", amount}};
}

// ---------------------------------------------------------------------------------------------
// The record and the log, without I/O

TEST(saga_record, transitions_make_the_record) {
  std::vector<event> log;
  auto add = [&](event_kind k, int step, json::value data = nullptr) {
    log.push_back({static_cast<std::int64_t>(log.size() + 1), k, step, std::move(data), 10});
  };
  add(event_kind::saga_started, -1, json::object{{"qty", 1}});
  add(event_kind::step_started, 0);
  add(event_kind::step_succeeded, 0, json::object{{"name", "a"}, {"reply", 7}});
  add(event_kind::step_started, 1);
  auto r = fold(log);
  EXPECT_EQ(r.state, status::running);
  EXPECT_EQ(r.step, 1);
  EXPECT_TRUE(r.in_flight);
  EXPECT_EQ(r.replies.at("a"), 7);
  EXPECT_EQ(r.input.at("qty"), 1);
  EXPECT_EQ(r.seq, 4);

  // A refusal: the failed step did nothing, compensation starts below it.
  auto refused = log;
  refused.push_back({5, event_kind::step_failed, 1,
                     json::object{{"error", "declined"}, {"outcome_known", true}}, 11});
  r = fold(refused);
  EXPECT_EQ(r.state, status::compensating);
  EXPECT_EQ(r.step, 0);
  EXPECT_EQ(r.error, "declined");
  EXPECT_FALSE(r.in_flight);
  // A timeout: the step may have taken effect, its own compensation comes first.
  auto unknown = log;
  unknown.push_back({5, event_kind::step_failed, 1,
                     json::object{{"error", "timeout"}, {"outcome_known", false}}, 11});
  EXPECT_EQ(fold(unknown).step, 1);

  refused.push_back({6, event_kind::compensation_started, 0, nullptr, 12});
  EXPECT_TRUE(fold(refused).in_flight);
  refused.push_back({7, event_kind::compensation_succeeded, 0, nullptr, 13});
  EXPECT_EQ(fold(refused).step, -1);
  refused.push_back(
      {8, event_kind::saga_finished, -1, json::object{{"status", "compensated"}}, 14});
  r = fold(refused);
  EXPECT_EQ(r.state, status::compensated);
  EXPECT_TRUE(finished(r.state));
  EXPECT_EQ(r.updated_ms, 14);
  EXPECT_EQ(r.created_ms, 10);

  for (auto s : {status::running, status::compensating, status::completed, status::compensated,
                 status::failed_compensation}) {
    EXPECT_EQ(status_from_string(to_string(s)), s);
  }
  EXPECT_EQ(status_from_string("done"), std::nullopt);
}

TEST(saga_log, keeps_records_and_events_across_reopening) {
  temp_file f("log.db");
  {
    saga_log log(f.path);
    for (int i = 0; i < 3; ++i) {
      record r;
      r.id = "s" + std::to_string(i);
      r.name = i == 2 ? "other" : "place_order";
      event e{1, event_kind::saga_started, -1, json::object{{"n", i}}, 100 + i};
      apply(r, e);
      log.append(r, e);
    }
    auto r = *log.get("s1");
    event e{2, event_kind::step_started, 0, nullptr, 200};
    apply(r, e);
    log.append(r, e);
    // The same transition twice (a second orchestrator on the same saga) is refused whole.
    EXPECT_THROW(log.append(r, e), std::runtime_error);
  }
  saga_log log(f.path);
  auto r = log.get("s1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "place_order");
  EXPECT_TRUE(r->in_flight);
  EXPECT_EQ(r->input.at("n"), 1);
  EXPECT_EQ(r->seq, 2);
  EXPECT_EQ(log.events("s1").size(), 2u);
  EXPECT_EQ(log.events("nope").size(), 0u);
  EXPECT_FALSE(log.get("nope"));
  auto all = log.list({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "s2");  // newest first
  EXPECT_EQ(log.list({.name = "place_order"}).size(), 2u);
  EXPECT_EQ(log.list({.limit = 1}).size(), 1u);
  EXPECT_EQ(log.list({.state = status::completed}).size(), 0u);
  EXPECT_EQ(log.list({.unfinished_only = true}).size(), 3u);
}

TEST(saga_log, a_path_it_cannot_open_is_a_clear_error) {
  try {
    saga_log log("/nonexistent-dir/roost/saga.db");
    FAIL() << "opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/roost/saga.db"), std::string::npos)
        << e.what();
  }
}

TEST(idempotent_consumer, runs_an_effect_once_per_key) {
  temp_file f("seen.db");
  idempotent_consumer seen(f.path);
  int runs = 0;
  auto effect = [&] { return json::value(++runs); };
  EXPECT_EQ(seen.once("k1", effect), 1);
  EXPECT_EQ(seen.once("k1", effect), 1);  // the recorded reply
  EXPECT_EQ(seen.once("k2", effect), 2);
  EXPECT_EQ(runs, 2);
  // A refusal is recorded and given again; another failure is not recorded.
  auto refuse = [&]() -> json::value {
    ++runs;
    throw rpc_exception("declined");
  };
  EXPECT_THROW(seen.once("k3", refuse), rpc_exception);
  try {
    seen.once("k3", effect);
    FAIL() << "no refusal";
  } catch (const rpc_exception& e) {
    EXPECT_EQ(e.error().at("message"), "declined");
  }
  EXPECT_EQ(runs, 3);
  EXPECT_THROW(seen.once("k4", []() -> json::value { throw std::runtime_error("down"); }),
               std::runtime_error);
  EXPECT_FALSE(seen.seen("k4"));
  EXPECT_EQ(seen.once("k4", effect), 4);
  EXPECT_EQ(seen.size(), 4u);
  // Another connection to the file (another process) sees the same keys.
  idempotent_consumer other(f.path);
  EXPECT_EQ(other.once("k1", effect), 1);
  EXPECT_EQ(runs, 4);
}

// ---------------------------------------------------------------------------------------------
// The orchestrator over the in-memory transport

microservice_options quiet() {
  microservice_options o;
  o.threads = 1;
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

// The shop's services on one in-memory broker, and a client of them.
struct shop {
  shop() : seen(":memory:"), app(routes(), quiet()) { app.add_transport(broker.server()); }
  router& routes() {
    test::shop_routes(r, state, seen);
    return r;
  }
  std::shared_ptr<client_proxy> client(executor ex) {
    return std::make_shared<client_proxy>(std::move(ex), broker.client());
  }
  definition saga(executor ex, retry_policy retry = {}) {
    auto c = client(std::move(ex));
    return test::shop_saga(c, c, c, retry);
  }
  shop_state state;
  idempotent_consumer seen;
  router r;
  roost::testing::memory_broker broker;
  microservice app;
};

orchestrator_options silent_orchestrator() {
  orchestrator_options o;
  o.log = logger::silent();
  return o;
}

TEST(orchestrator, runs_every_step_once_with_its_idempotency_key) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    co_await s.app.start();
    auto log = std::make_shared<saga_log>(":memory:");
    orchestrator o(ex, log, silent_orchestrator());
    o.add(s.saga(ex));
    const auto r = co_await o.run("place_order", order_input(2, 30), "saga-1");
    EXPECT_EQ(r.state, status::completed);
    EXPECT_EQ(r.replies.at("charge").at("amount"), 30);  // built from the input
    EXPECT_EQ(r.replies.at("confirm"), "confirmed");
    for (auto p : {"orders.create", "payments.charge", "inventory.reserve", "orders.confirm"}) {
      EXPECT_EQ(s.state.effect(p), 1) << p;
    }
    EXPECT_EQ(s.state.effect("orders.cancel"), 0);
    EXPECT_TRUE(s.seen.seen("saga-1:0:action"));
    EXPECT_TRUE(s.seen.seen("saga-1:3:action"));
    EXPECT_EQ(described(log->events("saga-1")),
              (std::vector<std::string>{"saga_started", "step_started 0", "step_succeeded 0",
                                        "step_started 1", "step_succeeded 1", "step_started 2",
                                        "step_succeeded 2", "step_started 3", "step_succeeded 3",
                                        "saga_finished"}));
    // Running it again under its id does nothing more.
    const auto again = co_await o.run("place_order", order_input(2, 30), "saga-1");
    EXPECT_EQ(again.state, status::completed);
    EXPECT_EQ(s.state.call_count("orders.create"), 1);
    EXPECT_EQ(o.start("place_order", nullptr, "saga-1"), "saga-1");
    EXPECT_EQ(o.running(), 0u);
    co_await s.app.shutdown();
  });
}

TEST(orchestrator, a_refused_step_compensates_the_steps_before_it_in_reverse) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    co_await s.app.start();
    auto log = std::make_shared<saga_log>(":memory:");
    orchestrator o(ex, log, silent_orchestrator());
    o.add(s.saga(ex));
    // Out of stock at step 2: refund (1), then cancel (0); no release (2 did nothing).
    const auto r = co_await o.run("place_order", order_input(50, 30), "short");
    EXPECT_EQ(r.state, status::compensated);
    EXPECT_EQ(r.error, "out of stock");
    EXPECT_EQ(described(log->events("short")),
              (std::vector<std::string>{"saga_started", "step_started 0", "step_succeeded 0",
                                        "step_started 1", "step_succeeded 1", "step_started 2",
                                        "step_failed 2", "compensation_started 1",
                                        "compensation_succeeded 1", "compensation_started 0",
                                        "compensation_succeeded 0", "saga_finished"}));
    EXPECT_EQ(s.state.effect("payments.refund"), 1);
    EXPECT_EQ(s.state.effect("orders.cancel"), 1);
    EXPECT_EQ(s.state.call_count("inventory.release"), 0);
    EXPECT_EQ(s.state.call_count("inventory.reserve"), 1);  // a refusal is not retried
    EXPECT_TRUE(s.seen.seen("short:1:compensation"));

    // Declined at step 1: only the order is cancelled.
    const auto d = co_await o.run("place_order", order_input(1, 5000), "declined");
    EXPECT_EQ(d.state, status::compensated);
    EXPECT_EQ(d.error, "payment declined");
    EXPECT_EQ(s.state.effect("orders.cancel"), 2);
    EXPECT_EQ(s.state.effect("payments.refund"), 1);
    co_await s.app.shutdown();
  });
}

TEST(orchestrator, retries_a_step_per_its_policy) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    co_await s.app.start();
    auto log = std::make_shared<saga_log>(":memory:");
    orchestrator o(ex, log, silent_orchestrator());
    retry_policy retry;
    retry.max_attempts = 4;
    retry.initial_backoff = 1ms;
    retry.retry_rpc_errors = true;
    o.add(s.saga(ex, retry));
    s.state.charge_failures = 3;  // the fourth attempt gets through
    const auto r = co_await o.run("place_order", order_input(1, 10), "flaky");
    EXPECT_EQ(r.state, status::completed);
    EXPECT_EQ(s.state.call_count("payments.charge"), 4);
    EXPECT_EQ(s.state.effect("payments.charge"), 1);
    // Attempts are not transitions: one step_started for the step.
    int started = 0;
    for (const auto& e : log->events("flaky")) {
      started += e.kind == event_kind::step_started && e.step == 1;
    }
    EXPECT_EQ(started, 1);

    // More failures than attempts: the step fails, the order is cancelled.
    s.state.charge_failures = 10;
    const auto f = co_await o.run("place_order", order_input(1, 10), "too-flaky");
    EXPECT_EQ(f.state, status::compensated);
    EXPECT_EQ(s.state.call_count("payments.charge"), 8);
    s.state.charge_failures = 0;
    co_await s.app.shutdown();
  });
}

TEST(orchestrator, a_service_down_for_a_while_is_retried_until_it_answers) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;  // not started: nobody listens yet
    auto log = std::make_shared<saga_log>(":memory:");
    bool started_step = false;
    orchestrator_options opts = silent_orchestrator();
    opts.on_transition = [&](const record&, const event& e) {
      started_step = started_step || e.kind == event_kind::step_started;
    };
    orchestrator o(ex, log, opts);
    retry_policy retry;
    retry.max_attempts = 1000;
    retry.initial_backoff = 1ms;
    retry.max_backoff = 5ms;
    o.add(s.saga(ex, retry));
    const auto id = o.start("place_order", order_input(1, 10));
    for (int i = 0; i < 5000 && !started_step; ++i) co_await test::pause(1ms);
    EXPECT_TRUE(started_step);
    co_await test::pause(20ms);  // a few attempts fail to connect
    EXPECT_EQ(s.state.call_count("orders.create"), 0);
    co_await s.app.start();
    for (int i = 0; i < 10000 && o.get(id)->state == status::running; ++i) {
      co_await test::pause(1ms);
    }
    EXPECT_EQ(o.get(id)->state, status::completed);
    EXPECT_EQ(s.state.effect("orders.create"), 1);
    co_await s.app.shutdown();
  });
}

TEST(orchestrator, a_compensation_that_keeps_failing_leaves_the_saga_stuck_and_visible) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    co_await s.app.start();
    auto log = std::make_shared<saga_log>(":memory:");
    orchestrator o(ex, log, silent_orchestrator());
    o.add(s.saga(ex));
    s.state.release_broken = true;
    auto input = order_input(1, 10);
    input.as_object()["fail_confirm"] = true;
    const auto r = co_await o.run("place_order", input, "stuck");
    EXPECT_EQ(r.state, status::failed_compensation);
    EXPECT_EQ(r.step, 2);  // where it is stuck
    EXPECT_NE(r.error.find("warehouse offline"), std::string::npos) << r.error;
    EXPECT_EQ(s.state.call_count("inventory.release"), 3);  // its compensation_retry
    // Nothing below the stuck compensation ran.
    EXPECT_EQ(s.state.call_count("payments.refund"), 0);
    EXPECT_EQ(s.state.call_count("orders.cancel"), 0);
    EXPECT_EQ(o.list({.state = status::failed_compensation}).size(), 1u);
    EXPECT_EQ(o.resume(), 0u);  // not unfinished: a person decides
    co_await s.app.shutdown();
  });
}

TEST(orchestrator, an_action_whose_outcome_is_unknown_is_compensated_too) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    co_await s.app.start();
    auto log = std::make_shared<saga_log>(":memory:");
    orchestrator o(ex, log, silent_orchestrator());
    auto d = s.saga(ex);
    d.steps[2].timeout = 100ms;
    o.add(std::move(d));
    s.state.reserve_hangs = true;
    const auto r = co_await o.run("place_order", order_input(1, 10), "unknown");
    s.state.reserve_hangs = false;
    EXPECT_EQ(r.state, status::compensated);
    EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
    // The reservation may have happened: released first, then refund and cancel.
    EXPECT_EQ(s.state.effect("inventory.release"), 1);
    EXPECT_EQ(s.state.effect("payments.refund"), 1);
    EXPECT_EQ(s.state.effect("orders.cancel"), 1);
    const auto events = log->events("unknown");
    EXPECT_GE(events.size(), 8u);
    if (events.size() >= 8) {
      EXPECT_EQ(events[6].kind, event_kind::step_failed);
      EXPECT_EQ(events[6].data.at("outcome_known"), false);
      EXPECT_EQ(events[7].kind, event_kind::compensation_started);
      EXPECT_EQ(events[7].step, 2);
    }
    co_await s.app.shutdown();
  });
}

// Stops a saga after its k-th transition, as a crash there would (the observer throws, the
// saga's coroutine ends, its log stays), for every k; a second orchestrator on the same log
// resumes it. Every effect happens exactly once, and the outcome is the uninterrupted one.
TEST(orchestrator, resumes_from_each_point_of_the_log) {
  struct scenario {
    json::value input;
    status outcome;
    std::size_t transitions;
    std::map<std::string, int> effects;
  };
  const std::vector<scenario> scenarios{{order_input(1, 10),
                                         status::completed,
                                         10,
                                         {{"orders.create", 1},
                                          {"payments.charge", 1},
                                          {"inventory.reserve", 1},
                                          {"orders.confirm", 1},
                                          {"payments.refund", 0},
                                          {"orders.cancel", 0}}},
                                        {order_input(50, 10),
                                         status::compensated,
                                         12,
                                         {{"orders.create", 1},
                                          {"payments.charge", 1},
                                          {"inventory.reserve", 0},
                                          {"inventory.release", 0},
                                          {"payments.refund", 1},
                                          {"orders.cancel", 1}}}};
  for (const auto& sc : scenarios) {
    for (std::size_t k = 1; k <= sc.transitions; ++k) {
      SCOPED_TRACE("stopped after transition " + std::to_string(k) + " of " +
                   json::serialize(sc.input));
      roost::testing::run([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        shop s;
        co_await s.app.start();
        temp_file f("log.db");
        // No fsync per commit: the crash here is the process's, not the machine's.
        const log_options no_fsync{.sync_every_commit = false};
        auto log = std::make_shared<saga_log>(f.path, no_fsync);
        std::size_t seen = 0;
        orchestrator_options crashing = silent_orchestrator();
        crashing.on_transition = [&](const record&, const event&) {
          if (++seen == k) throw std::runtime_error("crash");
        };
        {
          orchestrator first(ex, log, crashing);
          first.add(s.saga(ex));
          try {
            first.start("place_order", sc.input, "s");
          } catch (const std::runtime_error&) {
            EXPECT_EQ(k, 1u);  // the start's own transition: start() throws, the log has it
          }
          for (int i = 0; i < 10000 && first.running() > 0; ++i) co_await test::pause(1ms);
          EXPECT_EQ(first.running(), 0u);
        }
        EXPECT_EQ(log->events("s").size(), k);

        orchestrator second(ex, std::make_shared<saga_log>(f.path, no_fsync),
                            silent_orchestrator());
        second.add(s.saga(ex));
        const bool done = k == sc.transitions;
        EXPECT_EQ(second.resume(), done ? 0u : 1u);
        for (int i = 0; i < 10000 && second.running() > 0; ++i) co_await test::pause(1ms);
        const auto r = second.get("s");
        EXPECT_EQ(r->state, sc.outcome);
        for (const auto& [p, n] : sc.effects) EXPECT_EQ(s.state.effect(p), n) << p;
        // The record the log keeps is the one its events make.
        const auto folded = fold(log->events("s"));
        EXPECT_EQ(folded.state, r->state);
        EXPECT_EQ(folded.step, r->step);
        co_await s.app.shutdown();
      });
    }
  }
}

TEST(orchestrator, bad_definitions_and_names_are_refused) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    orchestrator o(ex, std::make_shared<saga_log>(":memory:"), silent_orchestrator());
    EXPECT_THROW(o.add(definition{"empty", {}}), std::invalid_argument);
    auto d = s.saga(ex);
    d.steps[1].name = d.steps[0].name;
    EXPECT_THROW(o.add(d), std::invalid_argument);
    d = s.saga(ex);
    d.steps[2].action.target = nullptr;
    EXPECT_THROW(o.add(d), std::invalid_argument);
    o.add(s.saga(ex));
    EXPECT_THROW(o.add(s.saga(ex)), std::invalid_argument);
    EXPECT_THROW(o.start("nope", nullptr), std::invalid_argument);
    EXPECT_THROW(static_cast<void>(o.run("nope", nullptr)), std::invalid_argument);
    EXPECT_EQ(o.running(), 0u);
    co_return;
  });
}

// Queries with bad data (made outside the coroutine: GCC 12 miscompiles braced lists in one).
std::vector<std::pair<json::value, json::value>> bad_queries() {
  return {{"roost.saga.get", "nope"},
          {"roost.saga.get", 42},
          {"roost.saga.list", json::object{{"status", "done"}}},
          {"roost.saga.list", json::object{{"limit", 0}}},
          {"roost.saga.list", "all"}};
}

std::vector<std::string> bad_query_errors() {
  return {"no saga nope", "roost.saga.get takes a saga id, or {\"id\": \"...\"}",
          "roost.saga.list: unknown status \"done\"",
          "roost.saga.list: limit is not an integer from 1 to 10000",
          "roost.saga.list takes {\"status\", \"name\", \"unfinished\", \"limit\"}"};
}

TEST(orchestrator, answers_queries_about_its_sagas) {
  roost::testing::run([]() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    shop s;
    co_await s.app.start();
    orchestrator o(ex, std::make_shared<saga_log>(":memory:"), silent_orchestrator());
    o.add(s.saga(ex));
    co_await o.run("place_order", order_input(1, 10), "q1");
    co_await o.run("place_order", order_input(1, 5000), "q2");

    router queries;
    o.serve_queries(queries);
    roost::testing::memory_broker broker;
    microservice admin(queries, quiet());
    admin.add_transport(broker.server());
    co_await admin.start();
    client_proxy c(ex, broker.client());
    const json::value q1 = "q1";
    auto one = co_await c.send("roost.saga.get", q1);
    EXPECT_EQ(one.at("status"), "completed");
    EXPECT_EQ(one.at("events").as_array().size(), 10u);
    json::object q2;
    q2["id"] = "q2";
    auto by_object = co_await c.send("roost.saga.get", q2);
    EXPECT_EQ(by_object.at("status"), "compensated");
    EXPECT_EQ(by_object.at("error"), "payment declined");
    json::object compensated;
    compensated["status"] = "compensated";
    auto listed = co_await c.send("roost.saga.list", compensated);
    EXPECT_EQ(listed.as_array().size(), 1u);
    EXPECT_EQ(listed.as_array().at(0).at("id"), "q2");
    const json::value no_filter;
    auto all = co_await c.send("roost.saga.list", no_filter);
    EXPECT_EQ(all.as_array().size(), 2u);

    std::vector<std::string> errors;
    for (auto [pattern, data] : bad_queries()) {
      try {
        auto op = c.send(pattern, data);
        co_await std::move(op);
        errors.push_back("no error");
      } catch (const rpc_error& e) {
        errors.push_back(e.message());
      }
    }
    EXPECT_EQ(errors, bad_query_errors());
    co_await admin.shutdown();
    co_await s.app.shutdown();
  });
}

}  // namespace
}  // namespace roost::saga
