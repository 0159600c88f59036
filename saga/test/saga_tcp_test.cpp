// roost::saga over TCP loopback: the shop's three services (orders, payments, inventory) as
// roost microservices on their own threads, each effect counted once per idempotency key, and
// the orchestrator in this process or as a process of its own that the test kills with SIGKILL
// mid-saga and starts again: the saga completes, and every effect happens exactly once.

#include "shop.hpp"
#include "temp_dir.hpp"

#include <roost/tcp.hpp>
#include <roost/testing/run.hpp>

#include <gtest/gtest.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace roost::saga {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::shop_state;
using test::temp_dir;

// One of the shop's services on TCP loopback, run on a thread of its own; `port` 0 picks one.
struct service {
  service(const std::string& name, shop_state& st, idempotent_consumer& seen,
          std::uint16_t port = 0)
      : app(routes(name, st, seen), options()),
        tcp(app.add_transport(roost::tcp::server({.host = "127.0.0.1", .port = port}))) {
    app.on_ready([this] { ready.set_value(); });
    runner = std::thread([this] { app.run(); });
    if (ready.get_future().wait_for(30s) != std::future_status::ready) {
      throw std::runtime_error("the " + name + " service did not start");
    }
  }
  ~service() {
    app.stop();
    runner.join();
  }
  router& routes(const std::string& name, shop_state& st, idempotent_consumer& seen) {
    test::shop_routes(r, st, seen, name);
    return r;
  }
  static microservice_options options() {
    microservice_options o;
    o.threads = 1;
    o.handle_signals = false;
    o.log = logger::silent();
    return o;
  }
  std::uint16_t port() const { return tcp.port(); }

  router r;
  microservice app;
  roost::tcp::server& tcp;
  std::promise<void> ready;
  std::thread runner;
};

// The three services, sharing one idempotency table.
struct shop {
  // `after_effect` is set before the services' threads start, which read it.
  explicit shop(const temp_dir& dir,
                std::function<awaitable<void>(std::string)> after_effect = nullptr)
      : seen(dir.file("seen.db")) {
    state.after_effect = std::move(after_effect);
    orders = std::make_unique<service>("orders", state, seen);
    payments = std::make_unique<service>("payments", state, seen);
    inventory = std::make_unique<service>("inventory", state, seen);
  }
  std::vector<std::string> ports() const {
    return {std::to_string(orders->port()), std::to_string(payments->port()),
            std::to_string(inventory->port())};
  }
  shop_state state;
  idempotent_consumer seen;
  std::unique_ptr<service> orders, payments, inventory;
};

// The orchestrator process: started with `args`, and ROOST_SAGA_TEST_KILL_AFTER=kill_after
// when not 0.
struct orchestrator_process {
  orchestrator_process(std::vector<std::string> args, int kill_after = 0) {
    args.insert(args.begin(), ROOST_SAGA_TEST_ORCHESTRATOR);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      if (!std::string_view(*e).starts_with("ROOST_SAGA_TEST_KILL_AFTER=")) env.emplace_back(*e);
    }
    if (kill_after > 0) env.push_back("ROOST_SAGA_TEST_KILL_AFTER=" + std::to_string(kill_after));
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) {
      throw std::runtime_error("cannot start the orchestrator process");
    }
  }
  ~orchestrator_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Waits (up to a minute) for the process to end; its wait status, or -1 when it did not.
  int wait() {
    for (int i = 0; i < 60'000; ++i) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return status;
      }
      std::this_thread::sleep_for(1ms);
    }
    return -1;
  }
  void kill() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  pid_t pid = -1;
};

std::vector<std::string> args(const temp_dir& dir, const shop& s, std::vector<std::string> saga) {
  std::vector<std::string> a{dir.file("saga.db")};
  for (auto& p : s.ports()) a.push_back(p);
  for (auto& x : saga) a.push_back(std::move(x));
  return a;
}

bool exited_cleanly(int status) {
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
bool was_killed(int status) {
  return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

int count(const std::vector<event>& events, event_kind k, int step) {
  int n = 0;
  for (const auto& e : events) n += e.kind == k && e.step == step;
  return n;
}

TEST(saga_tcp, completes_and_compensates_over_tcp) {
  temp_dir dir;
  shop s(dir);
  orchestrator_process ok(args(dir, s, {"happy", "2", "30"}));
  ASSERT_TRUE(exited_cleanly(ok.wait()));
  orchestrator_process short_of_stock(args(dir, s, {"short", "50", "30"}));
  ASSERT_TRUE(exited_cleanly(short_of_stock.wait()));

  saga_log log(dir.file("saga.db"));
  EXPECT_EQ(log.get("happy")->state, status::completed);
  const auto r = log.get("short");
  EXPECT_EQ(r->state, status::compensated);
  EXPECT_EQ(r->error, "out of stock");
  // Both sagas created an order and charged it; the short one refunded and cancelled.
  EXPECT_EQ(s.state.effect("orders.create"), 2);
  EXPECT_EQ(s.state.effect("payments.charge"), 2);
  EXPECT_EQ(s.state.effect("payments.refund"), 1);
  EXPECT_EQ(s.state.effect("orders.cancel"), 1);
  EXPECT_EQ(s.state.effect("inventory.reserve"), 1);
  EXPECT_EQ(s.state.effect("orders.confirm"), 1);
  // The keys came over TCP in the packets' metadata.
  EXPECT_TRUE(s.seen.seen("short:1:compensation"));
}

TEST(saga_tcp, a_service_down_for_a_while_is_retried_then_succeeds) {
  temp_dir dir;
  shop s(dir);
  const auto payments_port = s.payments->port();
  const auto a = args(dir, s, {"retried", "1", "10"});
  s.payments.reset();  // down: its port refuses connections
  orchestrator_process o(a);
  // Wait until the charge is being attempted (its step started), then a little more.
  saga_log log(dir.file("saga.db"));
  bool attempting = false;
  for (int i = 0; i < 30'000 && !attempting; ++i) {
    auto r = log.get("retried");
    attempting = r && r->step == 1 && r->in_flight;
    if (!attempting) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(attempting);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(log.get("retried")->state, status::running);
  s.payments = std::make_unique<service>("payments", s.state, s.seen, payments_port);
  ASSERT_TRUE(exited_cleanly(o.wait()));
  EXPECT_EQ(log.get("retried")->state, status::completed);
  EXPECT_EQ(s.state.effect("payments.charge"), 1);
  EXPECT_EQ(count(log.events("retried"), event_kind::step_started, 1), 1);
}

// The process kills itself right after transition N: 3 (the order created, the charge not yet
// started), 4 (the charge's start logged, not sent), 6 (the reservation's start logged). Started
// again, it resumes the saga to its end, each effect once.
TEST(saga_tcp, killed_after_a_transition_and_restarted_it_completes_exactly_once) {
  for (int n : {3, 4, 6}) {
    SCOPED_TRACE("killed after transition " + std::to_string(n));
    temp_dir dir;
    shop s(dir);
    const std::string id = "killed-" + std::to_string(n);
    orchestrator_process first(args(dir, s, {id, "1", "10"}), n);
    ASSERT_TRUE(was_killed(first.wait()));
    {
      saga_log log(dir.file("saga.db"));
      EXPECT_EQ(log.events(id).size(), static_cast<std::size_t>(n));
      EXPECT_EQ(log.get(id)->state, status::running);
    }
    orchestrator_process second(args(dir, s, {}));  // resume alone
    ASSERT_TRUE(exited_cleanly(second.wait()));
    saga_log log(dir.file("saga.db"));
    EXPECT_EQ(log.get(id)->state, status::completed);
    for (auto p : {"orders.create", "payments.charge", "inventory.reserve", "orders.confirm"}) {
      EXPECT_EQ(s.state.effect(p), 1) << p;
    }
    EXPECT_EQ(count(log.events(id), event_kind::saga_started, -1), 1);
    // A step whose start was logged before the kill is started (sent) again, with its key.
    EXPECT_EQ(count(log.events(id), event_kind::step_started, 1), n == 4 ? 2 : 1);
    EXPECT_EQ(count(log.events(id), event_kind::step_started, 2), n == 6 ? 2 : 1);
  }
}

// The worst point: the charge took effect at the payments service, but the orchestrator was
// killed before its reply came. Started again, it sends the charge again with the same key, and
// the service answers from its record: charged once.
TEST(saga_tcp, killed_between_an_effect_and_its_reply_the_step_is_not_done_twice) {
  temp_dir dir;
  std::atomic<bool> held{false}, released{false};
  shop s(dir, [&](std::string pattern) -> awaitable<void> {
    if (pattern != "payments.charge" || released) co_return;
    held = true;
    while (!released) co_await test::pause(2ms);
  });
  orchestrator_process first(args(dir, s, {"held", "1", "10"}));
  for (int i = 0; i < 30'000 && !held; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(held);
  first.kill();
  released = true;
  EXPECT_EQ(s.state.effect("payments.charge"), 1);

  orchestrator_process second(args(dir, s, {}));
  ASSERT_TRUE(exited_cleanly(second.wait()));
  saga_log log(dir.file("saga.db"));
  EXPECT_EQ(log.get("held")->state, status::completed);
  EXPECT_EQ(s.state.call_count("payments.charge"), 2);  // sent twice
  EXPECT_EQ(s.state.effect("payments.charge"), 1);      // charged once
  EXPECT_EQ(count(log.events("held"), event_kind::step_started, 1), 2);
  EXPECT_EQ(log.get("held")->replies.at("charge").at("payment"), "p-1");
}

}  // namespace
}  // namespace roost::saga
