#include <roost/observability/otlp_exporter.hpp>
#include <roost/observability/prometheus_writer.hpp>

#include <roost/awaitable.hpp>
#include <roost/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace roost::observability {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using asio::ip::tcp;

// OTLP's SpanKind: SPAN_KIND_INTERNAL is 1, the unspecified 0 is never sent.
int otlp_kind(span_kind k) noexcept {
  switch (k) {
    case span_kind::internal:
      return 1;
    case span_kind::server:
      return 2;
    case span_kind::client:
      return 3;
    case span_kind::producer:
      return 4;
    case span_kind::consumer:
      return 5;
  }
  return 1;
}

// Unix nanoseconds as a decimal string: OTLP JSON writes 64-bit integers as strings.
std::string unix_nanos(std::chrono::system_clock::time_point t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

json::object string_attribute(std::string_view key, std::string_view value) {
  json::object v;
  v["stringValue"] = value;
  json::object a;
  a["key"] = key;
  a["value"] = std::move(v);
  return a;
}

json::object span_json(const span& s) {
  json::object o;
  o["traceId"] = to_hex(s.context.trace);
  o["spanId"] = to_hex(s.context.span);
  if (!s.is_root()) o["parentSpanId"] = to_hex(s.parent);
  if (!s.context.state.empty()) o["traceState"] = s.context.state;
  o["name"] = s.name;
  o["kind"] = otlp_kind(s.kind);
  o["startTimeUnixNano"] = unix_nanos(s.start);
  o["endTimeUnixNano"] = unix_nanos(s.end);
  json::array attributes;
  for (const auto& [k, v] : s.attributes) attributes.push_back(string_attribute(k, v));
  o["attributes"] = std::move(attributes);
  json::object status;
  if (s.error) {
    status["code"] = 2;  // STATUS_CODE_ERROR
    if (!s.status_message.empty()) status["message"] = s.status_message;
  }
  o["status"] = std::move(status);
  return o;
}

// Where the spans go, read from the endpoint.
struct target {
  std::string host;
  std::string port;
  std::string path;
};

target target_of(const otlp_options& o) {
  auto parsed = url::parse(o.endpoint);
  if (!parsed || parsed->scheme != "http" || parsed->host.empty() || parsed->hosts.size() > 1) {
    throw std::invalid_argument("OTLP endpoint \"" + o.endpoint +
                                "\" is not an http:// URL (https is not supported)");
  }
  target t;
  t.host = parsed->host;
  t.port = std::to_string(parsed->port.value_or(80));
  std::string path = "/" + parsed->path;
  if (!o.traces_path_given) {
    if (path.back() != '/') path += '/';
    path += "v1/traces";
  }
  t.path = std::move(path);
  return t;
}

// The answers after which the same batch may go again (as OTLP/HTTP says).
bool retryable(unsigned status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

otlp_options otlp_options::from_environment(otlp_options opts) {
  if (const char* v = std::getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v && *v) {
    opts.endpoint = v;
    opts.traces_path_given = true;
  } else if (const char* b = std::getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); b && *b) {
    opts.endpoint = b;
    opts.traces_path_given = false;
  }
  if (const char* n = std::getenv("OTEL_SERVICE_NAME"); n && *n) opts.service_name = n;
  return opts;
}

std::string otlp_exporter::encode(std::span<const span> spans, std::string_view service_name) {
  json::array list;
  list.reserve(spans.size());
  for (const auto& s : spans) list.push_back(span_json(s));
  json::object scope;
  scope["name"] = "roost";
  json::object scope_spans;
  scope_spans["scope"] = std::move(scope);
  scope_spans["spans"] = std::move(list);
  json::array attributes;
  attributes.push_back(string_attribute("service.name", service_name));
  json::object resource;
  resource["attributes"] = std::move(attributes);
  json::object resource_spans;
  resource_spans["resource"] = std::move(resource);
  json::array scopes;
  scopes.push_back(std::move(scope_spans));
  resource_spans["scopeSpans"] = std::move(scopes);
  json::array all;
  all.push_back(std::move(resource_spans));
  json::object root;
  root["resourceSpans"] = std::move(all);
  return json::serialize(root);
}

struct otlp_exporter::impl {
  explicit impl(otlp_options o) : opts(std::move(o)), where(target_of(opts)) {}

  // Queues a span; wakes the sender once a batch is full.
  void push(span&& s) {
    bool wake = false;
    {
      std::lock_guard lock(mutex);
      if (queue.size() >= opts.max_queue) {
        dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      queue.push_back(std::move(s));
      if (queue.size() >= opts.max_batch && !wake_now) wake = wake_now = true;
    }
    if (wake) wake_sender();
  }

  void wake_sender() {
    asio::post(io, [this] { timer.cancel(); });
  }

  // Up to max_batch spans from the queue; marks a send in progress.
  std::vector<span> take_batch() {
    std::lock_guard lock(mutex);
    std::vector<span> batch;
    const auto n = std::min(queue.size(), opts.max_batch);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    return batch;
  }

  // One POST; the HTTP status, or 0 when no answer came.
  awaitable<unsigned> post(const std::string& body) {
    tcp::resolver resolver(io);
    auto [rec, results] =
        co_await resolver.async_resolve(where.host, where.port, asio::as_tuple(use_awaitable));
    if (rec) co_return 0u;
    beast::tcp_stream stream(io);
    stream.expires_after(opts.timeout);
    auto [cec, ep] = co_await stream.async_connect(results, asio::as_tuple(use_awaitable));
    if (cec) co_return 0u;
    http::request<http::string_body> req(http::verb::post, where.path, 11);
    req.set(http::field::host, where.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "roost");
    req.body() = body;
    req.prepare_payload();
    auto [wec, written] = co_await http::async_write(stream, req, asio::as_tuple(use_awaitable));
    if (wec) co_return 0u;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    auto [hec, read] =
        co_await http::async_read(stream, buffer, res, asio::as_tuple(use_awaitable));
    if (hec) co_return 0u;
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return res.result_int();
  }

  // Sends one batch, retried with backoff while the collector may take it later.
  awaitable<void> send(std::vector<span> batch) {
    const std::string body = encode(batch, opts.service_name);
    auto wait = opts.initial_backoff;
    for (int attempt = 1;; ++attempt) {
      auto answer = post(body);
      const unsigned status = co_await std::move(answer);
      if (status >= 200 && status < 300) {
        exported.fetch_add(batch.size(), std::memory_order_relaxed);
        co_return;
      }
      const bool again = (status == 0 || retryable(status)) && attempt < opts.max_attempts &&
                         !stopping.load(std::memory_order_relaxed);
      if (!again) {
        dropped.fetch_add(batch.size(), std::memory_order_relaxed);
        co_return;
      }
      asio::steady_timer pause(io, wait);
      co_await pause.async_wait(asio::as_tuple(use_awaitable));
      wait = std::min(wait * 2, opts.max_backoff);
    }
  }

  // The sender: a batch at each interval, or as soon as one is full or asked for.
  awaitable<void> run() {
    for (;;) {
      bool now = false;
      {
        std::lock_guard lock(mutex);
        now = wake_now || stopping.load();
      }
      if (!now) {
        timer.expires_after(opts.flush_interval);
        co_await timer.async_wait(asio::as_tuple(use_awaitable));
      }
      {
        std::lock_guard lock(mutex);
        wake_now = false;
        ++started;
      }
      for (;;) {
        auto batch = take_batch();
        if (batch.empty()) break;
        auto sent = send(std::move(batch));
        co_await std::move(sent);
      }
      {
        std::lock_guard lock(mutex);
        ++rounds;
      }
      idle.notify_all();
      if (stopping.load()) co_return;
    }
  }

  const otlp_options opts;
  const target where;
  std::mutex mutex;
  std::condition_variable idle;
  std::deque<span> queue;
  bool wake_now = false;
  std::uint64_t started = 0;  // sender rounds begun, for flush()
  std::uint64_t rounds = 0;   // sender rounds done
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> exported{0};
  std::atomic<std::uint64_t> dropped{0};
  asio::io_context io{1};
  asio::steady_timer timer{io};
  std::thread thread;
};

otlp_exporter::otlp_exporter(otlp_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {
  auto* self = impl_.get();
  asio::co_spawn(self->io, self->run(), asio::detached);
  self->thread = std::thread([self] { self->io.run(); });
}

otlp_exporter::~otlp_exporter() {
  impl_->stopping = true;
  impl_->wake_sender();
  impl_->thread.join();
}

void otlp_exporter::export_span(span&& s) noexcept {
  try {
    impl_->push(std::move(s));
  } catch (...) {
    impl_->dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

bool otlp_exporter::flush(std::chrono::milliseconds wait) {
  std::unique_lock lock(impl_->mutex);
  // The round that starts next sends what is queued now: wait until it is done.
  const auto round = impl_->started + 1;
  impl_->wake_now = true;
  lock.unlock();
  impl_->wake_sender();
  lock.lock();
  return impl_->idle.wait_for(lock, wait, [&] { return impl_->rounds >= round; });
}

std::uint64_t otlp_exporter::exported() const noexcept {
  return impl_->exported.load(std::memory_order_relaxed);
}

std::uint64_t otlp_exporter::dropped() const noexcept {
  return impl_->dropped.load(std::memory_order_relaxed);
}

void otlp_exporter::write_metrics(prometheus_writer& w) const {
  w.family("roost_trace_spans_exported_total", "Spans the OTLP collector took.",
           metric_type::counter);
  w.sample("roost_trace_spans_exported_total", {}, exported());
  w.family("roost_trace_spans_dropped_total",
           "Spans not exported: the exporter's queue was full, or the collector did not take "
           "them.",
           metric_type::counter);
  w.sample("roost_trace_spans_dropped_total", {}, dropped());
}

}  // namespace roost::observability
