// A broker killed (SIGKILL) and restarted under load, on the at-least-once setting of each
// broker transport, with a broker of the test's own (a free port and a data directory of its
// own: the shared brokers are never touched). Eight roost emitters publish numbered events to
// one roost server while the broker dies and comes back; both ends count:
//   - every emit ends (none hangs): it succeeds or fails with an error, within a bound;
//   - client and server reconnect by themselves: emits succeed again and reach the handler;
//   - every event whose emit succeeded reaches the handler (none lost) where the broker
//     acknowledged it before the emit completed (Redis Streams: XADD's reply, the broker
//     writing its append-only file before answering); on NATS, where an emit completes once
//     the client library holds the message (core NATS publish, not a JetStream publish with
//     its acknowledgement), what was lost is counted and reported, not required to be zero
//     (a few of those published as the broker died are, in the slower sanitized runs);
//     the same on MQTT (QoS 1, a persistent broker and session), where mosquitto saves its
//     state in the background rather than before its PUBACK;
//   - what came twice (redelivered) is counted.
// Each case prints one line of figures (docs/reliability.md); with ROOST_RELIABILITY_OUT set
// it also appends them to that file.

#include <roost/roost.hpp>
#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>
#include <roost/transports.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace roost::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using roost::testing::eventually;
using roost::testing::pause_for;

// A data directory of the case's own, removed at the end.
struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(const std::string& what)
      : path(std::filesystem::temp_directory_path() /
             ("roost-faults-" + what + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct figures {
  int emitted = 0;      // emits that ended, either way
  int acked = 0;        // emits that succeeded
  int failed = 0;       // emits that failed (with an error)
  int received = 0;     // distinct events the handler got
  int lost = 0;         // succeeded, never handled
  int redelivered = 0;  // handled more than once (extra deliveries)
  long longest_emit_ms = 0;
  std::string first_error;
};

std::unique_ptr<server_transport> server_of(const std::string& text) {
  auto u = url::parse(text);
  if (!u) throw std::runtime_error("bad URL " + text);
  auto t = make_server(*u);
  if (!t) throw std::runtime_error("no server for " + text);
  return std::move(*t);
}

std::unique_ptr<client_transport> client_of(const std::string& text) {
  auto u = url::parse(text);
  if (!u) throw std::runtime_error("bad URL " + text);
  auto t = make_client(*u);
  if (!t) throw std::runtime_error("no client for " + text);
  return std::move(*t);
}

// The run: load, the broker killed once 200 events have been acknowledged and started again
// 300 ms later, load until 200 more have been, then every acknowledged event awaited.
// `settle`: how long to wait for acknowledged events still to come (redeliveries included).
figures kill_mid_load(roost::testing::broker_process& broker, const std::string& server_url,
                      const std::string& client_url, std::chrono::seconds settle) {
  figures f;
  std::mutex m;
  std::set<int> handled;
  int deliveries = 0;
  router r;
  r.event("faults.tally", [&](int n) {
    std::lock_guard lock(m);
    handled.insert(n);
    ++deliveries;
  });
  testing::run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        microservice app(r, testing::app_options());
        app.add_transport(server_of(server_url));
        co_await app.start();
        client_proxy c(ex, client_of(client_url));
        co_await c.connect();

        std::set<int> acked;
        std::atomic<bool> stop{false};
        // The emitters run on the test's executor; the handler on the service's.
        std::atomic<int> next{0}, running{0};
        for (int k = 0; k < 8; ++k) {
          ++running;
          asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                while (!stop) {
                  const int n = next++;
                  const auto t0 = std::chrono::steady_clock::now();
                  std::string error;
                  try {
                    co_await c.emit("faults.tally", n);
                  } catch (const std::exception& e) {
                    error = e.what();
                  }
                  const long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - t0)
                                      .count();
                  bool failed = false;
                  {
                    std::lock_guard lock(m);
                    f.longest_emit_ms = std::max(f.longest_emit_ms, ms);
                    ++f.emitted;
                    if (error.empty()) {
                      acked.insert(n);
                    } else {
                      failed = true;
                      ++f.failed;
                      if (f.first_error.empty()) f.first_error = error;
                    }
                  }
                  // Paced (an emit may complete without waiting for the broker: a client
                  // library that buffers), and slower after a failure: the broker is coming
                  // back.
                  co_await pause_for(failed ? 20ms : 1ms);
                }
                --running;
              },
              asio::detached);
        }
        auto acked_count = [&] {
          std::lock_guard lock(m);
          return static_cast<int>(acked.size());
        };
        const bool loaded = co_await eventually([&] { return acked_count() >= 200; }, 10s);
        EXPECT_TRUE(loaded) << "no load before the kill";
        broker.stop();
        co_await pause_for(300ms);
        broker.start();
        const int at_restart = acked_count();
        const bool resumed =
            co_await eventually([&] { return acked_count() >= at_restart + 200; }, 20s);
        EXPECT_TRUE(resumed) << "emits did not succeed again after the restart";
        stop = true;
        const bool ended = co_await eventually([&] { return running == 0; }, 20s);
        EXPECT_TRUE(ended) << running.load() << " emitters still waiting on an emit";
        // Everything acknowledged comes, unless lost; an entry the server had in hand when the
        // broker died comes again once it is claimed.
        auto missing = [&] {
          std::lock_guard lock(m);
          return static_cast<int>(std::count_if(acked.begin(), acked.end(),
                                                [&](int n) { return !handled.contains(n); }));
        };
        (void)co_await eventually([&] { return missing() == 0; }, settle, 50ms);
        f.lost = missing();
        {
          std::lock_guard lock(m);
          f.acked = static_cast<int>(acked.size());
          f.received = static_cast<int>(handled.size());
          f.redelivered = deliveries - f.received;
          // What the handler got was emitted: nothing made up, nothing out of range.
          for (int n : handled) EXPECT_TRUE(n >= 0 && n < next.load()) << n;
        }
        c.close();
        co_await app.shutdown();
      },
      90s);
  return f;
}

void report(const std::string& setting, const figures& f) {
  std::printf(
      "broker_faults %s: emitted %d, acknowledged %d, failed %d, handled %d, lost %d, "
      "redelivered %d, longest emit %ld ms%s%s\n",
      setting.c_str(), f.emitted, f.acked, f.failed, f.received, f.lost, f.redelivered,
      f.longest_emit_ms, f.first_error.empty() ? "" : "; first error: ", f.first_error.c_str());
  if (const char* out = std::getenv("ROOST_RELIABILITY_OUT")) {
    char date[16];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::ofstream o(out, std::ios::app);
    o << date << '\t' << setting << '\t' << f.emitted << '\t' << f.acked << '\t' << f.failed << '\t'
      << f.received << '\t' << f.lost << '\t' << f.redelivered << '\t' << f.longest_emit_ms << '\n';
  }
}

#ifdef ROOST_FAULTS_REDIS_SERVER
TEST(broker_faults, redis_streams_kill_mid_load_loses_nothing_acknowledged) {
  scratch_dir dir("redis");
  const auto port = testing::free_port();
  // The append-only file written before each reply: what XADD acknowledged survives a kill.
  testing::broker_process broker(
      ROOST_FAULTS_REDIS_SERVER,
      {"--bind", "127.0.0.1", "--port", std::to_string(port), "--save", "", "--appendonly", "yes",
       "--appendfsync", "always", "--dir", dir.path.string()},
      port);
  const std::string base = "redis://127.0.0.1:" + std::to_string(port) +
                           "/?streams=true&retryAttempts=1000000&retryDelay=50&connectTimeout=1000";
  const auto f =
      kill_mid_load(broker, base + "&group=faults&consumer=one&claimIdle=500&block=100", base, 15s);
  report("redis_streams", f);
  EXPECT_GE(f.acked, 400);
  EXPECT_EQ(f.lost, 0);
  EXPECT_LT(f.longest_emit_ms, 10'000);
}
#endif

#ifdef ROOST_FAULTS_NATS_SERVER
TEST(broker_faults, nats_jetstream_kill_mid_load_recovers_and_counts_what_is_lost) {
  scratch_dir dir("nats");
  const auto port = testing::free_port();
  testing::broker_process broker(
      ROOST_FAULTS_NATS_SERVER,
      {"-a", "127.0.0.1", "-p", std::to_string(port), "-js", "-sd", dir.path.string()}, port);
  const std::string base = "nats://127.0.0.1:" + std::to_string(port) +
                           "/?reconnectTimeWait=50&maxReconnectAttempts=-1&connectTimeout=1000";
  const auto f = kill_mid_load(broker, base + "&jetstream=FAULTS&durable=faults&ackWait=1000", base,
                               3s);  // redeliveries come within ackWait; what is lost never comes
  report("nats_jetstream", f);
  EXPECT_GE(f.acked, 400);
  EXPECT_LT(f.longest_emit_ms, 10'000);
}
#endif

#ifdef ROOST_FAULTS_MOSQUITTO
TEST(broker_faults, mqtt_qos1_kill_mid_load_recovers_and_counts_what_is_lost) {
  scratch_dir dir("mqtt");
  const auto port = testing::free_port();
  // A persistent broker (saved after every change, as often as it allows) and a persistent
  // session for the server: what a durable MQTT setting can be. mosquitto saves in the
  // background, not before its PUBACK, so what a kill loses is counted, not required to be 0.
  const auto conf = dir.path / "mosquitto.conf";
  {
    std::ofstream o(conf);
    o << "listener " << port << " 127.0.0.1\nallow_anonymous true\npersistence true\n"
      << "persistence_location " << dir.path.string() << "/\nautosave_interval 1\n"
      << "autosave_on_changes true\n";
  }
  testing::broker_process broker(ROOST_FAULTS_MOSQUITTO, {"-c", conf.string()}, port);
  const std::string base = "mqtt://127.0.0.1:" + std::to_string(port) +
                           "/?protocolVersion=5&qos=1&reconnectPeriod=50&connectTimeout=1000";
  const auto f = kill_mid_load(
      broker, base + "&clean=false&clientId=roost-faults-" + std::to_string(::getpid()), base, 3s);
  report("mqtt_qos1", f);
  EXPECT_GE(f.acked, 400);
  EXPECT_LT(f.longest_emit_ms, 10'000);
}
#endif

}  // namespace
}  // namespace roost::test
