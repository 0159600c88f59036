// Tracing end to end on loopback: a client calls service A, whose handler calls service B, all
// over TCP; each exports its spans as OTLP/HTTP JSON to a collector this test runs, which must
// receive one trace with the right parent links. Also the exporter's retries, bounded queue and
// the counts it shows in /metrics.

#include <roost/observability/monitor.hpp>
#include <roost/observability/otlp_exporter.hpp>
#include <roost/roost.hpp>
#include <roost/tcp.hpp>
#include <roost/tracer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include "running_service.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace roost::observability {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// A small OTLP/HTTP collector: takes `POST /v1/traces`, keeps each body, answers 200 (or 503
// to the first `refuse` requests).
class collector {
 public:
  explicit collector(int refuse = 0) : refuse_(refuse), acceptor_(io_) {
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~collector() {
    stop_ = true;
    // Wakes the blocking accept.
    boost::system::error_code ec;
    asio::ip::tcp::socket s(io_);
    s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<json::value> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  std::vector<std::string> paths() {
    std::lock_guard lock(mutex_);
    return paths_;
  }

 private:
  void serve() {
    for (;;) {
      asio::ip::tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stop_) return;
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(s, buffer, req, ec);
      if (ec) continue;
      http::response<http::string_body> res;
      res.version(11);
      if (refuse_ > 0) {
        --refuse_;
        res.result(http::status::service_unavailable);
      } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, "application/json");
        res.body() = "{}";
        std::lock_guard lock(mutex_);
        paths_.push_back(std::string(req.target()) + " " +
                         std::string(req[http::field::content_type]));
        bodies_.push_back(json::parse(req.body()));
      }
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  int refuse_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<json::value> bodies_;
  std::vector<std::string> paths_;
};

// One exported span, as the collector read it.
struct seen_span {
  std::string service, trace, id, parent, name, status_message;
  int kind = 0, status = 0;
  std::map<std::string, std::string> attributes;
  std::uint64_t start = 0, end = 0;
};

std::vector<seen_span> spans_of(const std::vector<json::value>& bodies) {
  std::vector<seen_span> out;
  for (const auto& body : bodies) {
    for (const auto& rs : body.at("resourceSpans").as_array()) {
      std::string service;
      for (const auto& a : rs.at("resource").at("attributes").as_array()) {
        if (a.at("key") == "service.name") service = a.at("value").at("stringValue").as_string();
      }
      for (const auto& ss : rs.at("scopeSpans").as_array()) {
        for (const auto& s : ss.at("spans").as_array()) {
          const auto& o = s.as_object();
          seen_span x;
          x.service = service;
          x.trace = o.at("traceId").as_string();
          x.id = o.at("spanId").as_string();
          if (const auto* p = o.if_contains("parentSpanId")) x.parent = p->as_string();
          x.name = o.at("name").as_string();
          x.kind = static_cast<int>(o.at("kind").as_int64());
          x.start = std::stoull(std::string(o.at("startTimeUnixNano").as_string()));
          x.end = std::stoull(std::string(o.at("endTimeUnixNano").as_string()));
          const auto& st = o.at("status").as_object();
          if (const auto* c = st.if_contains("code")) x.status = static_cast<int>(c->as_int64());
          if (const auto* m = st.if_contains("message")) x.status_message = m->as_string();
          for (const auto& a : o.at("attributes").as_array()) {
            x.attributes[std::string(a.at("key").as_string())] =
                a.at("value").at("stringValue").as_string();
          }
          out.push_back(std::move(x));
        }
      }
    }
  }
  return out;
}

const seen_span* find(const std::vector<seen_span>& spans, std::string_view service,
                      std::string_view name, int kind) {
  for (const auto& s : spans) {
    if (s.service == service && s.name == name && s.kind == kind) return &s;
  }
  return nullptr;
}

otlp_options to(const collector& c, std::string service) {
  otlp_options o;
  o.endpoint = c.endpoint();
  o.service_name = std::move(service);
  o.flush_interval = 20ms;
  o.initial_backoff = 1ms;
  return o;
}

using test::running_service;

constexpr int server = 2, client = 3;

TEST(tracing, a_call_through_two_services_is_one_trace) {
  collector col;
  router rb;
  rb.message("b.double", [](int x) { return 2 * x; });
  rb.message("b.refuse", [](int) -> int { throw rpc_exception("not today"); });
  running_service b(rb, to(col, "svc-b"));

  router ra;
  std::shared_ptr<client_proxy> to_b;
  std::string trace_seen_by_a;
  ra.message("a.call", [&](int x, context& ctx) -> awaitable<int> {
    if (ctx.trace()) trace_seen_by_a = to_hex(ctx.trace()->trace);
    auto call = to_b->send<int>("b.double", x, call_options::from(ctx));
    const int v = co_await std::move(call);
    co_return v + 1;
  });
  ra.message("a.fail", [&](int x, context& ctx) -> awaitable<int> {
    auto call = to_b->send<int>("b.refuse", x, call_options::from(ctx));
    const int v = co_await std::move(call);
    co_return v;
  });
  running_service a(ra, to(col, "svc-a"));
  ASSERT_TRUE(a.watch.tracer());
  to_b = std::make_shared<client_proxy>(a.app.io_context().get_executor(),
                                        tcp::client({.host = "127.0.0.1", .port = b.tcp.port()}),
                                        client_options{.tracer = a.watch.tracer()});

  auto caller_exporter = std::make_shared<otlp_exporter>(to(col, "caller"));
  auto caller_tracer = std::make_shared<roost::tracer>(caller_exporter);
  {
    blocking_client c(tcp::client({.host = "127.0.0.1", .port = a.tcp.port()}),
                      client_options{.tracer = caller_tracer});
    EXPECT_EQ(c.send<int>("a.call", 20), 41);
    EXPECT_THROW(c.send<int>("a.fail", 1), rpc_error);
  }
  // A server span ends just after its reply is queued: the caller may have the reply first.
  // Flushed until every span came, within a deadline.
  std::vector<seen_span> spans;
  const auto until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    EXPECT_TRUE(caller_exporter->flush(20s));
    EXPECT_TRUE(a.watch.exporter()->flush(20s));
    EXPECT_TRUE(b.watch.exporter()->flush(20s));
    spans = spans_of(col.bodies());
    if (spans.size() >= 8 || std::chrono::steady_clock::now() > until) break;
    std::this_thread::sleep_for(5ms);
  }
  // caller: a.call, a.fail; A: a.call, a.fail served, b.double, b.refuse called; B: two served.
  EXPECT_EQ(spans.size(), 8u);

  for (const auto& p : col.paths()) EXPECT_EQ(p, "/v1/traces application/json");
  const auto* call = find(spans, "caller", "a.call", client);
  const auto* in_a = find(spans, "svc-a", "a.call", server);
  const auto* a_to_b = find(spans, "svc-a", "b.double", client);
  const auto* in_b = find(spans, "svc-b", "b.double", server);
  ASSERT_TRUE(call && in_a && a_to_b && in_b) << spans.size() << " spans";
  EXPECT_EQ(call->parent, "");
  EXPECT_EQ(in_a->parent, call->id);
  EXPECT_EQ(a_to_b->parent, in_a->id);
  EXPECT_EQ(in_b->parent, a_to_b->id);
  for (const auto* s : {in_a, a_to_b, in_b}) EXPECT_EQ(s->trace, call->trace);
  EXPECT_EQ(trace_seen_by_a, call->trace);
  EXPECT_EQ(call->trace.size(), 32u);
  EXPECT_EQ(call->id.size(), 16u);
  EXPECT_LE(call->start, in_a->start);
  EXPECT_EQ(in_b->attributes.at("roost.transport"), "tcp");
  EXPECT_EQ(in_b->attributes.at("roost.pattern"), "b.double");
  EXPECT_EQ(in_b->attributes.at("roost.outcome"), "ok");
  EXPECT_EQ(in_b->status, 0);

  // The failure: an error status on the spans it went through, with the message.
  const auto* refused = find(spans, "svc-b", "b.refuse", server);
  const auto* failed = find(spans, "svc-a", "a.fail", server);
  ASSERT_TRUE(refused && failed);
  EXPECT_EQ(refused->status, 2);
  EXPECT_EQ(refused->status_message, "not today");
  EXPECT_EQ(refused->attributes.at("roost.outcome"), "handler_error");
  EXPECT_EQ(failed->status, 2);
  EXPECT_EQ(refused->trace, failed->trace);
  EXPECT_NE(refused->trace, call->trace);

  EXPECT_EQ(caller_exporter->dropped(), 0u);
  // a.call and a.fail served, b.double and b.refuse called.
  EXPECT_EQ(a.watch.exporter()->exported(), 4u);
  // ... and /metrics says so.
  const auto text = a.watch.metrics_text();
  EXPECT_NE(text.find("roost_trace_spans_exported_total 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("roost_trace_spans_dropped_total 0\n"), std::string::npos) << text;
  to_b.reset();
}

TEST(tracing, the_exporter_retries_bounds_its_queue_and_counts) {
  collector col(/*refuse=*/1);  // the first request gets 503: retried
  auto o = to(col, "svc");
  o.flush_interval = 1h;  // only flush() sends
  o.max_queue = 2;
  otlp_exporter e(o);
  tracer t(nullptr);
  for (int i = 0; i < 5; ++i) {
    auto s = t.start(span_kind::internal, "work", nullptr);
    s.end = s.start;
    e.export_span(std::move(s));
  }
  EXPECT_EQ(e.dropped(), 3u);  // the queue holds two
  EXPECT_TRUE(e.flush(20s));
  EXPECT_EQ(e.exported(), 2u);
  EXPECT_EQ(spans_of(col.bodies()).size(), 2u);
  std::string text;
  prometheus_writer w(text);
  e.write_metrics(w);
  EXPECT_NE(text.find("roost_trace_spans_exported_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("roost_trace_spans_dropped_total 3\n"), std::string::npos) << text;
}

TEST(tracing, spans_from_many_threads_are_all_exported) {
  collector col;
  auto o = to(col, "svc");
  o.max_batch = 16;  // batches go while the threads still export
  otlp_exporter e(o);
  tracer t(nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) e.export_span(t.start(span_kind::internal, "work", nullptr));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(e.flush(20s));
  EXPECT_EQ(e.exported(), 400u);
  EXPECT_EQ(e.dropped(), 0u);
  EXPECT_EQ(spans_of(col.bodies()).size(), 400u);
}

TEST(tracing, spans_a_collector_never_takes_are_dropped_and_counted) {
  std::uint16_t closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = acc.local_endpoint().port();
  }  // nothing listens there now
  otlp_options o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(closed_port);
  o.flush_interval = 1h;
  o.max_attempts = 2;
  o.initial_backoff = 1ms;
  otlp_exporter e(o);
  tracer t(nullptr);
  e.export_span(t.start(span_kind::internal, "lost", nullptr));
  EXPECT_TRUE(e.flush(20s));
  EXPECT_EQ(e.exported(), 0u);
  EXPECT_EQ(e.dropped(), 1u);
}

TEST(tracing, a_bad_endpoint_is_said_at_once_and_the_environment_is_read) {
  otlp_options bad;
  bad.endpoint = "https://collector:4318";
  EXPECT_THROW(otlp_exporter{bad}, std::invalid_argument);
  bad.endpoint = "not a url";
  EXPECT_THROW(otlp_exporter{bad}, std::invalid_argument);
  ::setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", 1);
  ::setenv("OTEL_SERVICE_NAME", "orders", 1);
  const auto o = otlp_options::from_environment({});
  ::unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  ::unsetenv("OTEL_SERVICE_NAME");
  EXPECT_EQ(o.endpoint, "http://127.0.0.1:4318");
  EXPECT_FALSE(o.traces_path_given);
  EXPECT_EQ(o.service_name, "orders");
  EXPECT_TRUE(otlp_options::from_environment({}).endpoint.empty());  // off when unset
}

}  // namespace
}  // namespace roost::observability
