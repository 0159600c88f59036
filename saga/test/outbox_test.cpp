// roost::saga::outbox: the state change and its events in one transaction (or neither), the
// work once per idempotency key, the publisher sending after the commit in order with each
// event's id, nothing lost when the process stops between commit and publish or between the
// transport's confirmation and the mark, and (against a Redis server of the test's own) a broker
// down for a while only delaying the events.

#include <roost/saga/outbox.hpp>

#include "temp_dir.hpp"

#include <roost/roost.hpp>
#include <roost/saga/idempotent_consumer.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef ROOST_SAGA_TEST_REDIS
#include <roost/redis.hpp>
#include <roost/testing/brokers.hpp>
#endif

namespace roost::saga {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::temp_dir;
using testing::eventually;

// What a consumer of the events saw: each delivery (repeats included) and the effects its
// idempotent consumer let through, with the message ids in the order they came.
struct consumer_state {
  std::mutex mutex;
  std::vector<std::string> ids;  // every delivery's idempotency key
  std::vector<std::int64_t> effects;

  void route(router& r, json::value pattern, idempotent_consumer& seen) {
    r.event(std::move(pattern), [this, &seen](json::value data, context& ctx) {
      {
        std::lock_guard lock(mutex);
        const auto* id = ctx.headers().get(idempotency_header);
        ids.push_back(id ? *id : "");
      }
      seen.once(ctx, [&] {
        std::lock_guard lock(mutex);
        effects.push_back(data.at("n").as_int64());
        return json::value();
      });
    });
  }
  std::size_t deliveries() {
    std::lock_guard lock(mutex);
    return ids.size();
  }
  std::vector<std::int64_t> effects_seen() {
    std::lock_guard lock(mutex);
    return effects;
  }
};

// Commits an order row and its event: the unit of work the tests repeat.
std::string place(outbox& box, int n) {
  return box.transact([n](outbox_transaction& tx) {
    tx.exec("INSERT INTO orders (n) VALUES (?1)", {n});
    return tx.emit("order.placed", json::object{{"n", n}});
  });
}

void make_orders_table(outbox& box) {
  box.transact([](outbox_transaction& tx) {
    tx.exec("CREATE TABLE IF NOT EXISTS orders (n INTEGER PRIMARY KEY)");
  });
}

std::int64_t orders_in(outbox& box) {
  return box.transact([](outbox_transaction& tx) {
    return tx.query("SELECT COUNT(*) AS c FROM orders").at(0).at("c").as_int64();
  });
}

// A publisher on the calling coroutine's executor, stopped by stop() (or its destructor).
struct publisher {
  publisher(executor ex, outbox& box, std::shared_ptr<client_proxy> client,
            publish_options o = {}) {
    asio::co_spawn(ex, box.publish(std::move(client), std::move(o)),
                   asio::bind_cancellation_slot(stop_signal.slot(), [this](std::exception_ptr e) {
                     ended = true;
                     failure = e;
                   }));
  }
  void stop() { stop_signal.emit(asio::cancellation_type::terminal); }
  awaitable<void> stopped() {
    stop();
    EXPECT_TRUE(co_await eventually([this] { return ended; }, 10s)) << "the publisher ran on";
  }
  asio::cancellation_signal stop_signal;
  bool ended = false;
  std::exception_ptr failure;
};

TEST(outbox, the_state_change_and_its_events_commit_together_or_not_at_all) {
  temp_dir dir;
  outbox box(dir.file("state.db"));
  make_orders_table(box);
  const auto id = place(box, 1);
  EXPECT_EQ(orders_in(box), 1);
  auto pending = box.unsent();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, id);
  EXPECT_EQ(pending[0].pattern, "order.placed");
  EXPECT_EQ(pending[0].data.at("n"), 1);
  EXPECT_FALSE(pending[0].sent_ms);

  // A unit of work that throws after writing and emitting leaves neither.
  EXPECT_THROW(box.transact([](outbox_transaction& tx) {
    tx.exec("INSERT INTO orders (n) VALUES (2)");
    tx.emit("order.placed", json::object{{"n", 2}});
    throw std::runtime_error("the payment check failed");
  }),
               std::runtime_error);
  EXPECT_EQ(orders_in(box), 1);
  EXPECT_EQ(box.unsent().size(), 1u);
  // SQL errors are clear exceptions, and roll back too.
  EXPECT_THROW(box.transact([](outbox_transaction& tx) {
    tx.emit("order.placed", json::object{{"n", 3}});
    tx.exec("INSERT INTO no_such_table VALUES (1)");
  }),
               std::runtime_error);
  EXPECT_EQ(box.unsent().size(), 1u);
}

TEST(outbox, transact_once_runs_the_work_once_per_key_with_its_events) {
  temp_dir dir;
  outbox box(dir.file("state.db"));
  make_orders_table(box);
  int runs = 0;
  auto work = [&](int n) {
    return [&runs, n](outbox_transaction& tx) -> json::value {
      ++runs;
      if (n > 100) {
        tx.exec("INSERT INTO orders (n) VALUES (?1)", {n});  // undone by the refusal
        tx.emit("order.placed", json::object{{"n", n}});
        throw rpc_exception("too many");
      }
      tx.exec("INSERT INTO orders (n) VALUES (?1)", {n});
      tx.emit("order.placed", json::object{{"n", n}});
      return json::object{{"placed", n}};
    };
  };
  EXPECT_EQ(box.transact_once("k1", work(1)).at("placed"), 1);
  EXPECT_EQ(box.transact_once("k1", work(1)).at("placed"), 1);  // the recorded reply
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(orders_in(box), 1);
  EXPECT_EQ(box.unsent().size(), 1u);
  // A refusal: recorded, its writes and events undone, thrown again on each repeat unrun.
  EXPECT_THROW(box.transact_once("k2", work(500)), rpc_exception);
  EXPECT_THROW(box.transact_once("k2", work(500)), rpc_exception);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(orders_in(box), 1);
  EXPECT_EQ(box.unsent().size(), 1u);
  // The keys live in the same table as idempotent_consumer's: one file serves both.
  idempotent_consumer seen(dir.file("state.db"));
  EXPECT_TRUE(seen.seen("k1"));
  EXPECT_TRUE(seen.seen("k2"));
}

TEST(outbox, publishes_after_the_commit_in_order_with_each_events_id) {
  temp_dir dir;
  outbox box(dir.file("state.db"));
  make_orders_table(box);
  idempotent_consumer seen(dir.file("seen.db"));
  consumer_state got;
  router r;
  got.route(r, "order.placed", seen);
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    testing::memory_broker broker;
    microservice app{r, testing::app_options()};
    app.add_transport(broker.server());
    co_await app.start();
    auto client = std::make_shared<client_proxy>(ex, broker.client());
    std::vector<std::string> ids{place(box, 1)};  // before the publisher: sent when it starts
    publisher pub(ex, box, client);
    for (int n = 2; n <= 5; ++n) ids.push_back(place(box, n));
    EXPECT_TRUE(co_await eventually([&] { return got.deliveries() >= 5; }, 10s));
    EXPECT_TRUE(co_await eventually([&] { return box.unsent().empty(); }, 10s));
    {
      std::lock_guard lock(got.mutex);
      EXPECT_EQ(got.ids, ids);
      EXPECT_EQ(got.effects, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
    }
    auto e = box.get(ids[0]);
    EXPECT_TRUE(e && e->sent_ms);
    EXPECT_EQ(box.purge_sent(std::chrono::system_clock::now() + 1s), 5u);
    EXPECT_FALSE(box.get(ids[0]));
    co_await pub.stopped();
    EXPECT_FALSE(pub.failure);
    co_await app.shutdown();
  });
}

TEST(outbox, a_crash_between_commit_and_publish_loses_nothing) {
  temp_dir dir;
  const auto file = dir.file("state.db");
  idempotent_consumer seen(dir.file("seen.db"));
  consumer_state got;
  router r;
  got.route(r, "order.placed", seen);
  std::vector<std::string> ids;
  {
    // The process commits and stops before any publisher ran.
    outbox box(file);
    make_orders_table(box);
    for (int n = 1; n <= 3; ++n) ids.push_back(place(box, n));
  }
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    testing::memory_broker broker;
    microservice app{r, testing::app_options()};
    app.add_transport(broker.server());
    co_await app.start();
    auto client = std::make_shared<client_proxy>(ex, broker.client());
    {
      // Restarted, it stops again after the transport confirmed event 2, before marking it.
      outbox box(file);
      EXPECT_EQ(box.unsent().size(), 3u);
      publish_options o;
      o.on_confirmed = [&](const outbox_event& e) {
        if (e.id == ids[1]) throw std::runtime_error("crash after the confirmation");
      };
      publisher pub(ex, box, client, o);
      EXPECT_TRUE(co_await eventually([&] { return pub.ended; }, 10s));
      EXPECT_TRUE(pub.failure);
      EXPECT_EQ(box.unsent().size(), 2u);  // 2 (sent, not marked) and 3
    }
    // Restarted again: 2 goes a second time, the consumer's deduplication keeps its effect one.
    outbox box(file);
    publisher pub(ex, box, client);
    EXPECT_TRUE(co_await eventually([&] { return box.unsent().empty(); }, 10s));
    EXPECT_TRUE(co_await eventually([&] { return got.effects_seen().size() == 3; }, 10s));
    EXPECT_EQ(got.effects_seen(), (std::vector<std::int64_t>{1, 2, 3}));
    {
      std::lock_guard lock(got.mutex);
      EXPECT_EQ(got.ids, (std::vector<std::string>{ids[0], ids[1], ids[1], ids[2]}));
    }
    EXPECT_EQ(orders_in(box), 3);
    co_await pub.stopped();
    co_await app.shutdown();
  });
}

#ifdef ROOST_SAGA_TEST_REDIS

// A Redis server of the test's own that keeps its data across a kill (append-only file,
// fsync'ed per write), so its consumer group and stream survive the outage as a production
// broker's would; the Streams mode keeps an event for a consumer that is not connected.
TEST(outbox_redis, a_broker_down_for_a_while_delays_the_events_and_loses_none) {
  temp_dir dir;
  const auto port = testing::free_port();
  testing::broker_process redis_server(
      ROOST_SAGA_TEST_REDIS,
      {"--bind", "127.0.0.1", "--port", std::to_string(port), "--save", "", "--appendonly", "yes",
       "--appendfsync", "always", "--dir", dir.path.string(), "--logfile",
       (dir.path / "redis.log").string()},
      port);  // started (and ready) here
  redis::connection_options where;
  where.host = "127.0.0.1";
  where.port = port;
  where.retry.max_delay = 200ms;
  redis::stream_options streams;
  streams.enabled = true;
  streams.group = "outbox-test";
  streams.consumer = "c";
  streams.block = 200ms;

  outbox box(dir.file("state.db"));
  make_orders_table(box);
  idempotent_consumer seen(dir.file("seen.db"));
  consumer_state got;
  router r;
  got.route(r, "order.placed", seen);
  std::atomic<int> not_confirmed{0};
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        microservice app{r, testing::app_options()};
        redis::server_options so;
        so.connection = where;
        so.streams = streams;
        so.log = logger::silent();
        app.add_transport(redis::server(std::move(so)));
        co_await app.start();
        redis::client_options co;
        co.connection = where;
        co.streams = streams;
        co.log = logger::silent();
        auto client = std::make_shared<client_proxy>(ex, redis::client(std::move(co)));
        publish_options o;
        o.timeout = 300ms;
        o.max_backoff = 200ms;
        o.log = logger(log_level::warn, [&](log_level, std::string_view, std::string_view m) {
          if (m.find("not confirmed") != std::string_view::npos) ++not_confirmed;
        });
        publisher pub(ex, box, client, o);
        for (int n = 1; n <= 3; ++n) place(box, n);
        EXPECT_TRUE(co_await eventually([&] { return got.effects_seen().size() == 3; }, 15s));

        redis_server.stop();
        for (int n = 4; n <= 6; ++n) place(box, n);
        // Down: the publisher tries, is refused, and keeps the events.
        EXPECT_TRUE(co_await eventually([&] { return not_confirmed >= 2; }, 15s))
            << "the publisher never reported a failed send while the broker was down";
        EXPECT_EQ(box.unsent().size(), 3u);
        EXPECT_EQ(got.effects_seen().size(), 3u);

        redis_server.start();
        EXPECT_TRUE(co_await eventually([&] { return box.unsent().empty(); }, 20s))
            << "events still unsent after the broker came back";
        EXPECT_TRUE(co_await eventually([&] { return got.effects_seen().size() == 6; }, 20s))
            << "the consumer got " << got.effects_seen().size() << " of 6 events";
        EXPECT_EQ(got.effects_seen(), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
        co_await pub.stopped();
        co_await app.shutdown();
      },
      90s);
}

#endif

}  // namespace
}  // namespace roost::saga
