#include "soak_lane.hpp"

#include "trend.hpp"

#include <roost/testing/brokers.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/transports.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace bench {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto call_timeout = 10s;

// A call's options with its timeout.
roost::call_options within(std::chrono::milliseconds timeout) {
  roost::call_options o;
  o.timeout = timeout;
  return o;
}

// The data of the calls, made by functions: GCC 12 cannot keep an initializer list's array
// across a co_await ("array used as initializer"), so none is written inside one.
json::value sum_data(std::int64_t i) {
  return json::array{i, 1, 2};
}
json::value grpc_sum_data(std::int64_t i) {
  return json::value{{"numbers", json::array{i, 1, 2}}};
}
json::value tally_data(std::int64_t i) {
  return json::value{{"n", i}};
}
json::value probe_data() {
  return json::value{{"probe", true}};
}

// A route of the run (`soak.<random><suffix>`) as a pattern.
json::value route_at(const std::string& route, const char* suffix) {
  return json::value(route + suffix);
}

json::value grpc_sum() {
  return json::value{{"service", "Math"}, {"rpc", "Sum"}};
}

}  // namespace

void series::add(double t, long rss_kb, long fds, double p99_ms) {
  samples_.push_back({t, rss_kb, fds, p99_ms});
}

trend series::fit(double warmup, double messages_per_second) const {
  std::vector<double> t, rss, fds, p99;
  for (const auto& s : samples_) {
    if (s.t < warmup) continue;
    t.push_back(s.t / 60);  // slopes a minute
    rss.push_back(static_cast<double>(s.rss_kb));
    fds.push_back(static_cast<double>(s.fds));
    p99.push_back(s.p99_ms);
  }
  trend r;
  if (t.size() < 2) {
    r.why = "too few samples after the warm-up";
    return r;
  }
  r.rss_start = static_cast<long>(rss.front());
  r.rss_end = static_cast<long>(rss.back());
  r.fds_start = static_cast<long>(fds.front());
  r.fds_end = static_cast<long>(fds.back());
  r.rss_slope = theil_sen(t, rss);
  r.rss_limit = std::max(256.0, 16 * messages_per_second * 60 / 1024);
  r.fd_slope = theil_sen(t, fds);
  r.p99 = median(p99);
  r.p99_slope = theil_sen(t, p99);
  const double span = t.back() - t.front();
  r.p99_limit = std::max(r.p99, 5.0) / span;
  auto add = [&](const std::string& w) { r.why += (r.why.empty() ? "" : ", ") + w; };
  if (r.rss_slope >= r.rss_limit) add("resident memory grows");
  if (r.fd_slope >= 1) add("file descriptors grow");
  // A trend that is there moves the last third of the samples above the first too; the noise
  // of a loaded machine (a few slow intervals) rarely does both.
  const std::size_t third = p99.size() / 3;
  const double first = median({p99.begin(), p99.begin() + static_cast<std::ptrdiff_t>(third)});
  const double last = median({p99.end() - static_cast<std::ptrdiff_t>(third), p99.end()});
  if (r.p99_slope >= r.p99_limit && third > 0 && last > 1.5 * first) add("p99 latency grows");
  return r;
}

void series::write(std::ostream& out, const std::string& date, const std::string& name) const {
  for (const auto& s : samples_) {
    out << date << '\t' << name << '\t' << s.t << '\t' << s.rss_kb << '\t' << s.fds << '\t'
        << s.p99_ms << '\n';
  }
}

std::vector<soak_lane> soak_lanes(const std::string& run, const std::vector<std::string>& names) {
  struct known {
    const char* name;
    const char* scheme;
    const char* variable;  // the broker's URL; none: a server of the run's own on a free port
  };
  static constexpr known all[] = {{"tcp", "tcp", nullptr},
                                  {"ws", "ws", nullptr},
                                  {"grpc", "grpc", nullptr},
                                  {"redis", "redis", "ROOST_REDIS_URL"},
                                  {"nats", "nats", "ROOST_NATS_URL"},
                                  {"rmq", "amqp", "ROOST_RABBITMQ_URL"},
                                  {"mqtt", "mqtt", "ROOST_MQTT_URL"},
                                  {"kafka", "kafka", "ROOST_KAFKA_URL"}};
  std::vector<soak_lane> lanes;
  for (const auto& k : all) {
    const bool named = std::find(names.begin(), names.end(), k.name) != names.end();
    if (!named && !(names.empty() && roost::find_transport(k.scheme))) continue;
    if (!roost::find_transport(k.scheme)) {
      throw std::runtime_error(std::string("this build has no ") + k.scheme + ":// transport");
    }
    soak_lane l;
    l.name = k.name;
    l.route = run;
    l.grpc = l.name == "grpc";
    l.kafka_text = l.name == "kafka";
    if (!k.variable) {
      const std::string host = "127.0.0.1:" + std::to_string(roost::testing::free_port());
      l.server_url = k.scheme + std::string("://") + host + "/";
      if (l.grpc) l.server_url += "?package=interop&protoPath=" ROOST_SOAK_PROTO;
    } else {
      l.server_url = roost::testing::broker_url(k.variable);
      // A queue and a consumer group of the run's own: the brokers are shared.
      if (l.name == "rmq") {
        l.server_url = roost::testing::with_query(
            l.server_url, "queue=" + run + "&durable=false&autoDelete=true");
      }
      if (l.name == "kafka")
        l.server_url = roost::testing::with_query(l.server_url, "groupId=" + run);
    }
    l.client_url = l.server_url;
    lanes.push_back(std::move(l));
  }
  for (const auto& n : names) {
    if (std::none_of(std::begin(all), std::end(all), [&](const known& k) { return n == k.name; })) {
      throw std::runtime_error("no transport named " + n +
                               " (tcp, ws, grpc, redis, nats, rmq, mqtt, kafka)");
    }
  }
  return lanes;
}

void add_soak_handlers(roost::router& r, const soak_lane& lane) {
  if (lane.grpc) {
    r.message(grpc_sum(), [](json::object req) {
      std::int64_t total = 0;
      for (const auto& n : req["numbers"].as_array()) total += n.to_number<std::int64_t>();
      return json::value{{"total", total}};
    });
    return;
  }
  r.message(route_at(lane.route, ".sum"), [](const std::vector<std::int64_t>& xs) {
    std::int64_t s = 0;
    for (auto x : xs) s += x;
    return s;
  });
  // The events of the traffic, counted; a probe's only marks the subscription as in place.
  struct counts {
    std::uint64_t events = 0;
    bool probed = false;
  };
  auto c = std::make_shared<counts>();
  r.event(route_at(lane.route, ".tally"), [c](const json::value& v) {
    if (v.is_object() && v.as_object().contains("probe")) {
      c->probed = true;
    } else {
      ++c->events;
    }
  });
  r.message(route_at(lane.route, ".tally.count"), [c](const json::value&) {
    return json::value{{"count", c->events}, {"probed", c->probed}};
  });
}

void soak_lane::make_client(asio::any_io_executor ex) {
  auto u = roost::url::parse(client_url);
  auto t = u ? roost::make_client(*u) : make_error_code(roost::error::invalid_argument);
  if (!t) throw std::runtime_error(name + ": bad client URL " + client_url);
  client = std::make_unique<roost::client_proxy>(std::move(ex), std::move(*t));
}

roost::awaitable<void> soak_lane::get_ready() {
  const auto until = clock_type::now() + 90s;
  std::string last = "no answer";
  bool connected = false, answered = false;
  while (clock_type::now() < until && !(answered && (grpc || probed_))) {
    try {
      if (!connected) co_await client->connect();
      connected = true;
      if (!answered) {
        if (grpc) {
          co_await client->send(grpc_sum(), grpc_sum_data(0), within(3s));
        } else {
          co_await client->send(route_at(route, ".sum"), sum_data(0), within(3s));
        }
        answered = true;
      }
      if (!grpc) {
        co_await client->emit(route_at(route, ".tally"), probe_data());
        json::value n =
            co_await client->send(route_at(route, ".tally.count"), json::value(), within(3s));
        probed_ = n.as_object().at("probed").as_bool();
      }
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (!(answered && (grpc || probed_))) co_await roost::testing::pause_for(200ms);
  }
  if (!(answered && (grpc || probed_))) {
    fail("not serving 90 s after the start (" + std::string(answered ? "events" : "requests") +
         "): " + last);
  }
}

roost::awaitable<void> soak_lane::drive(clock_type::time_point t0, clock_type::time_point stop,
                                        double rate) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  const auto period =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1 / rate));
  std::int64_t i = 0;
  for (auto next = t0; next < stop; next += period, ++i) {
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
    asio::co_spawn(ex, request(i), asio::detached);
    if (!grpc && i % 2 == 1) asio::co_spawn(ex, event(i), asio::detached);
  }
  // Every call ends by its timeout at the latest.
  const auto last = clock_type::now() + call_timeout + 5s;
  while (outstanding > 0 && clock_type::now() < last) co_await roost::testing::pause_for(50ms);
  if (outstanding > 0) fail(std::to_string(outstanding) + " calls never ended");
  if (grpc) co_return;
  // Events travel on their own (a broker may deliver them after later requests' replies).
  const auto counted = clock_type::now() + 30s;
  do {
    co_await ask_count();
    if (events_handled >= events_sent) break;
    co_await roost::testing::pause_for(200ms);
  } while (clock_type::now() < counted);
  if (events_handled != events_sent) {
    fail(std::to_string(events_sent) + " events sent, " + std::to_string(events_handled) +
         " handled");
  }
}

roost::awaitable<void> soak_lane::request(std::int64_t i) {
  ++outstanding;
  const auto sent = clock_type::now();
  try {
    std::int64_t got = 0;
    if (grpc) {
      json::value v = co_await client->send(grpc_sum(), grpc_sum_data(i), within(call_timeout));
      got = v.as_object().at("total").to_number<std::int64_t>();
    } else {
      json::value v =
          co_await client->send(route_at(route, ".sum"), sum_data(i), within(call_timeout));
      // Kafka answers a number as its text, as NestJS's server writes it (String(v)).
      if (kafka_text && v.is_string()) {
        got = std::stoll(std::string(v.get_string()));
      } else {
        got = v.to_number<std::int64_t>();
      }
    }
    if (got == i + 3) {
      ++requests_ok;
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
    } else {
      fail("sum of [" + std::to_string(i) + ",1,2] answered " + std::to_string(got));
    }
  } catch (const std::exception& e) {
    fail(std::string("a request failed: ") + e.what());
  }
  --outstanding;
}

roost::awaitable<void> soak_lane::event(std::int64_t i) {
  ++outstanding;
  try {
    co_await client->emit(route_at(route, ".tally"), tally_data(i));
    ++events_sent;
  } catch (const std::exception& e) {
    fail(std::string("an event failed: ") + e.what());
  }
  --outstanding;
}

roost::awaitable<void> soak_lane::ask_count() {
  try {
    json::value n =
        co_await client->send(route_at(route, ".tally.count"), json::value(), within(call_timeout));
    events_handled = n.as_object().at("count").to_number<std::uint64_t>();
  } catch (const std::exception& e) {
    fail(std::string("the event count failed: ") + e.what());
  }
}

void soak_lane::close() {
  if (client) client->close();
}

double soak_lane::take_p99_ms() {
  const double p = percentile(latencies_ms, 0.99);
  latencies_ms.clear();
  return p;
}

void soak_lane::fail(const std::string& why) {
  if (failures_++ == 0) first_failure_ = why;
}

void soak_lane::report() const {
  std::printf(
      "soak: %-7s %llu requests answered, %llu events sent, %llu handled, %d failures%s%s\n",
      name.c_str(), static_cast<unsigned long long>(requests_ok),
      static_cast<unsigned long long>(events_sent), static_cast<unsigned long long>(events_handled),
      failures_, failures_ ? "; the first: " : "", first_failure_.c_str());
}

}  // namespace bench
