// JetStream durable consumers for events (roost extension) against nats-server -js at
// ROOST_NATS_JS_URL (scripts/brokers.sh). Each test has a stream and subjects of its own and
// deletes its stream at the end.

#include <roost/nats.hpp>

#include <roost/roost.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <nats/nats.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace roost::nats::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using roost::testing::app_options;
using roost::testing::eventually;
using roost::testing::pause_for;
using std::chrono::milliseconds;

std::string js_url() {
  const char* u = std::getenv("ROOST_NATS_JS_URL");
  if (!u || !*u) {
    ADD_FAILURE() << "ROOST_NATS_JS_URL is not set (bash scripts/brokers.sh start natsjs; export "
                     "what bash scripts/brokers.sh env prints)";
    throw std::runtime_error("ROOST_NATS_JS_URL is not set");
  }
  return u;
}

class nats_jetstream : public ::testing::Test {
 protected:
  nats_jetstream() {
    std::random_device rd;
    const auto n = std::to_string(rd() % 1'000'000'000);
    stream = "T" + n;
    p = "js" + n;
  }
  ~nats_jetstream() override {
    // Delete the test's stream (and with it its consumers).
    natsConnection* nc = nullptr;
    const std::string u = "nats://" + url.substr(url.find("://") + 3);
    if (natsConnection_ConnectTo(&nc, u.c_str()) == NATS_OK) {
      jsCtx* js = nullptr;
      if (natsConnection_JetStream(&js, nc, nullptr) == NATS_OK) {
        js_DeleteStream(js, stream.c_str(), nullptr, nullptr);
        jsCtx_Destroy(js);
      }
      natsConnection_Destroy(nc);
    }
  }

  server_options server_opts() const {
    auto u = url::parse(url + "/?jetstream=" + stream + "&durable=svc&ackWait=500");
    auto o = server_options_from(*u);
    if (!o) throw std::runtime_error("bad URL");
    o->log = logger::silent();
    return *o;
  }
  client_options client_opts() const {
    auto u = url::parse(url);
    auto o = client_options_from(*u);
    if (!o) throw std::runtime_error("bad URL");
    o->log = logger::silent();
    return *o;
  }

  std::string url = js_url();
  std::string stream, p;
};

TEST_F(nats_jetstream, events_published_while_the_service_is_down_wait_for_it) {
  std::mutex m;
  std::vector<int> got;
  router r;
  r.event(json::value(p + ".order"), [&](int v) {
    std::lock_guard lock(m);
    got.push_back(v);
  });
  r.message(json::value(p + ".sum"), [](std::vector<int> xs) { return xs.at(0) + xs.at(1); });
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    {
      microservice app(r, app_options());  // creates the stream and the durable consumer
      app.add_transport(nats::server(server_opts()));
      co_await app.start();
      client_proxy c(ex, nats::client(client_opts()));
      // Requests still work on the same server (plain subscription).
      const std::vector<int> xs{2, 3};
      const int sum = co_await c.send<int>(json::value(p + ".sum"), xs);
      EXPECT_EQ(sum, 5);
      co_await c.emit(json::value(p + ".order"), 1);
      const bool first = co_await eventually([&] {
        std::lock_guard lock(m);
        return got.size() == 1;
      });
      EXPECT_TRUE(first);
      co_await app.shutdown();
    }
    client_proxy c(ex, nats::client(client_opts()));
    for (int i = 2; i <= 4; ++i) co_await c.emit(json::value(p + ".order"), i);  // nobody up
    co_await pause_for(100ms);
    {
      std::lock_guard lock(m);
      EXPECT_EQ(got.size(), 1u);
    }
    microservice again(r, app_options());
    again.add_transport(nats::server(server_opts()));
    co_await again.start();
    const bool all = co_await eventually([&] {
      std::lock_guard lock(m);
      return got.size() == 4;
    });
    EXPECT_TRUE(all);
    co_await pause_for(200ms);  // nothing more comes: the first event was acknowledged
    {
      std::lock_guard lock(m);
      EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4}));
    }
    co_await again.shutdown();
  });
}

TEST_F(nats_jetstream, a_failed_handler_gets_the_event_again_bad_payloads_are_dropped) {
  std::atomic<int> attempts{0}, done{0};
  router r;
  r.event(json::value(p + ".job"), [&](int v) {
    if (++attempts == 1) throw std::runtime_error("transient failure");
    if (v == 7) ++done;
  });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(nats::server(server_opts()));
    co_await app.start();
    // Not JSON: terminated in the stream, never delivered again, costs nothing else.
    {
      natsConnection* nc = nullptr;
      const std::string u = "nats://" + url.substr(url.find("://") + 3);
      EXPECT_EQ(natsConnection_ConnectTo(&nc, u.c_str()), NATS_OK);
      natsConnection_PublishString(nc, (p + ".job").c_str(), "not JSON");
      natsConnection_Flush(nc);
      natsConnection_Destroy(nc);
    }
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, nats::client(client_opts()));
    co_await c.emit(json::value(p + ".job"), 7);
    const bool redelivered = co_await eventually([&] { return done.load() == 1; });
    EXPECT_TRUE(redelivered);
    EXPECT_EQ(attempts.load(), 2);
    co_await pause_for(700ms);  // past ackWait: an unacknowledged event would come back
    EXPECT_EQ(attempts.load(), 2);
    EXPECT_EQ(done.load(), 1);
    co_await app.shutdown();
  });
}

}  // namespace
}  // namespace roost::nats::test
