// The MQTT transport against a real mosquitto (ROOST_MQTT_URL; scripts/brokers.sh starts one),
// over MQTT 3.1.1 and 5. Each test uses topics under a prefix of its own, so tests may share
// the broker and run in parallel. The reconnection test starts a private mosquitto on a free
// port, which it stops and starts again.
// GCC 12: no co_await inside call arguments or conditions, and no owning temporaries in a
// co_await full-expression (see docs/contributing.md).

#include <roost/mqtt.hpp>

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/testing/url_options.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace roost::mqtt::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string broker_url() {
  return roost::testing::broker_url("ROOST_MQTT_URL");
}

// A topic prefix no other test (or run) uses.
std::string unique_prefix(std::string_view test) {
  return "roost-test/" + roost::testing::unique_number() + "-" + std::string(test) + "/";
}

using roost::testing::with_query;

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

using roost::testing::eventually;
using roost::testing::free_port;
using roost::testing::wait_until;

using roost::testing::app_options;

// A mosquitto of this test's own on 127.0.0.1:port (it stops and starts it).
class private_broker : public roost::testing::broker_process {
 public:
  explicit private_broker(std::uint16_t port)
      : broker_process(ROOST_MOSQUITTO_COMMAND, {"-p", std::to_string(port)}, port) {}

  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port()); }
};

// A plain libmosquitto client on the library's own thread, for exact topics, bytes and
// properties, as a NestJS peer sees them.
class raw_mqtt {
 public:
  struct received {
    std::string topic;
    std::string payload;
    std::vector<std::pair<std::string, std::string>> user_properties;
  };

  raw_mqtt(const std::string& text_url, bool v5) {
    auto u = url::parse(text_url);
    if (!u) throw std::runtime_error("bad url " + text_url);
    mosquitto_lib_init();
    m_ = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_message_v5_callback_set(m_, &raw_mqtt::on_message);
    mosquitto_subscribe_v5_callback_set(
        m_, [](mosquitto*, void* self, int, int, const int*, const mosquitto_property*) {
          ++static_cast<raw_mqtt*>(self)->subacks_;
        });
    if (mosquitto_connect(m_, u->host.c_str(), u->port.value_or(1883), 60) != MOSQ_ERR_SUCCESS) {
      throw std::runtime_error("raw connection failed");
    }
    mosquitto_loop_start(m_);
  }
  ~raw_mqtt() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }

  void subscribe(const std::string& filter) {
    const int before = subacks_.load();
    mosquitto_subscribe(m_, nullptr, filter.c_str(), 0);
    if (!wait_until([&] { return subacks_.load() > before; })) {
      throw std::runtime_error("raw subscribe failed");
    }
  }
  void publish(const std::string& topic, const std::string& payload,
               std::vector<std::pair<std::string, std::string>> props = {}) {
    mosquitto_property* list = nullptr;
    for (const auto& [k, v] : props) {
      mosquitto_property_add_string_pair(&list, MQTT_PROP_USER_PROPERTY, k.c_str(), v.c_str());
    }
    mosquitto_publish_v5(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                         payload.data(), 0, false, list);
    mosquitto_property_free_all(&list);
  }
  // The first message `pred` takes, waiting for it up to 10 s (without blocking the
  // executor, which the service may share); nullopt when none came.
  awaitable<std::optional<received>> find(std::function<bool(const received&)> pred,
                                          milliseconds timeout = 10s) {
    std::optional<received> found;
    auto seen = [&] {
      std::lock_guard lock(mutex_);
      for (const auto& r : got_) {
        if (pred(r)) {
          found = r;
          return true;
        }
      }
      return false;
    };
    co_await eventually(seen, timeout);
    co_return found;
  }
  awaitable<std::optional<received>> on(std::string topic) {
    auto f = find([topic](const received& r) { return r.topic == topic; });
    co_return co_await std::move(f);
  }

 private:
  static void on_message(mosquitto*, void* self, const mosquitto_message* m,
                         const mosquitto_property* props) {
    received r;
    r.topic = m->topic;
    r.payload.assign(static_cast<const char*>(m->payload), m->payloadlen);
    for (const auto* p = props; p; p = mosquitto_property_next(p)) {
      char* k = nullptr;
      char* v = nullptr;
      if (mosquitto_property_identifier(p) == MQTT_PROP_USER_PROPERTY &&
          mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &k, &v, false)) {
        r.user_properties.emplace_back(k, v);
      }
      std::free(k);
      std::free(v);
    }
    auto* s = static_cast<raw_mqtt*>(self);
    std::lock_guard lock(s->mutex_);
    s->got_.push_back(std::move(r));
  }

  mosquitto* m_ = nullptr;
  std::atomic<int> subacks_{0};
  std::mutex mutex_;
  std::vector<received> got_;
};

struct service_state {
  std::atomic<int> events{0};
  std::mutex mutex;
  std::vector<std::string> seen;
  void record(std::string s) {
    std::lock_guard lock(mutex);
    seen.push_back(std::move(s));
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

// A pattern: the prefix and a name.
json::value topic_of(const std::string& prefix, std::string_view name) {
  return json::string(prefix + std::string(name));
}

router make_router(const std::string& p, service_state& st) {
  router r;
  r.message(topic_of(p, "sum"),
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(json::value{{"cmd", p + "sum"}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(topic_of(p, "count"), [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message(topic_of(p, "boom"), []() -> int { throw rpc_exception("bad thing"); });
  // A wildcard handler: answers on the concrete topic.
  r.message(topic_of(p, "sensors/+/temp"),
            [](json::value, mqtt::context& ctx) { return ctx.topic(); });
  // Subscribed with QoS 1 whatever the server's QoS (NestJS's extras.qos).
  r.message(
      topic_of(p, "qos1"), [](json::value, mqtt::context& ctx) { return ctx.qos(); },
      json::object{{"qos", 1}});
  r.message(topic_of(p, "whoami"), [](json::value, mqtt::context& ctx) {
    json::object o;
    for (const auto& [k, v] : ctx.headers()) {
      // A repeated name (MQTT 5 allows it): its values joined, in order.
      auto* seen = o.if_contains(k);
      o[k] = seen ? json::string(std::string(seen->as_string()) + "," + v) : json::string(v);
    }
    o["transport"] = std::string(ctx.transport());
    o["topic"] = ctx.topic();
    o["qos"] = ctx.qos();
    o["retain"] = ctx.retain();
    return o;
  });
  r.event(topic_of(p, "note"), [&st](json::value v, mqtt::context& ctx) {
    st.record(json::serialize(v) + " " + json::serialize(ctx.pattern()));
    ++st.events;
  });
  return r;
}

// Over MQTT 3.1.1 (protocolVersion 4) and 5.
class mqtt_broker : public ::testing::TestWithParam<int> {
 protected:
  std::string base = broker_url();
  std::string prefix =
      unique_prefix(::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string url = with_query(base, "protocolVersion=" + std::to_string(GetParam()));
  bool v5 = GetParam() == 5;
  service_state st;
  router r = make_router(prefix, st);
};

TEST_P(mqtt_broker, send_stream_emit_errors_and_wildcards) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));

    const std::vector<double> xs{1, 2, 3};
    const double sum = co_await c.send<double>(topic_of(prefix, "sum"), xs);
    EXPECT_EQ(sum, 6);
    // An object pattern: its normalized route is the topic.
    const json::value by_object = {{"role", "math"}, {"cmd", prefix + "sum"}};
    const double by_object_sum = co_await c.send<double>(by_object, xs);
    EXPECT_EQ(by_object_sum, 6);

    auto counter = c.stream<int>(topic_of(prefix, "count"), 200);
    int next = 0;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      EXPECT_EQ(*v, next++);
    }
    EXPECT_EQ(next, 200);

    try {
      (void)co_await c.send<int>(topic_of(prefix, "boom"), 0);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(json::serialize(e.error()), R"({"status":"error","message":"bad thing"})");
    }

    // QoS: the lower of the message's and the subscription's (the server's 0, or a handler's).
    call_options qos1;
    qos1.record = mqtt::record{.qos = 1};
    const int delivered = co_await c.send<int>(topic_of(prefix, "qos1"), 0, qos1);
    EXPECT_EQ(delivered, 1);
    const json::value who = co_await c.send<json::value>(topic_of(prefix, "whoami"), 0, qos1);
    EXPECT_EQ(who.at("qos"), 0);

    const std::string topic = co_await c.send<std::string>(topic_of(prefix, "sensors/7/temp"), 21);
    EXPECT_EQ(topic, prefix + "sensors/7/temp");

    for (int i = 0; i < 50; ++i) co_await c.emit(topic_of(prefix, "note"), i);
    const bool got = co_await eventually([&] { return st.events.load() == 50; });
    EXPECT_TRUE(got);
    std::vector<std::string> want;
    for (int i = 0; i < 50; ++i) want.push_back(std::to_string(i) + " \"" + prefix + "note\"");
    EXPECT_EQ(st.all(), want);  // one topic, one subscriber: in order
    EXPECT_EQ(c.pending(), 0u);
    c.close();
    co_await app.shutdown();
  });
}

// Many requests in flight on one client share the reply topic's subscription; each reply
// finds its call by the id in its body.
TEST_P(mqtt_broker, concurrent_requests_match_their_replies) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
    std::atomic<int> right{0}, done{0};
    for (int i = 0; i < 300; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> awaitable<void> {
            const std::vector<double> xs{static_cast<double>(i), 1};
            const double v = co_await c.send<double>(topic_of(prefix, "sum"), xs);
            if (v == i + 1) ++right;
            ++done;
          },
          asio::detached);
    }
    const bool all = co_await eventually([&] { return done.load() == 300; });
    EXPECT_TRUE(all);
    EXPECT_EQ(right, 300);
    // Done with: the next call subscribes again, and is answered.
    const std::vector<double> one{1};
    const double again = co_await c.send<double>(topic_of(prefix, "sum"), one);
    EXPECT_EQ(again, 1);
    co_await app.shutdown();
  });
}

// What goes on the wire, as a NestJS peer sees it.
TEST_P(mqtt_broker, exact_topics_and_bytes) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(url)));
    co_await app.start();
    raw_mqtt raw(base, v5);
    raw.subscribe(prefix + "#");
    // A request, as NestJS's client writes it: the reply on the topic + /reply, id last.
    raw.publish(prefix + "sum", R"({"pattern":")" + prefix + R"(sum","data":[1,2],"id":"x1"})");
    auto wait_reply = raw.on(prefix + "sum/reply");
    auto reply = co_await std::move(wait_reply);
    EXPECT_TRUE(reply);
    if (reply) {
      EXPECT_EQ(reply->payload, R"({"response":3,"isDisposed":true,"id":"x1"})");
    }
    // A wildcard handler answers on the concrete topic.
    raw.publish(prefix + "sensors/42/temp",
                R"({"pattern":")" + prefix + R"(sensors/42/temp","data":1,"id":"x2"})");
    auto wait_concrete = raw.on(prefix + "sensors/42/temp/reply");
    auto concrete = co_await std::move(wait_concrete);
    EXPECT_TRUE(concrete);
    if (concrete) {
      EXPECT_EQ(concrete->payload,
                R"({"response":")" + prefix + R"(sensors/42/temp","isDisposed":true,"id":"x2"})");
    }
    // Not JSON: an external event, its data the text, its pattern the topic (as NestJS).
    raw.publish(prefix + "note", "hello");
    const bool noted = co_await eventually([&] { return st.events.load() == 1; });
    EXPECT_TRUE(noted);
    EXPECT_EQ(st.all(), std::vector<std::string>{"\"hello\" \"" + prefix + "note\""});

    // And the roost client's request, as a NestJS server sees it.
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
    const std::vector<double> xs{2, 2};
    const double four = co_await c.send<double>(topic_of(prefix, "sum"), xs);
    EXPECT_EQ(four, 4);
    auto wait_request = raw.find([&](const raw_mqtt::received& m) {
      return m.topic == prefix + "sum" && m.payload.find("[2,2]") != std::string::npos;
    });
    auto request = co_await std::move(wait_request);
    EXPECT_TRUE(request);
    if (request) {
      const std::string head = R"({"pattern":")" + prefix + R"(sum","data":[2,2],"id":")";
      EXPECT_EQ(request->payload.substr(0, head.size()), head) << request->payload;
      EXPECT_TRUE(request->payload.ends_with("\"}")) << request->payload;
    }
    co_await c.emit(topic_of(prefix, "note"), 7);
    auto wait_event = raw.find([&](const raw_mqtt::received& m) {
      return m.topic == prefix + "note" && m.payload != "hello";
    });
    auto event = co_await std::move(wait_event);
    EXPECT_TRUE(event);
    if (event) {
      EXPECT_EQ(event->payload, R"({"pattern":")" + prefix + R"(note","data":7})");
    }
    co_await app.shutdown();
  });
}

// A call's headers reach the handler: as MQTT 5 user properties (with the client's own and a
// record's), or over 3.1.1 in the body as NestJS 12 metadata. A raw MQTT 5 peer's user
// properties are the context's headers too.
TEST_P(mqtt_broker, headers_both_ways) {
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    // Subscribed with QoS 1: a message published with QoS 1 is delivered with it.
    app.add_transport(mqtt::server(options_from<server_options>(with_query(url, "qos=1"))));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(
        ex, mqtt::client(options_from<client_options>(with_query(url, "userProperties.x-v=1"))));
    call_options o;
    o.headers.add("authorization", "Bearer t");
    mqtt::record rec;
    rec.qos = 1;
    rec.user_properties.add("x-record", "r");
    o.record = rec;
    const json::value who = co_await c.send<json::value>(topic_of(prefix, "whoami"), 0, o);
    const auto& w = who.as_object();
    EXPECT_EQ(w.at("transport"), "mqtt");
    EXPECT_EQ(w.at("topic"), json::value(json::string(prefix + "whoami")));
    EXPECT_EQ(w.at("authorization"), "Bearer t");
    if (v5) {
      EXPECT_EQ(w.at("qos"), 1);  // the record's
      EXPECT_EQ(w.at("x-v"), "1");
      EXPECT_EQ(w.at("x-record"), "r");
    } else {
      EXPECT_EQ(w.at("qos"), 1);
      EXPECT_FALSE(w.contains("x-v"));  // no user properties over 3.1.1
    }
    if (v5) {
      raw_mqtt raw(base, true);
      raw.subscribe(prefix + "whoami/reply");
      raw.publish(prefix + "whoami", R"({"pattern":")" + prefix + R"(whoami","data":0,"id":"h1"})",
                  {{"tenant", "t1"}, {"tenant", "t2"}});
      auto wait_reply = raw.on(prefix + "whoami/reply");
      auto reply = co_await std::move(wait_reply);
      EXPECT_TRUE(reply);
      if (reply) {
        EXPECT_NE(reply->payload.find(R"("tenant":"t1,t2")"), std::string::npos) << reply->payload;
        EXPECT_TRUE(reply->user_properties.empty());  // NestJS's replies carry none
      }
    }
    co_await app.shutdown();
  });
}

// `$share/GROUP/` handlers: two services share the topic's events, each served once.
TEST_P(mqtt_broker, shared_subscription_splits_the_work) {
  testing::run([&]() -> awaitable<void> {
    std::random_device rd;
    const std::string shared =
        "$share/g" + std::to_string(rd() % 1'000'000) + "/" + prefix + "jobs";
    std::atomic<int> a{0}, b{0};
    router ra, rb;
    ra.event(json::string(shared), [&a](int) { ++a; });
    rb.event(json::string(shared), [&b](int) { ++b; });
    microservice app_a(ra, app_options()), app_b(rb, app_options());
    app_a.add_transport(mqtt::server(options_from<server_options>(url)));
    app_b.add_transport(mqtt::server(options_from<server_options>(url)));
    co_await app_a.start();
    co_await app_b.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
    for (int i = 0; i < 40; ++i) co_await c.emit(topic_of(prefix, "jobs"), i);
    const bool all = co_await eventually([&] { return a.load() + b.load() == 40; });
    EXPECT_TRUE(all);
    EXPECT_GT(a.load(), 0);
    EXPECT_GT(b.load(), 0);
    const bool no_more = co_await eventually([&] { return a.load() + b.load() > 40; }, 200ms);
    EXPECT_FALSE(no_more);  // each event once
    co_await app_a.shutdown();
    co_await app_b.shutdown();

    // The same with the server option: plain handlers, every topic subscribed in the group.
    std::atomic<int> c1{0}, c2{0};
    router r1, r2;
    r1.event(topic_of(prefix, "work"), [&c1](int) { ++c1; });
    r2.event(topic_of(prefix, "work"), [&c2](int) { ++c2; });
    const std::string group_url = with_query(url, "share=w" + std::to_string(rd() % 1'000'000));
    microservice app_1(r1, app_options()), app_2(r2, app_options());
    app_1.add_transport(mqtt::server(options_from<server_options>(group_url)));
    app_2.add_transport(mqtt::server(options_from<server_options>(group_url)));
    co_await app_1.start();
    co_await app_2.start();
    for (int i = 0; i < 40; ++i) co_await c.emit(topic_of(prefix, "work"), i);
    const bool shared_all = co_await eventually([&] { return c1.load() + c2.load() == 40; });
    EXPECT_TRUE(shared_all);
    EXPECT_GT(c1.load(), 0);
    EXPECT_GT(c2.load(), 0);
    co_await app_1.shutdown();
    co_await app_2.shutdown();
  });
}

// With QoS 1 and a persistent session (a fixed client id, clean=false), a server killed in the
// middle of its handler: libmosquitto acknowledged the message when it read it, before the
// handler ran, so the broker does not deliver it again (the documented limit); the session
// itself is kept (over MQTT 3.1.1), so an event published while no server was connected is
// delivered when one with the same client id comes back. Over MQTT 5 the session ends with the
// connection (libmosquitto cannot send a session expiry interval when connecting without
// blocking), so that one is not kept either.
TEST_P(mqtt_broker, killed_mid_handler) {
  std::random_device rd;
  const std::string id = "roost-victim-" + std::to_string(rd() % 1'000'000'000);
  const std::string session_url = with_query(url, "clientId=" + id + "&clean=false&qos=1");
  const std::string topic = prefix + "work";
  const json::value pattern = json::string(topic);
  const std::string mark = (std::filesystem::temp_directory_path() / (id + "-mark")).string();
  // The server to kill is a program of its own (victim_server.cpp), started as a child.
  std::string victim = ROOST_MQTT_VICTIM_SERVER, url_arg = session_url, topic_arg = topic,
              mark_arg = mark;
  char* argv[] = {victim.data(), url_arg.data(), topic_arg.data(), mark_arg.data(), nullptr};
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, victim.c_str(), nullptr, nullptr, argv, environ), 0);
  std::mutex mutex;
  std::vector<std::string> bodies;
  router rr;
  rr.event(json::string(topic), [&](json::value v) {
    std::lock_guard lock(mutex);
    bodies.push_back(json::serialize(v));
  });
  const auto received = [&] {
    std::lock_guard lock(mutex);
    return bodies;
  };
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
        call_options qos1;
        qos1.record = mqtt::record{.qos = 1};
        const bool ready =
            co_await eventually([&] { return std::filesystem::exists(mark + ".ready"); }, 30s);
        EXPECT_TRUE(ready) << "the child never started";
        const json::value first = {{"n", 1}};
        co_await c.emit(pattern, first, qos1);
        const bool handling =
            co_await eventually([&] { return std::filesystem::exists(mark + ".handling"); }, 30s);
        EXPECT_TRUE(handling) << "the child never handled the event";
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        // The broker acknowledges it at once: it keeps it for the session, if it keeps that.
        const json::value second = {{"n", 2}};
        co_await c.emit(pattern, second, qos1);

        microservice app(rr, app_options());
        app.add_transport(mqtt::server(options_from<server_options>(session_url)));
        co_await app.start();
        const json::value third = {{"n", 3}};
        co_await c.emit(pattern, third, qos1);
        const bool live = co_await eventually([&] { return !received().empty(); });
        EXPECT_TRUE(live);
        co_await eventually([&] { return received().size() > 2; }, 500ms);
        const std::vector<std::string> kept{R"({"n":2})", R"({"n":3})"};
        const std::vector<std::string> lost{R"({"n":3})"};
        EXPECT_EQ(received(), v5 ? lost : kept);
        c.close();
        co_await app.shutdown();
        // The session goes: a clean connection with its id ends it on the shared broker.
        client_proxy cleaner(ex, mqtt::client(options_from<client_options>(
                                     with_query(url, "clientId=" + id + "&clean=true"))));
        const json::value bye = json::string(prefix + "bye"), nothing;
        co_await cleaner.emit(bye, nothing);
        cleaner.close();
      },
      60s);
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::filesystem::remove(mark + ".ready");
  std::filesystem::remove(mark + ".handling");
}

// Under load: two servers of one group (`share=`, QoS 1 both ways) share 2,000 requests made
// 64 at a time; every request is answered once, with its own value, and both servers work.
TEST_P(mqtt_broker, shared_subscription_under_load) {
  std::random_device rd;
  const std::string group_url =
      with_query(url, "share=load" + std::to_string(rd() % 1'000'000) + "&qos=1");
  std::array<std::atomic<int>, 2> served{};
  std::array<router, 2> routers;
  for (std::size_t i = 0; i < 2; ++i) {
    routers[i].message(topic_of(prefix, "double"), [&served, i](int n) {
      ++served[i];
      return 2 * n;
    });
  }
  constexpr int total = 2000, callers = 64;
  std::atomic<int> ok{0}, bad{0}, done{0};
  testing::run(
      [&]() -> awaitable<void> {
        microservice a(routers[0], app_options()), b(routers[1], app_options());
        a.add_transport(mqtt::server(options_from<server_options>(group_url)));
        b.add_transport(mqtt::server(options_from<server_options>(group_url)));
        co_await a.start();
        co_await b.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, mqtt::client(options_from<client_options>(with_query(url, "qos=1"))));
        const json::value pattern = topic_of(prefix, "double");
        auto caller = [&](int first) -> awaitable<void> {
          for (int n = first; n < total; n += callers) {
            bool right = false;
            try {
              const int v = co_await c.send<int>(pattern, n);
              right = v == 2 * n;
            } catch (const std::exception&) {
            }
            ++(right ? ok : bad);
          }
          ++done;
        };
        for (int i = 0; i < callers; ++i) asio::co_spawn(ex, caller(i), asio::detached);
        const bool all = co_await eventually([&] { return done.load() == callers; }, 60s);
        EXPECT_TRUE(all);
        EXPECT_EQ(ok.load(), total);
        EXPECT_EQ(bad.load(), 0);
        EXPECT_EQ(served[0].load() + served[1].load(), total);  // each request served once
        EXPECT_GT(served[0].load(), 0);
        EXPECT_GT(served[1].load(), 0);
        co_await a.shutdown();
        co_await b.shutdown();
      },
      90s);
}

// The last will: published by the broker for a server killed (SIGKILL), with its user
// properties over MQTT 5; not for a client closed as it should be.
TEST_P(mqtt_broker, last_will_when_killed_not_when_closed) {
  raw_mqtt watcher(base, v5);
  watcher.subscribe(prefix + "will/#");
  std::string will_query = "will.topic=" + prefix + "will/killed&will.payload=gone&will.qos=1";
  if (v5) will_query += "&will.userProperties.reason=crash";
  const std::string victim_url = with_query(url, will_query);
  std::random_device rd;
  const std::string mark = (std::filesystem::temp_directory_path() /
                            ("roost-will-" + std::to_string(rd() % 1'000'000'000) + "-mark"))
                               .string();
  std::string victim = ROOST_MQTT_VICTIM_SERVER, url_arg = victim_url,
              topic_arg = prefix + "unused", mark_arg = mark;
  char* argv[] = {victim.data(), url_arg.data(), topic_arg.data(), mark_arg.data(), nullptr};
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    // Closed: DISCONNECT, and no will.
    client_proxy closed(ex, mqtt::client(options_from<client_options>(
                                with_query(url, "will.topic=" + prefix + "will/closed"))));
    co_await closed.connect();
    closed.close();

    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, victim.c_str(), nullptr, nullptr, argv, environ), 0);
    const bool ready =
        co_await eventually([&] { return std::filesystem::exists(mark + ".ready"); }, 30s);
    EXPECT_TRUE(ready) << "the child never started";
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    auto will = co_await watcher.on(prefix + "will/killed");
    EXPECT_TRUE(will.has_value()) << "no last will";
    EXPECT_EQ(will ? will->payload : "", "gone");
    if (will && v5) {
      const std::vector<std::pair<std::string, std::string>> props{{"reason", "crash"}};
      EXPECT_EQ(will->user_properties, props);
    }
    // The closed client's would have come first.
    auto none = co_await watcher.find(
        [&](const raw_mqtt::received& r) { return r.topic == prefix + "will/closed"; }, 100ms);
    EXPECT_FALSE(none.has_value()) << "a will for a client closed as it should be";
  });
  std::filesystem::remove(mark + ".ready");
}

// A host name is looked up without blocking the executor: `localhost` reaches the broker, a
// name that does not resolve fails `listen()` and a call at once, saying so.
TEST(mqtt_names, looked_up_or_said_why_not) {
  std::string named = broker_url();
  const auto at = named.find("127.0.0.1");
  ASSERT_NE(at, std::string::npos) << named;
  named.replace(at, 9, "localhost");
  std::string unknown = named;
  unknown.replace(at, 9, "nonexistent.invalid");
  router r;
  r.message("roost-names", [](int n) { return n + 1; });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(named)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(named)));
    const int v = co_await c.send<int>("roost-names", 41);
    EXPECT_EQ(v, 42);
    c.close();
    co_await app.shutdown();

    microservice lost(r, app_options());
    lost.add_transport(mqtt::server(options_from<server_options>(unknown)));
    std::string why;
    try {
      co_await lost.start();
    } catch (const connection_error& e) {
      why = e.what();
    }
    EXPECT_NE(why.find("cannot connect to nonexistent.invalid:"), std::string::npos) << why;
    EXPECT_NE(why.find("cannot look up the host"), std::string::npos) << why;
    co_await lost.shutdown();
  });
}

// The broker goes away and comes back: both sides connect again by themselves, the server
// subscribes again, and calls are answered again. The server is ready (/readyz) only while
// its subscriptions hold: not from the loss until the broker granted them again, and an
// event published right when it says ready again is served.
TEST(mqtt_private_broker, reconnects_and_subscribes_again) {
  private_broker broker(free_port());
  const std::string url = broker.url() + "/?protocolVersion=5&reconnectPeriod=100";
  const std::string prefix = unique_prefix("reconnect");
  service_state st;
  router r = make_router(prefix, st);
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        auto& srv = app.add_transport(mqtt::server(options_from<server_options>(url)));
        co_await app.start();
        EXPECT_TRUE(srv.ready());
        EXPECT_TRUE(app.ready());
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
        const std::vector<double> xs{1, 2};
        const double before = co_await c.send<double>(topic_of(prefix, "sum"), xs);
        EXPECT_EQ(before, 3);

        broker.stop();
        EXPECT_TRUE(co_await eventually([&] { return !srv.ready(); }))
            << "still ready with the broker gone";
        EXPECT_FALSE(app.ready());
        broker.start();
        EXPECT_TRUE(co_await eventually([&] { return srv.ready(); }, 15s))
            << "not ready again after the broker came back";
        {
          // A client of its own (the other one may still be reconnecting): its event,
          // published right after ready, reaches the handler.
          client_proxy fresh(ex, mqtt::client(options_from<client_options>(url)));
          co_await fresh.emit(topic_of(prefix, "note"), 1);
          EXPECT_TRUE(co_await eventually([&] { return st.events.load() == 1; }))
              << "an event sent once ready again was not served";
          fresh.close();
        }
        // Calls made while the connections come back may fail; one is answered in the end.
        call_options quick;
        quick.timeout = 500ms;
        double after = 0;
        const auto until = std::chrono::steady_clock::now() + 15s;
        while (after == 0 && std::chrono::steady_clock::now() < until) {
          bool failed = false;
          try {
            after = co_await c.send<double>(topic_of(prefix, "sum"), xs, quick);
          } catch (const std::exception&) {
            failed = true;
          }
          if (failed) {
            asio::steady_timer t(ex, 50ms);
            co_await t.async_wait(asio::use_awaitable);
          }
        }
        EXPECT_EQ(after, 3);
        co_await c.emit(topic_of(prefix, "note"), 1);
        const bool noted = co_await eventually([&] { return st.events.load() == 2; });
        EXPECT_TRUE(noted);
        app.stop();
        EXPECT_FALSE(app.ready());
        co_await app.shutdown();
        EXPECT_FALSE(srv.ready());
      },
      30s);
}

// What one caller of the restart test saw.
struct load_tally {
  std::atomic<int> started{0}, finished{0}, ok{0}, wrong{0}, timeouts{0}, closed{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<std::string> other_errors;
};

// Calls `sum [1,2]` again and again until told to stop; each call has a 2 s timeout.
awaitable<void> keep_calling(client_proxy& c, json::value pattern, load_tally& t) {
  call_options o;
  o.timeout = 2s;
  const std::vector<double> xs{1, 2};
  while (!t.stop.load()) {
    ++t.started;
    std::string error;
    bool timed_out = false;
    try {
      const double v = co_await c.send<double>(pattern, xs, o);
      ++(v == 3 ? t.ok : t.wrong);
    } catch (const timeout_error&) {
      timed_out = true;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (timed_out) ++t.timeouts;
    if (!error.empty()) {
      // A lost connection fails the calls in flight, and those made before it is back.
      if (error.starts_with("Connection closed")) {
        ++t.closed;
      } else {
        std::lock_guard lock(t.mutex);
        t.other_errors.push_back(error);
      }
      co_await testing::pause_for(20ms);  // no busy loop while the broker is away
    }
    ++t.finished;
  }
}

// The broker restarts under load (16 calls in flight): each call completes with the right
// value or fails clearly (the connection closed, or its timeout), none waits for ever; the
// server and the client connect and subscribe again by themselves, and calls succeed again.
TEST(mqtt_private_broker, restart_mid_load) {
  private_broker broker(free_port());
  const std::string url = broker.url() + "/?reconnectPeriod=100";
  const std::string prefix = unique_prefix("restart-load");
  service_state st;
  router r = make_router(prefix, st);
  load_tally t;
  testing::run(
      [&]() -> awaitable<void> {
        microservice app(r, app_options());
        app.add_transport(mqtt::server(options_from<server_options>(url)));
        co_await app.start();
        auto ex = co_await asio::this_coro::executor;
        client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
        for (int i = 0; i < 16; ++i) {
          asio::co_spawn(ex, keep_calling(c, topic_of(prefix, "sum"), t), asio::detached);
        }
        const bool loaded = co_await eventually([&] { return t.ok.load() >= 300; });
        EXPECT_TRUE(loaded) << "no load before the restart: " << t.ok.load();

        broker.stop();
        co_await testing::pause_for(300ms);
        const int ok_during_outage = t.ok.load();
        broker.start();
        const bool again =
            co_await eventually([&] { return t.ok.load() >= ok_during_outage + 300; }, 20s);
        EXPECT_TRUE(again) << "calls did not succeed again after the restart";
        t.stop = true;
        // Every call ends, at the latest by its timeout.
        const bool all_ended =
            co_await eventually([&] { return t.finished.load() == t.started.load(); }, 5s);
        EXPECT_TRUE(all_ended) << t.started.load() - t.finished.load() << " calls never ended";
        EXPECT_EQ(t.wrong.load(), 0);
        EXPECT_GT(t.closed.load(), 0) << "no call in flight failed when the broker went";
        {
          std::lock_guard lock(t.mutex);
          EXPECT_TRUE(t.other_errors.empty()) << t.other_errors.front();
        }
        // Later calls, one at a time, all succeed; the server's events too.
        const std::vector<double> xs{1, 2};
        const json::value sum = topic_of(prefix, "sum");
        for (int i = 0; i < 20; ++i) {
          const double v = co_await c.send<double>(sum, xs);
          EXPECT_EQ(v, 3);
        }
        co_await c.emit(topic_of(prefix, "note"), 1);
        const bool noted = co_await eventually([&] { return st.events.load() == 1; });
        EXPECT_TRUE(noted);
        co_await app.shutdown();
      },
      60s);
}

// ---- mqtts:// against the TLS-only mosquitto, which requires a client certificate
// (ROOST_MQTTS_URL: its CA, and a client certificate it signed).

struct tls_broker {
  std::string host_port, ca, cert, key;
  tls_broker() {
    const char* u = std::getenv("ROOST_MQTTS_URL");
    if (!u || !*u) {
      ADD_FAILURE() << "ROOST_MQTTS_URL is not set (run `bash scripts/brokers.sh start "
                       "mosquittos` and export what `bash scripts/brokers.sh env` prints)";
      throw std::runtime_error("ROOST_MQTTS_URL is not set");
    }
    auto parsed = url::parse(u);
    if (!parsed) throw std::runtime_error("bad ROOST_MQTTS_URL");
    host_port = parsed->host + ":" + std::to_string(parsed->port.value_or(8883));
    ca = parsed->param("ca").value_or("");
    cert = parsed->param("cert").value_or("");
    key = parsed->param("key").value_or("");
  }
  std::string url(const std::string& query) const { return "mqtts://" + host_port + "/?" + query; }
  std::string trusted() const { return "ca=" + ca + "&cert=" + cert + "&key=" + key; }
};

class mqtts_broker : public ::testing::TestWithParam<int> {};

TEST_P(mqtts_broker, requests_and_events_over_tls) {
  const tls_broker b;
  const std::string url = b.url(b.trusted() + "&protocolVersion=" + std::to_string(GetParam()));
  const std::string prefix = unique_prefix("tls");
  service_state st;
  router r = make_router(prefix, st);
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
    const std::vector<double> xs{1, 2, 3};
    const double sum = co_await c.send<double>(topic_of(prefix, "sum"), xs);
    EXPECT_EQ(sum, 6);
    auto counter = c.stream<int>(topic_of(prefix, "count"), 300);
    int next = 0;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      EXPECT_EQ(*v, next++);
    }
    EXPECT_EQ(next, 300);
    // Large enough to take several TLS records.
    const std::string big(200'000, 'x');
    const std::string topic =
        co_await c.send<std::string>(topic_of(prefix, "sensors/big/temp"), big);
    EXPECT_EQ(topic, prefix + "sensors/big/temp");
    for (int i = 0; i < 50; ++i) co_await c.emit(topic_of(prefix, "note"), i);
    const bool got = co_await eventually([&] { return st.events.load() == 50; });
    EXPECT_TRUE(got);
    c.close();
    co_await app.shutdown();
  });
}

// Why a TLS connection cannot be made, as listen() and a client's call say it.
std::string failure_of(const std::string& url) {
  std::string why = "(connected)";
  router r;
  r.message("roost-tls-unused", [](int n) { return n; });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(url + "&connectTimeout=5000")));
    try {
      co_await app.start();
    } catch (const connection_error& e) {
      why = e.what();
    }
    co_await app.shutdown();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url + "&connectTimeout=5000")));
    std::string client_why = "(connected)";
    try {
      (void)co_await c.send<int>("roost-tls-unused", 1);
    } catch (const std::exception& e) {
      client_why = e.what();
    }
    // The client says why too.
    EXPECT_NE(client_why.find("mqtt client: cannot connect to "), std::string::npos) << client_why;
    EXPECT_EQ(client_why.find("TLS: ") == std::string::npos, why.find("TLS: ") == std::string::npos)
        << client_why << " / " << why;
  });
  return why;
}

TEST(mqtts_failures, each_said_clearly) {
  const tls_broker b;
  const std::string client_cert = "&cert=" + b.cert + "&key=" + b.key;
  // A CA that did not sign the broker's certificate (the client's own certificate).
  const std::string untrusted = failure_of(b.url("ca=" + b.cert + client_cert));
  // (The broker sends its CA with its certificate: OpenSSL says "self-signed certificate in
  // certificate chain".)
  EXPECT_NE(untrusted.find("TLS: the broker's certificate is not accepted: self-signed"),
            std::string::npos)
      << untrusted;
  const std::string wrong_name = failure_of(b.url(b.trusted() + "&servername=broker.example.com"));
  EXPECT_NE(wrong_name.find("TLS: the broker's certificate is not accepted: hostname mismatch"),
            std::string::npos)
      << wrong_name;
  const std::string no_client_cert = failure_of(b.url("ca=" + b.ca));
  // The broker's alert, or when the connection went before it could be read, what is known.
  EXPECT_TRUE(no_client_cert.find("TLS: tlsv13 alert certificate required") != std::string::npos ||
              no_client_cert.find("TLS: the broker closed the TLS connection (no client "
                                  "certificate was given") != std::string::npos)
      << no_client_cert;
  const std::string missing = failure_of(b.url("ca=/nonexistent/ca.pem" + client_cert));
  EXPECT_NE(missing.find("cannot read the TLS CA file /nonexistent/ca.pem: No such file"),
            std::string::npos)
      << missing;
  const std::string missing_key =
      failure_of(b.url("ca=" + b.ca + "&cert=" + b.cert + "&key=/nonexistent/client.key"));
  EXPECT_NE(missing_key.find("cannot read the TLS key file /nonexistent/client.key"),
            std::string::npos)
      << missing_key;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The CA, the certificate and the key as PEM text (no file read), and `servername`: the
// broker's certificate names localhost, dialled at 127.0.0.1. Text that is no PEM is refused.
TEST(mqtts_tls, pem_text_and_server_name) {
  const tls_broker b;
  auto with_pem = [&](auto o) {
    o.tls->ca_pem = file_text(b.ca);
    o.tls->cert_pem = file_text(b.cert);
    o.tls->key_pem = file_text(b.key);
    return o;
  };
  const std::string url = b.url("servername=localhost");
  router r;
  r.message("roost-tls-pem", [](int n) { return n + 1; });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(with_pem(options_from<server_options>(url))));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(with_pem(options_from<client_options>(url))));
    const int v = co_await c.send<int>("roost-tls-pem", 41);
    EXPECT_EQ(v, 42);
    c.close();
    co_await app.shutdown();

    auto bad = with_pem(options_from<server_options>(url));
    bad.tls->ca_pem = "not a certificate";
    microservice refused(r, app_options());
    refused.add_transport(mqtt::server(bad));
    std::string why;
    try {
      co_await refused.start();
    } catch (const connection_error& e) {
      why = e.what();
    }
    EXPECT_NE(why.find("TLS: cannot load CA (PEM)"), std::string::npos) << why;
    co_await refused.shutdown();
  });
}

// A TLS server of the test's own (the broker's certificate) that records the name a client
// sends (SNI) in one handshake, then closes: mosquitto does not say which name it was sent.
class sni_recorder {
 public:
  explicit sni_recorder(const tls_broker& b) {
    const std::string dir = b.ca.substr(0, b.ca.rfind('/') + 1);
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx_, (dir + "server.pem").c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, (dir + "server.key").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_tlsext_servername_arg(ctx_, &name_);
    SSL_CTX_set_tlsext_servername_callback(
        ctx_, +[](SSL* ssl, int*, void* name) {
          const char* sent = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
          *static_cast<std::string*>(name) = sent ? sent : "(none)";
          return SSL_TLSEXT_ERR_OK;
        });
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve_one(); });
  }
  ~sni_recorder() {
    if (thread_.joinable()) thread_.join();
    SSL_CTX_free(ctx_);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // What was sent; call once the client gave up.
  std::string name() {
    if (thread_.joinable()) thread_.join();
    return name_;
  }

 private:
  void serve_one() {
    pollfd p{acceptor_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return;
    const int fd = ::accept(acceptor_.native_handle(), nullptr, nullptr);
    if (fd < 0) return;
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    SSL_accept(ssl);
    SSL_free(ssl);
    ::close(fd);
  }
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_{ioc_};
  SSL_CTX* ctx_ = nullptr;
  std::string name_ = "(no handshake)";
  std::thread thread_;
};

// `servername` is the name sent in the handshake (SNI) instead of the host dialled.
TEST(mqtts_tls, server_name_is_sent) {
  const tls_broker b;
  sni_recorder recorder(b);
  const std::string url = "mqtts://127.0.0.1:" + std::to_string(recorder.port()) + "/?" +
                          b.trusted() + "&servername=localhost&connectTimeout=3000";
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
    bool failed = false;
    try {
      co_await c.emit("roost-tls-sni", 1);  // no MQTT behind: it fails
    } catch (const std::exception&) {
      failed = true;
    }
    EXPECT_TRUE(failed);
    c.close();
  });
  EXPECT_EQ(recorder.name(), "localhost");
}

// verify=false: any certificate, any name (tests only); the client certificate still goes.
TEST(mqtts_failures, verify_false_accepts_any_certificate) {
  const tls_broker b;
  const std::string url = b.url("ca=" + b.cert + "&cert=" + b.cert + "&key=" + b.key +
                                "&servername=broker.example.com&verify=false");
  router r;
  r.message("roost-tls-insecure", [](int n) { return n + 1; });
  testing::run([&]() -> awaitable<void> {
    microservice app(r, app_options());
    app.add_transport(mqtt::server(options_from<server_options>(url)));
    co_await app.start();
    auto ex = co_await asio::this_coro::executor;
    client_proxy c(ex, mqtt::client(options_from<client_options>(url)));
    const int v = co_await c.send<int>("roost-tls-insecure", 41);
    EXPECT_EQ(v, 42);
    c.close();
    co_await app.shutdown();
  });
}

INSTANTIATE_TEST_SUITE_P(protocol, mqtts_broker, ::testing::Values(4, 5),
                         [](const auto& info) { return "v" + std::to_string(info.param); });

INSTANTIATE_TEST_SUITE_P(protocol, mqtt_broker, ::testing::Values(4, 5),
                         [](const auto& info) { return "v" + std::to_string(info.param); });

}  // namespace
}  // namespace roost::mqtt::test
