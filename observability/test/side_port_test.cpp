// The side port on loopback: a TCP service with its monitor, called by a client, scraped over
// HTTP as Prometheus would (the text format parsed and checked), probed while it shuts down.

#include <roost/observability/monitor.hpp>
#include <roost/roost.hpp>
#include <roost/tcp.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include "running_service.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace roost::observability {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct http_reply {
  int status = 0;
  std::string head, body;
};

// One request on its own connection, read to its end (the side port closes after
// `Connection: close`).
http_reply http(std::uint16_t port, const std::string& request) {
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  std::string all;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(all), ec);
  http_reply r;
  const auto end = all.find("\r\n\r\n");
  if (all.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.head = all.substr(0, end);
  r.body = all.substr(end + 4);
  return r;
}

http_reply get(std::uint16_t port, const std::string& path, const std::string& method = "GET") {
  return http(port, method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

bool eventually(const std::function<bool()>& pred) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// The text format, read as a scraper does: every sample belongs to a family declared by a
// TYPE line before it, label values unescaped; a histogram's buckets never decrease and its
// +Inf bucket equals its _count. Samples keyed `name{a="x",b="y"}` with labels sorted.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, std::string> types;
  std::map<std::string, double> samples;
  std::map<std::string, double> last_bucket;  // per histogram series, le aside
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      const auto rest = line.substr(7);
      const auto sp = rest.find(' ');
      if (sp == std::string::npos) throw std::runtime_error("bad TYPE: " + line);
      const auto name = rest.substr(0, sp);
      if (types.count(name)) throw std::runtime_error("TYPE twice: " + name);
      types[name] = rest.substr(sp + 1);
      continue;
    }
    if (line.empty() || line[0] == '#') throw std::runtime_error("stray line: " + line);
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    const std::string name = line.substr(0, i);
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line.at(i) != '}') {
        const auto eq = line.find('=', i);
        const auto lname = line.substr(i, eq - i);
        i = eq + 1;
        if (line.at(i) != '"') throw std::runtime_error("unquoted label: " + line);
        ++i;
        std::string value;
        while (line.at(i) != '"') {
          if (line[i] == '\\') {
            const char e = line.at(++i);
            value += e == 'n' ? '\n' : e;
            if (e != 'n' && e != '\\' && e != '"') throw std::runtime_error("bad escape: " + line);
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;
        labels[lname] = value;
        if (line.at(i) == ',') ++i;
      }
      ++i;
    }
    if (line.at(i) != ' ') throw std::runtime_error("no value: " + line);
    const std::string value_text = line.substr(i + 1);
    const double value = value_text == "+Inf" ? INFINITY : std::stod(value_text);
    // The family: the name itself, or a histogram's with its suffix.
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (name.ends_with(suffix)) {
        const auto base = name.substr(0, name.size() - std::string(suffix).size());
        if (types.count(base) && types[base] == "histogram") family = base;
      }
    }
    if (!types.count(family)) throw std::runtime_error("sample before its TYPE: " + line);
    std::string series;
    for (const auto& [k, v] : labels) {
      if (k == "le") continue;
      series += k + "=\"" + v + "\",";
    }
    if (name.ends_with("_bucket") && family != name) {
      if (!labels.count("le")) throw std::runtime_error("bucket without le: " + line);
      auto& prev = last_bucket[family + series];
      if (value < prev) throw std::runtime_error("buckets decrease: " + line);
      prev = value;
      if (labels["le"] == "+Inf") samples[family + "_inf{" + series + "}"] = value;
      continue;
    }
    std::string key = name + "{";
    for (const auto& [k, v] : labels) key += k + "=\"" + v + "\",";
    key += "}";
    samples[key] = value;
  }
  for (const auto& [k, v] : samples) {
    // Each histogram's +Inf bucket counts what its _count does.
    if (const auto at = k.find("_inf{"); at != std::string::npos) {
      const auto count_key = k.substr(0, at) + "_count{" + k.substr(at + 5);
      if (!samples.count(count_key) || samples[count_key] != v) {
        throw std::runtime_error("+Inf bucket differs from _count: " + k);
      }
    }
  }
  return samples;
}

std::string messages(std::string_view kind, std::string_view outcome, std::string_view pattern) {
  return "roost_server_messages_total{kind=\"" + std::string(kind) + "\",outcome=\"" +
         std::string(outcome) + "\",pattern=\"" + std::string(pattern) + "\",transport=\"tcp\",}";
}

// A service on 127.0.0.1 with its monitor, run() on a thread of its own.
using test::running_service;

TEST(side_port, metrics_count_what_the_service_handled) {
  router r;
  r.message("add", [](std::vector<int> xs) { return xs.at(0) + xs.at(1); });
  r.message("refuse", [](int) -> int { throw rpc_exception("no"); });
  r.message("crash", [](int) -> int { throw std::runtime_error("bug"); });
  r.message("secret", [](int x) { return x; });
  r.enhance("secret").use_guard([](context&) { return false; });
  std::atomic<int> noted{0};
  r.event("note", [&](int) { ++noted; });
  running_service svc(r);
  const auto port = svc.watch.port();
  ASSERT_NE(port, 0);
  EXPECT_EQ(get(port, "/healthz").status, 200);
  EXPECT_EQ(get(port, "/readyz").status, 200);

  blocking_client c(tcp::client({.host = "127.0.0.1", .port = svc.tcp.port()}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.send<int>("add", std::vector<int>{i, 1}), i + 1);
  EXPECT_THROW(c.send("refuse", 1), rpc_error);
  EXPECT_THROW(c.send("refuse", 1), rpc_error);
  EXPECT_THROW(c.send("crash", 1), rpc_error);
  EXPECT_THROW(c.send("add", "not numbers"), rpc_error);
  EXPECT_THROW(c.send("secret", 1), rpc_error);
  // Unknown patterns, however many, share one label.
  EXPECT_THROW(c.send("nope-1", 1), rpc_error);
  EXPECT_THROW(c.send("nope-2", 1), rpc_error);
  for (int i = 0; i < 3; ++i) c.emit("note", i);
  ASSERT_TRUE(eventually([&] { return noted == 3; }));
  // The event is counted just after its handler returns.
  ASSERT_TRUE(eventually(
      [&] { return svc.watch.metrics().count("tcp", "note", false, serving_outcome::ok) == 3; }));

  const auto scrape = get(port, "/metrics");
  ASSERT_EQ(scrape.status, 200);
  EXPECT_NE(scrape.head.find("text/plain; version=0.0.4"), std::string::npos);
  std::map<std::string, double> m;
  ASSERT_NO_THROW(m = parse(scrape.body)) << scrape.body;
  EXPECT_EQ(m[messages("request", "ok", "add")], 5) << scrape.body;
  EXPECT_EQ(m[messages("request", "invalid_payload", "add")], 1);
  EXPECT_EQ(m[messages("request", "handler_error", "refuse")], 2);
  EXPECT_EQ(m[messages("request", "internal_error", "crash")], 1);
  EXPECT_EQ(m[messages("request", "forbidden", "secret")], 1);
  EXPECT_EQ(m[messages("request", "no_handler", "(unmatched)")], 2);
  EXPECT_EQ(m[messages("event", "ok", "note")], 3);
  EXPECT_EQ(
      m["roost_server_handling_seconds_count{kind=\"request\",pattern=\"add\",transport=\"tcp\",}"],
      6);
  EXPECT_EQ(m["roost_server_in_flight{transport=\"tcp\",}"], 0);
  EXPECT_EQ(m["roost_service_ready{}"], 1);
  for (const auto& [k, v] : m) EXPECT_EQ(k.find("nope"), std::string::npos) << k;
}

/// A router whose "slow" handler answers its number once `release` is set (`entered` says it
/// runs).
struct held_router {
  router r;
  std::atomic<bool> release{false};
  std::atomic<bool> entered{false};
  held_router() {
    r.message("slow", [this](int x) -> awaitable<int> {
      entered = true;
      asio::steady_timer t(co_await asio::this_coro::executor);
      while (!release) {
        t.expires_after(2ms);
        co_await t.async_wait(asio::use_awaitable);
      }
      co_return x;
    });
  }
};

TEST(side_port, readyz_goes_false_at_shutdown_while_a_handler_is_in_flight) {
  held_router h;
  auto& r = h.r;
  auto& release = h.release;
  auto& entered = h.entered;
  auto svc = std::make_unique<running_service>(r);
  const auto port = svc->watch.port();
  blocking_client c(tcp::client({.host = "127.0.0.1", .port = svc->tcp.port()}));
  auto answer = std::async(std::launch::async, [&] { return c.send<int>("slow", 7); });
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  EXPECT_EQ(get(port, "/readyz").status, 200);
  EXPECT_EQ(svc->watch.metrics().in_flight("tcp"), 1);

  svc->app.stop();
  EXPECT_TRUE(eventually([&] { return get(port, "/readyz").status == 503; }));
  // Still draining: alive, not ready, the handler still in flight.
  EXPECT_EQ(get(port, "/healthz").status, 200);
  EXPECT_EQ(svc->watch.metrics().in_flight("tcp"), 1);
  EXPECT_EQ(parse(get(port, "/metrics").body)["roost_service_ready{}"], 0);
  release = true;
  EXPECT_EQ(answer.get(), 7);  // the request in flight was answered
  svc.reset();
  EXPECT_EQ(svc, nullptr);
}

TEST(side_port, metrics_show_the_adaptive_limit_and_what_it_shed) {
  held_router h;
  auto& r = h.r;
  auto& release = h.release;
  auto& entered = h.entered;
  running_service svc(r, {},
                      adaptive_limit::options{.initial_limit = 1, .min_limit = 1, .max_limit = 1});
  const auto port = svc.watch.port();
  blocking_client first(tcp::client({.host = "127.0.0.1", .port = svc.tcp.port()}));
  blocking_client second(tcp::client({.host = "127.0.0.1", .port = svc.tcp.port()}));
  auto answer = std::async(std::launch::async, [&] { return first.send<int>("slow", 7); });
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  std::string refused;
  try {
    (void)second.send<int>("slow", 8);
  } catch (const rpc_error& e) {
    refused = e.message();
  }
  EXPECT_EQ(refused, "Too many requests in flight");
  release = true;
  EXPECT_EQ(answer.get(), 7);
  std::map<std::string, double> m;
  const auto scrape = get(port, "/metrics");
  ASSERT_NO_THROW(m = parse(scrape.body)) << scrape.body;
  EXPECT_EQ(m["roost_server_concurrency_limit{}"], 1) << scrape.body;
  EXPECT_EQ(m["roost_server_shed_total{}"], 1);
  EXPECT_EQ(m.count("roost_server_concurrency_baseline_seconds{}"), 1u);
  EXPECT_EQ(m[messages("request", "overloaded", "slow")], 1);
}

TEST(side_port, metrics_show_the_watched_circuit_breakers) {
  router r;
  running_service svc(r);
  auto breaker =
      std::make_shared<circuit_breaker>(circuit_breaker::options{.failure_threshold = 1});
  svc.watch.watch("prices", breaker);
  auto m = parse(get(svc.watch.port(), "/metrics").body);
  EXPECT_EQ((m["roost_client_circuit_state{state=\"closed\",target=\"prices\",}"]), 1);
  EXPECT_EQ((m["roost_client_circuit_state{state=\"open\",target=\"prices\",}"]), 0);
  ASSERT_TRUE(breaker->try_acquire());
  breaker->on_failure();
  m = parse(get(svc.watch.port(), "/metrics").body);
  EXPECT_EQ((m["roost_client_circuit_state{state=\"closed\",target=\"prices\",}"]), 0);
  EXPECT_EQ((m["roost_client_circuit_state{state=\"open\",target=\"prices\",}"]), 1);
  EXPECT_EQ((m["roost_client_circuit_state{state=\"half-open\",target=\"prices\",}"]), 0);
}

TEST(side_port, bad_requests_get_clear_answers) {
  router r;
  running_service svc(r);
  const auto port = svc.watch.port();
  EXPECT_EQ(get(port, "/nope").status, 404);
  const auto post = get(port, "/metrics", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos);
  const auto head = get(port, "/healthz", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(get(port, "/healthz?verbose=1").status, 200);
  // A head over the limit (8 KiB) is cut short with 431.
  const auto huge = http(
      port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20'000, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.status, 431);
  // A body is not taken.
  const auto body =
      http(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(body.status, 413);
  // Garbage is a bad request.
  EXPECT_EQ(http(port, "NOT HTTP AT ALL\r\n\r\n").status, 400);
  // Two requests on one connection (keep-alive) are both answered.
  const auto two = http(port,
                        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(two.status, 200);
  EXPECT_NE(two.body.find("ready"), std::string::npos);
}

TEST(side_port, a_bad_address_or_a_taken_port_is_said_at_once) {
  router r;
  microservice app(r, {.handle_signals = false});
  EXPECT_THROW(monitor(app, {.side_port = "not-an-address:80", .from_environment = false}),
               std::invalid_argument);
  EXPECT_THROW(monitor(app, {.side_port = "127.0.0.1:99999", .from_environment = false}),
               std::invalid_argument);
  monitor first(app, {.side_port = "127.0.0.1:0", .from_environment = false});
  EXPECT_THROW(monitor(app, {.side_port = "127.0.0.1:" + std::to_string(first.port()),
                             .from_environment = false}),
               connection_error);
  // No side port: metrics are still collected.
  monitor quiet(app, {.from_environment = false});
  EXPECT_EQ(quiet.port(), 0);
}

}  // namespace
}  // namespace roost::observability
