// The Kafka transport against the mock cluster (ROOST_KAFKA_URL; scripts/brokers.sh starts
// it). A group's first join takes about 3 s there, so one server serves every check of the
// first test. Topics and groups carry a prefix no other run uses.
// GCC 12: no co_await inside call arguments or conditions, and no owning temporaries in a
// co_await full-expression (see docs/contributing.md).

#include <roost/kafka.hpp>

#include <roost/detail/json_writer.hpp>
#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/testing/url_options.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace roost::kafka::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string broker_url() {
  return roost::testing::broker_url("ROOST_KAFKA_URL");
}

// The URL's bootstrap brokers, for the raw handles.
std::string bootstrap(const std::string& u) {
  const auto from = u.find("://") + 3;
  return u.substr(from, u.find_first_of("/?", from) - from);
}

std::string unique_prefix() {
  return "t" + roost::testing::unique_number();
}

std::string with(const std::string& u, const std::string& query) {
  return u + (u.find('?') == std::string::npos ? "?" : "&") + query;
}

template <class Options>
Options options_from(const std::string& text) {
  if constexpr (std::is_same_v<Options, server_options>) {
    return roost::testing::options_from_url(text,
                                            [](const url& u) { return server_options_from(u); });
  } else {
    return roost::testing::options_from_url(text,
                                            [](const url& u) { return client_options_from(u); });
  }
}

using roost::testing::app_options;

// Polls every 20 ms: some conditions ask the broker.
awaitable<bool> eventually(std::function<bool()> pred, milliseconds timeout = 15s) {
  return roost::testing::eventually(std::move(pred), timeout, 20ms);
}

std::string js(const json::value& v) {
  return roost::detail::to_json(v);
}

rd_kafka_conf_t* raw_conf(const std::string& brokers) {
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(c, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(c, "log_level", "3", err, sizeof err);
  return c;
}

// The group's committed offset of one partition (-1001: none), read as another member would.
std::int64_t committed(const std::string& brokers, const std::string& group,
                       const std::string& topic, int partition) {
  rd_kafka_conf_t* c = raw_conf(brokers);
  char err[256];
  rd_kafka_conf_set(c, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic.c_str(), partition);
  std::int64_t out = -1;
  if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) out = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(rk);
  return out;
}

// A record as NestJS's ClientKafka writes a request, produced with librdkafka directly, and
// the first record of the reply topic's partition read back: the exact bytes on the wire.
struct raw_reply {
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
  int partition = -1;
};

raw_reply nest_shaped_request(const std::string& brokers, const std::string& topic,
                              const std::string& value, int reply_partition) {
  const std::string reply_topic = topic + ".reply";
  char err[256];
  rd_kafka_conf_t* cc = raw_conf(brokers);
  rd_kafka_conf_set(cc, "group.id", (topic + "-raw").c_str(), err, sizeof err);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, reply_topic.c_str(), reply_partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer, l);
  rd_kafka_topic_partition_list_destroy(l);

  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, raw_conf(brokers), err, sizeof err);
  rd_kafka_headers_t* h = rd_kafka_headers_new(3);
  rd_kafka_header_add(h, "kafka_correlationId", -1, "99dc541368f024b7970fc", -1);
  rd_kafka_header_add(h, "kafka_replyTopic", -1, reply_topic.c_str(), -1);
  const std::string p = std::to_string(reply_partition);
  rd_kafka_header_add(h, "kafka_replyPartition", -1, p.c_str(), -1);
  rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                    RD_KAFKA_V_END);
  rd_kafka_flush(producer, 5000);
  rd_kafka_destroy(producer);

  raw_reply out;
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) continue;
    if (!m->err) {
      if (m->payload) out.value.emplace(static_cast<const char*>(m->payload), m->len);
      out.partition = m->partition;
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* v;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &v, &size); ++i) {
          out.headers.emplace_back(name, std::string(static_cast<const char*>(v), size));
        }
      }
      rd_kafka_message_destroy(m);
      break;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return out;
}

struct service_state {
  std::mutex mutex;
  std::vector<std::string> notes;
  std::vector<std::int64_t> flaky_offsets;  // one per call of the flaky handler
  std::atomic<int> flaky_calls{0};
  std::vector<std::int64_t> retry_offsets;  // one per call of the retried request's handler
  std::atomic<int> poison_calls{0};
  std::vector<std::string> dead;  // the dead-letter topic's records: value, key, then headers
  std::vector<std::string> slow;  // "<value> start" and "<value> end", as they happen
  std::atomic<bool> release{false};
  std::vector<std::string> locked(std::vector<std::string>& v) {
    std::lock_guard lock(mutex);
    return v;
  }
};

router make_router(const std::string& p, service_state& st) {
  router r;
  r.message(json::value(p + ".sum"), [](std::vector<double> xs) {
    double s = 0;
    for (double x : xs) s += x;
    return s;
  });
  r.message(json::value(p + ".echo"), [](json::value v) { return v; });
  // Scalars arrive as text (NestJS's KafkaParser): the count is a string.
  r.message(json::value(p + ".count"), [](std::string n) -> stream<int> {
    for (int i = 0; i < std::stoi(n); ++i) co_yield i;
  });
  r.message(json::value(p + ".boom"), []() -> int { throw rpc_exception("bad thing"); });
  r.message(json::value(p + ".ctx"), [](json::value, kafka::context& ctx) {
    json::object o;
    o["topic"] = ctx.topic();
    o["partition"] = ctx.partition();
    o["offset_known"] = ctx.offset() >= 0;
    o["timestamp_known"] = ctx.timestamp() > 0;
    o["key"] = ctx.key() ? json::value(*ctx.key()) : json::value(nullptr);
    const std::string* trace = ctx.header("x-trace");
    o["trace"] = trace ? json::value(*trace) : json::value(nullptr);
    o["request"] = ctx.is_request();
    return o;
  });
  // Which partition of the reply topic the request named, with its data.
  r.message(json::value(p + ".whom"), [](json::value v, kafka::context& ctx) {
    json::object o;
    o["data"] = std::move(v);
    const std::string* partition = ctx.header("kafka_replyPartition");
    o["reply_partition"] = partition ? json::value(*partition) : json::value(nullptr);
    return o;
  });
  r.event(json::value(p + ".note"), [&st](json::value v) {
    std::lock_guard lock(st.mutex);
    st.notes.push_back(js(v));
  });
  // Fails the first time it sees a record: the record is read again.
  r.event(json::value(p + ".flaky"), [&st](json::value, kafka::context& ctx) {
    {
      std::lock_guard lock(st.mutex);
      st.flaky_offsets.push_back(ctx.offset());
    }
    if (st.flaky_calls++ == 0) throw std::runtime_error("first time fails");
  });
  // A request whose first call fails retriably: it is read again, unanswered meanwhile.
  r.message(json::value(p + ".retry"), [&st](json::value, kafka::context& ctx) -> std::string {
    std::size_t calls = 0;
    {
      std::lock_guard lock(st.mutex);
      st.retry_offsets.push_back(ctx.offset());
      calls = st.retry_offsets.size();
    }
    if (calls == 1) throw retriable_exception(ctx, "not yet");
    return "ok@" + std::to_string(ctx.offset());
  });
  // An event that always fails retriably: poison, once its retries are spent.
  r.event(json::value(p + ".poison"), [&st](json::value, kafka::context& ctx) {
    ++st.poison_calls;
    throw retriable_exception(ctx, json::object{{"reason", "bad"}});
  });
  r.event(json::value(p + ".dead"), [&st](json::value v, kafka::context& ctx) {
    std::lock_guard lock(st.mutex);
    st.dead.push_back(js(v));
    st.dead.push_back(ctx.key().value_or("(none)"));
    for (const auto& [k, h] : ctx.headers()) st.dead.push_back(k + "=" + h);
  });
  // "hold" waits for the test's release; the others pass at once.
  r.event(json::value(p + ".slow"), [&st](std::string v) -> awaitable<void> {
    {
      std::lock_guard lock(st.mutex);
      st.slow.push_back(v + " start");
    }
    if (v == "hold") (void)co_await eventually([&st] { return st.release.load(); }, 30s);
    std::lock_guard lock(st.mutex);
    st.slow.push_back(v + " end");
  });
  return r;
}

bool holds(const std::vector<std::string>& v, const std::string& item) {
  return std::find(v.begin(), v.end(), item) != v.end();
}

std::vector<std::string> of_partition_0(const std::vector<std::string>& slow) {
  std::vector<std::string> out;
  for (const auto& s : slow) {
    if (s.starts_with("hold") || s.starts_with("a")) out.push_back(s);
  }
  return out;
}

std::vector<std::string> expected_partition_0() {
  return {"hold start", "hold end", "a1 start", "a1 end", "a2 start", "a2 end"};
}

// Values built outside the coroutines (GCC 12 cannot take braced lists of string literals in a
// coroutine's frame).
using header_list = std::vector<std::pair<std::string, std::string>>;
header_list nest_reply_headers() {
  return {{"kafka_correlationId", "99dc541368f024b7970fc"},
          {"kafka_nest-is-disposed", std::string(1, '\0')}};
}
call_options with_record(std::optional<std::string> key, std::int32_t partition,
                         std::string trace = {}) {
  call_options o;
  kafka::record rec;
  rec.key = std::move(key);
  rec.partition = partition;
  if (!trace.empty()) rec.headers.add("x-trace", std::move(trace));
  o.record = std::move(rec);
  return o;
}
// The replies to calls of `whom` made by several clients at once.
struct whom_replies {
  std::mutex mutex;
  // per client: (data sent, reply), or (data sent, the error as a string)
  std::map<std::string, std::vector<std::pair<std::string, json::value>>> by_client;
  std::size_t count() {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& [k, v] : by_client) n += v.size();
    return n;
  }
};

awaitable<void> call_whom(client_proxy* c, std::string pattern, std::string client,
                          std::string data, std::shared_ptr<whom_replies> out) {
  json::value got;
  try {
    got = co_await c->send<json::value>(json::value(pattern), data);
  } catch (const std::exception& e) {
    got = json::value(std::string("error: ") + e.what());
  }
  std::lock_guard lock(out->mutex);
  out->by_client[client].emplace_back(data, got);
}

void spawn_whom_calls(const executor& ex, client_proxy& c, const std::string& pattern,
                      const std::string& client, int n, const std::shared_ptr<whom_replies>& out) {
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(ex, call_whom(&c, pattern, client, client + "-" + std::to_string(i), out),
                   asio::detached);
  }
}

json::value object_pattern() {
  return json::object{{"cmd", "sum"}};
}
json::value nested_value() {
  return json::object{{"a", json::array{1, nullptr}}, {"s", "\xC3\xA9"}};
}
json::value n1() {
  return json::object{{"n", 1}};
}

// The headers of the poison record of check_retries() on the dead-letter topic.
std::vector<std::string> dead_letter_headers(const std::string& p) {
  return {"x-trace=t-9",           "kafka_dlt-topic=" + p + ".poison",
          "kafka_dlt-partition=3", "kafka_dlt-offset=0",
          "kafka_dlt-attempts=4",  R"(kafka_dlt-error={"reason":"bad"})"};
}

// Retriable failures, poison records and the dead-letter topic.
awaitable<void> check_retries(client_proxy& c, service_state& st, const std::string& p,
                              const std::string& brokers, const std::string& group) {
  const std::string got = co_await c.send<std::string>(json::value(p + ".retry"), 1);
  std::vector<std::int64_t> offsets;
  {
    std::lock_guard lock(st.mutex);
    offsets = st.retry_offsets;
  }
  if (offsets.size() != 2u) {
    ADD_FAILURE() << "the retried request's handler ran " << offsets.size() << " time(s)";
    co_return;
  }
  EXPECT_EQ(offsets[0], offsets[1]);  // the same record, read again
  EXPECT_EQ(got, "ok@" + std::to_string(offsets[0]));

  call_options to3 = with_record("k9", 3, "t-9");
  co_await c.emit(json::value(p + ".poison"), n1(), to3);
  const bool dead = co_await eventually([&] { return !st.locked(st.dead).empty(); });
  EXPECT_TRUE(dead);
  const auto d = st.locked(st.dead);
  EXPECT_EQ(st.poison_calls.load(), 4);  // read once, then maxRedeliveries (3) more times
  if (d.size() < 2u) co_return;
  EXPECT_EQ(d[0], R"({"n":1})");
  EXPECT_EQ(d[1], "k9");
  for (const std::string& h : dead_letter_headers(p)) EXPECT_TRUE(holds(d, h)) << h;
  const bool poison_committed =
      co_await eventually([&] { return committed(brokers, group, p + ".poison", 3) == 1; });
  EXPECT_TRUE(poison_committed);
}

// A record that takes long holds the records after it in its partition, not another's.
awaitable<void> check_partitions_apart(client_proxy& c, service_state& st, const std::string& p) {
  call_options to0 = with_record(std::nullopt, 0);
  call_options to1 = with_record(std::nullopt, 1);
  co_await c.emit(json::value(p + ".slow"), std::string("hold"), to0);
  co_await c.emit(json::value(p + ".slow"), std::string("a1"), to0);
  co_await c.emit(json::value(p + ".slow"), std::string("a2"), to0);
  co_await c.emit(json::value(p + ".slow"), std::string("b1"), to1);
  co_await c.emit(json::value(p + ".slow"), std::string("b2"), to1);
  const bool other_partition_served =
      co_await eventually([&] { return holds(st.locked(st.slow), "b2 end"); });
  EXPECT_TRUE(other_partition_served);
  const auto before = st.locked(st.slow);
  EXPECT_TRUE(holds(before, "hold start"));
  EXPECT_FALSE(holds(before, "hold end"));
  EXPECT_FALSE(holds(before, "a1 start"));  // behind "hold" in its partition
  st.release = true;
  const bool all = co_await eventually([&] { return holds(st.locked(st.slow), "a2 end"); });
  EXPECT_TRUE(all);
  EXPECT_EQ(of_partition_0(st.locked(st.slow)), expected_partition_0());
}

TEST(kafka_broker, requests_streams_errors_events_and_commits) {
  const std::string u = broker_url();
  const std::string brokers = bootstrap(u);
  const std::string p = unique_prefix();
  const std::string group = p + "-group";
  service_state st;
  router r = make_router(p, st);
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        const std::string server_url =
            with(u, "groupId=" + group + "&postfixId=&autoCommitInterval=100&deadLetterTopic=" + p +
                        ".dead&partitionsConsumedConcurrently=4&maxMessageSize=4096");
        auto& srv = app.add_transport(kafka::server(options_from<server_options>(server_url)));
        co_await app.start();
        EXPECT_TRUE(srv.ready());  // the group assigned its partitions
        auto ex = co_await asio::this_coro::executor;
        // Clients of one group of their own (a group shared with an earlier run would wait for
        // its members' sessions to end).
        const std::string client_group = "groupId=" + p + "-clients";
        client_proxy c(ex, kafka::client(options_from<client_options>(with(
                               u, "clientId=" + p + "&" + client_group +
                                      "&subscribeToResponseOf=" + p + ".sum," + p + ".whom"))));

        // A number reply travels as its text, as in NestJS.
        const std::vector<double> xs{1, 2, 3};
        const json::value sum = co_await c.send<json::value>(json::value(p + ".sum"), xs);
        EXPECT_EQ(js(sum), R"("6")");
        const json::value nested = nested_value();
        const json::value echoed = co_await c.send<json::value>(json::value(p + ".echo"), nested);
        EXPECT_EQ(js(echoed), js(nested));

        auto counter = c.stream<std::string>(json::value(p + ".count"), 3);
        std::vector<std::string> values;
        for (;;) {
          auto v = co_await counter.next();
          if (!v) break;
          values.push_back(*v);
        }
        EXPECT_EQ(values, (std::vector<std::string>{"0", "1", "2"}));

        try {
          (void)co_await c.send<int>(json::value(p + ".boom"), 0);
          ADD_FAILURE() << "no error";
        } catch (const rpc_error& e) {
          EXPECT_EQ(js(e.error()), R"({"status":"error","message":"bad thing"})");
        }

        // Over maxMessageSize: answered with the error, not served.
        try {
          (void)co_await c.send<json::value>(json::value(p + ".echo"), std::string(5000, 'x'));
          ADD_FAILURE() << "served";
        } catch (const rpc_error& e) {
          EXPECT_EQ(e.message(), "Message too large: 5000 bytes, the limit is 4096");
        }

        // The record's key, partition and headers reach the context.
        call_options o = with_record("k1", 2, "t-1");
        const json::value ctx = co_await c.send<json::value>(json::value(p + ".ctx"), 1, o);
        EXPECT_EQ(js(ctx), R"({"topic":")" + p +
                               R"(.ctx","partition":2,"offset_known":true,"timestamp_known":true,)"
                               R"("key":"k1","trace":"t-1","request":true})");

        // NestJS's exact reply records: the value as text, the correlation id, the disposed
        // header (one 0x00 byte), on the partition the request named.
        // On a thread of its own: it blocks, and the server shares this test's executor.
        auto pending_raw = std::async(std::launch::async, nest_shaped_request, brokers, p + ".sum",
                                      std::string("[1,2,3]"), 1);
        const bool raw_done = co_await eventually(
            [&] { return pending_raw.wait_for(0s) == std::future_status::ready; }, 20s);
        EXPECT_TRUE(raw_done);
        const raw_reply raw = pending_raw.get();
        EXPECT_EQ(raw.partition, 1);
        EXPECT_EQ(raw.value, "6");
        EXPECT_EQ(raw.headers, nest_reply_headers());

        // Events: handled, and their offsets committed once the handler returned.
        call_options to0 = with_record(std::nullopt, 0);
        co_await c.emit(json::value(p + ".note"), std::string("hello"), to0);
        co_await c.emit(json::value(p + ".note"), n1(), to0);
        const bool noted = co_await eventually([&] { return st.locked(st.notes).size() == 2; });
        EXPECT_TRUE(noted);
        EXPECT_EQ(st.locked(st.notes), (std::vector<std::string>{R"("hello")", R"({"n":1})"}));
        const bool note_committed =
            co_await eventually([&] { return committed(brokers, group, p + ".note", 0) == 2; });
        EXPECT_TRUE(note_committed) << committed(brokers, group, p + ".note", 0);

        // A failed event handler: the record is read again, then committed once it succeeded.
        co_await c.emit(json::value(p + ".flaky"), 1, to0);
        const bool retried = co_await eventually([&] { return st.flaky_calls.load() >= 2; });
        EXPECT_TRUE(retried);
        const bool flaky_committed =
            co_await eventually([&] { return committed(brokers, group, p + ".flaky", 0) == 1; });
        EXPECT_TRUE(flaky_committed);
        {
          std::lock_guard lock(st.mutex);
          EXPECT_EQ(st.flaky_offsets, (std::vector<std::int64_t>{0, 0}));
        }

        co_await check_retries(c, st, p, brokers, group);
        co_await check_partitions_apart(c, st, p);

        // A second client of the group: each reads partitions of its own of the reply topic
        // (created by the cluster with several), names its lowest in its requests, and gets
        // every reply to its calls, while both call the same pattern at once.
        client_proxy c2(ex, kafka::client(options_from<client_options>(
                                with(u, "clientId=" + p + "-2&" + client_group +
                                            "&subscribeToResponseOf=" + p + ".whom"))));
        co_await c2.connect();
        auto replies = std::make_shared<whom_replies>();
        constexpr int calls_each = 20;
        spawn_whom_calls(ex, c, p + ".whom", "one", calls_each, replies);
        spawn_whom_calls(ex, c2, p + ".whom", "two", calls_each, replies);
        const bool all_replied =
            co_await eventually([&] { return replies->count() == 2 * calls_each; }, 40s);
        EXPECT_TRUE(all_replied) << replies->count();
        std::map<std::string, std::set<std::string>> partitions_named;
        {
          std::lock_guard lock(replies->mutex);
          for (const auto& [client, calls] : replies->by_client) {
            EXPECT_EQ(calls.size(), std::size_t(calls_each)) << client;
            for (const auto& [sent, got] : calls) {
              if (!got.is_object()) {
                ADD_FAILURE() << client << ": " << js(got);
                continue;
              }
              const json::object& o = got.as_object();
              EXPECT_EQ(js(o.at("data")), js(json::value(sent))) << client;
              partitions_named[client].insert(js(o.at("reply_partition")));
            }
          }
        }
        EXPECT_EQ(partitions_named.size(), 2u);
        EXPECT_EQ(partitions_named["one"].size(), 1u);
        EXPECT_EQ(partitions_named["two"].size(), 1u);
        EXPECT_NE(partitions_named["one"], partitions_named["two"]);
        EXPECT_EQ(c.pending(), 0u);
        EXPECT_EQ(c2.pending(), 0u);

        // Readiness through a rebalance: a second member joins the group, which takes the
        // first one's partitions away and assigns them again; the first is not ready in
        // between, both are once the group settled, and an event sent then is served.
        // A thread of its own watches it, without sleeping: the window can be short.
        std::atomic<bool> seen_unready{false};
        std::jthread watcher([&](std::stop_token stop) {
          while (!stop.stop_requested()) {
            if (!srv.ready()) seen_unready = true;
            std::this_thread::yield();
          }
        });
        microservice app2(r, app_options());
        auto& srv2 = app2.add_transport(kafka::server(options_from<server_options>(server_url)));
        co_await app2.start();
        EXPECT_TRUE(srv2.ready());
        EXPECT_TRUE(co_await eventually([&] { return srv.ready(); }, 30s))
            << "the first member not ready again after the rebalance";
        watcher.request_stop();
        watcher.join();
        EXPECT_TRUE(seen_unready.load()) << "ready all through a rebalance";
        co_await c.emit(json::value(p + ".note"), "after the rebalance");
        EXPECT_TRUE(co_await eventually([&] {
          auto notes = st.locked(st.notes);
          return std::find(notes.begin(), notes.end(), R"("after the rebalance")") != notes.end();
        })) << "an event sent once both were ready was not served";
        app2.stop();
        EXPECT_FALSE(app2.ready());
        co_await app2.shutdown();
        EXPECT_FALSE(srv2.ready());

        c2.close();
        c.close();
        co_await app.shutdown();
      },
      120s);
}

TEST(kafka_broker, calls_that_cannot_work_fail_at_once_and_clearly) {
  const std::string u = broker_url();
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, kafka::client(options_from<client_options>(u)));
    // An object pattern makes no topic name.
    try {
      const json::value pattern = object_pattern();
      (void)co_await c.send<int>(pattern, 1);
      ADD_FAILURE() << "sent";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("no Kafka topic name"), std::string::npos) << e.what();
    }
    c.close();

    client_proxy producer_only(
        ex, kafka::client(options_from<client_options>(with(u, "producerOnlyMode=true"))));
    try {
      (void)co_await producer_only.send<int>(json::value(unique_prefix() + ".sum"), 1);
      ADD_FAILURE() << "sent";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("producerOnlyMode"), std::string::npos) << e.what();
    }
    producer_only.close();

    // Nobody listens there: connecting fails within connectTimeout.
    client_proxy down(
        ex,
        kafka::client(options_from<client_options>("kafka://127.0.0.1:1/?connectTimeout=1000")));
    try {
      co_await down.connect();
      ADD_FAILURE() << "connected";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("no broker answered"), std::string::npos) << e.what();
    }
    down.close();
  });
}

}  // namespace
}  // namespace roost::kafka::test
