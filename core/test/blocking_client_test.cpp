#include <roost/blocking_client.hpp>

#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/memory_transport.hpp>

#include <gtest/gtest.h>

#include <future>
#include <numeric>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A service running on its own thread, as a real one would, served over the memory broker.
class blocking_client_test : public ::testing::Test {
 protected:
  void SetUp() override {
    r_.message("sum", [](std::vector<int> xs) { return std::reduce(xs.begin(), xs.end()); });
    r_.message("count", [](int n) -> roost::stream<int> {
      for (int i = 0; i < n; ++i) co_yield i;
    });
    r_.message("fail", [](int) -> int { throw roost::rpc_exception("no"); });
    r_.event("record", [this](int x) { recorded_.set_value(x); });
    app_ = std::make_unique<roost::microservice>(
        r_, roost::microservice_options{
                .threads = 1, .handle_signals = false, .log = roost::logger::silent()});
    app_->add_transport(broker_.server());
    std::promise<void> ready;
    app_->on_ready([&] { ready.set_value(); });
    thread_ = std::thread([this] { app_->run(); });
    ASSERT_EQ(ready.get_future().wait_for(10s), std::future_status::ready);
  }
  void TearDown() override {
    app_->stop();
    thread_.join();
  }

  roost::router r_;
  roost::testing::memory_broker broker_;
  std::unique_ptr<roost::microservice> app_;
  std::thread thread_;
  std::promise<int> recorded_;
};

TEST_F(blocking_client_test, send_collect_and_emit_from_plain_code) {
  roost::blocking_client c(broker_.client());
  EXPECT_EQ(c.send<int>("sum", std::vector{1, 2, 3}), 6);
  EXPECT_EQ(c.collect<int>("count", 4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(c.collect<int>("count", 0).empty());
  c.emit("record", 7);
  auto f = recorded_.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
}

TEST_F(blocking_client_test, remote_errors_and_timeouts_are_thrown) {
  roost::blocking_client c(broker_.client());
  try {
    c.send<int>("fail", 1);
    FAIL() << "expected an rpc_error";
  } catch (const roost::rpc_error& e) {
    EXPECT_EQ(e.message(), "no");
  }
  try {
    c.send<int>("nope", 1);
    FAIL() << "expected an rpc_error";
  } catch (const roost::rpc_error& e) {
    EXPECT_EQ(e.message(), roost::no_handler_message);
  }
}

TEST_F(blocking_client_test, calls_from_several_threads) {
  roost::blocking_client c(broker_.client());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (c.send<int>("sum", std::vector{t, i}) == t + i) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good, 200);
}

}  // namespace
