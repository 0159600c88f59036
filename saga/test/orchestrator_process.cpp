// The shop's orchestrator as a process of its own, for the loopback tests to kill and start
// again: roost_saga_test_orchestrator LOG ORDERS_PORT PAYMENTS_PORT INVENTORY_PORT [ID QTY AMOUNT]
// resumes the unfinished sagas of LOG, runs saga ID when given, and exits 0 once none runs.
// With ROOST_SAGA_TEST_KILL_AFTER=N it kills itself (SIGKILL) right after its N-th transition is
// committed: a crash at a chosen point of the log.

#include "shop.hpp"

#include <roost/tcp.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/prctl.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

using namespace roost;
using namespace std::chrono_literals;

std::shared_ptr<client_proxy> client_of(boost::asio::io_context& ioc, const char* port) {
  return std::make_shared<client_proxy>(
      ioc.get_executor(),
      tcp::client({.host = "127.0.0.1", .port = static_cast<std::uint16_t>(std::atoi(port))}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 8) {
    std::fprintf(stderr, "usage: %s LOG ORDERS PAYMENTS INVENTORY [ID QTY AMOUNT]\n", argv[0]);
    return 2;
  }
  // Dies with the test that started it, even when that test is aborted (a sanitizer report).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const char* kill_after = std::getenv("ROOST_SAGA_TEST_KILL_AFTER");
  const long limit = kill_after ? std::atol(kill_after) : 0;
  long transitions = 0;

  boost::asio::io_context ioc;
  saga::orchestrator_options opts;
  opts.on_transition = [&](const saga::record&, const saga::event&) {
    if (++transitions == limit) std::raise(SIGKILL);
  };
  saga::orchestrator orch(ioc.get_executor(), std::make_shared<saga::saga_log>(argv[1]), opts);
  // A service down for a while is waited for: many attempts, backing off to 100 ms.
  retry_policy retry;
  retry.max_attempts = 600;
  retry.initial_backoff = 5ms;
  retry.max_backoff = 100ms;
  orch.add(saga::test::shop_saga(client_of(ioc, argv[2]), client_of(ioc, argv[3]),
                                 client_of(ioc, argv[4]), retry));
  int rc = 0;
  auto body = [&]() -> awaitable<void> {
    orch.resume();
    if (argc == 8) {
      json::object input;
      input["item"] = "book";
      input["qty"] = std::atoi(argv[6]);
      input["amount"] = std::atoi(argv[7]);
      auto op = orch.run("place_order", std::move(input), argv[5]);
      co_await std::move(op);
    }
    while (orch.running() > 0) co_await saga::test::pause(5ms);
  };
  // The clients keep their connections (and so the io_context) busy: stop when the body ends.
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
    ioc.stop();
    if (!e) return;
    rc = 1;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, "orchestrator: %s\n", x.what());
    }
  });
  ioc.run();
  return rc;
}
