#include <roost/client_proxy.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>
#include <roost/trace_context.hpp>
#include <roost/tracer.hpp>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// W3C Trace Context (the Recommendation's traceparent rules) and the tracer's spans of a call
// through a service, over the in-memory transport.

namespace roost {
namespace {

constexpr std::string_view good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(traceparent, reads_a_version_00_header) {
  const auto c = parse_traceparent(good);
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(c->trace), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(c->span), "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, 1);
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(format_traceparent(*c), good);
  const auto unsampled =
      parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled());
}

TEST(traceparent, refuses_what_the_recommendation_refuses) {
  const char* bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // version 00 is 55 long
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero span id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // separator
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   // flags not hex
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version not hex
      "00-4bf92f3577b34da6a3ce929d0e0e473 -00f067aa0ba902b7-01",   // space in the id
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // later version, no '-'
  };
  for (const char* t : bad) EXPECT_FALSE(parse_traceparent(t)) << t;
}

TEST(traceparent, reads_a_later_version_by_its_version_00_prefix) {
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  const auto c =
      parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future");
  ASSERT_TRUE(c);
  EXPECT_EQ(format_traceparent(*c), good);  // sent on as version 00
}

TEST(traceparent, headers_carry_tracestate_only_with_a_valid_parent) {
  headers h{{"traceparent", std::string(good)}, {"tracestate", "a=1"}, {"tracestate", "b=2"}};
  auto c = read_trace_context(h);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, "a=1,b=2");
  headers out;
  write_trace_context(out, *c);
  EXPECT_EQ(*out.get("traceparent"), good);
  EXPECT_EQ(*out.get("tracestate"), "a=1,b=2");

  EXPECT_FALSE(read_trace_context(headers{{"tracestate", "a=1"}}));
  EXPECT_FALSE(read_trace_context(headers{{"traceparent", "00-bad"}, {"tracestate", "a=1"}}));
  // Two parents: neither is.
  EXPECT_FALSE(read_trace_context(
      headers{{"traceparent", std::string(good)}, {"traceparent", std::string(good)}}));
}

TEST(tracer, a_child_keeps_the_trace_and_a_root_starts_one) {
  tracer t(nullptr);
  const auto parent = *parse_traceparent(good);
  const span child = t.start(span_kind::client, "x", &parent);
  EXPECT_EQ(child.context.trace, parent.trace);
  EXPECT_EQ(child.parent, parent.span);
  EXPECT_NE(child.context.span, parent.span);
  EXPECT_FALSE(child.is_root());
  const span a = t.start(span_kind::server, "x", nullptr);
  const span b = t.start(span_kind::server, "x", nullptr);
  EXPECT_TRUE(a.is_root());
  EXPECT_TRUE(a.context.sampled());
  EXPECT_NE(a.context.trace, b.context.trace);
  EXPECT_TRUE(parse_traceparent(format_traceparent(a.context)));  // ids are never zero
}

// Keeps the spans it is given.
struct span_list final : span_sink {
  void export_span(span&& s) noexcept override {
    std::lock_guard lock(mutex);
    spans.push_back(std::move(s));
  }
  std::vector<span> taken() {
    std::lock_guard lock(mutex);
    return spans;
  }
  std::mutex mutex;
  std::vector<span> spans;
};

const span* named(const std::vector<span>& spans, std::string_view name, span_kind kind) {
  auto it = std::find_if(spans.begin(), spans.end(),
                         [&](const span& s) { return s.name == name && s.kind == kind; });
  return it == spans.end() ? nullptr : &*it;
}

std::string attribute(const span& s, std::string_view key) {
  for (const auto& [k, v] : s.attributes) {
    if (k == key) return v;
  }
  return {};
}

TEST(tracer, spans_of_a_call_through_a_service_form_one_trace) {
  auto sink = std::make_shared<span_list>();
  auto t = std::make_shared<tracer>(sink);
  router r;
  std::shared_ptr<client_proxy> downstream;
  std::optional<trace_context> seen_inner;
  std::string inner_traceparent;
  std::mutex lines_mutex;
  std::vector<std::string> lines;
  r.message("inner", [&](context& ctx) {
    ctx.log(log_level::info, "inner working");
    if (ctx.trace() && !seen_inner) seen_inner = *ctx.trace();  // the first call's
    if (const auto* h = ctx.headers().get("traceparent")) inner_traceparent = *h;
    return 1;
  });
  r.message("outer", [&](context& ctx) -> awaitable<int> {
    auto inner = downstream->send<int>("inner", 0, call_options::from(ctx));
    const int v = co_await std::move(inner);
    co_return v + 1;
  });
  r.message("fails", []() -> int { throw rpc_exception("no such order"); });
  r.event("noted", [](int) {});
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    roost::testing::memory_broker broker;
    microservice_options mo;
    mo.threads = 1;
    mo.handle_signals = false;
    mo.log = logger(log_level::info, [&](log_level, std::string_view, std::string_view m) {
      std::lock_guard lock(lines_mutex);
      lines.emplace_back(m);
    });
    microservice app(r, mo);
    app.dispatcher().observe(t);
    app.add_transport(broker.server());
    co_await app.start();
    client_options traced;
    traced.tracer = t;
    downstream = std::make_shared<client_proxy>(ex, broker.client(), traced);
    client_proxy client(ex, broker.client(), traced);
    const int v = co_await client.send<int>("outer", 0);
    EXPECT_EQ(v, 2);
    std::exception_ptr failure;
    try {
      co_await client.send<int>("fails", 0);
    } catch (...) {
      failure = std::current_exception();
    }
    EXPECT_TRUE(failure);
    co_await client.emit("noted", 1);
    // A client without a tracer sends no traceparent, unless the call names its trace.
    client_proxy untraced(ex, broker.client());
    inner_traceparent.clear();
    co_await untraced.send<int>("inner", 0);
    EXPECT_EQ(inner_traceparent, "");
    call_options named_trace;
    named_trace.trace = *parse_traceparent(good);
    co_await untraced.send<int>("inner", 0, named_trace);
    EXPECT_EQ(inner_traceparent, good);
    downstream.reset();
    co_await app.shutdown();
  });
  const auto spans = sink->taken();
  const span* call = named(spans, "outer", span_kind::client);
  const span* outer = named(spans, "outer", span_kind::server);
  const span* inner_call = named(spans, "inner", span_kind::client);
  const span* inner = named(spans, "inner", span_kind::server);
  ASSERT_TRUE(call && outer && inner_call && inner);
  EXPECT_TRUE(call->is_root());
  EXPECT_EQ(outer->parent, call->context.span);
  EXPECT_EQ(inner_call->parent, outer->context.span);
  EXPECT_EQ(inner->parent, inner_call->context.span);
  for (const span* s : {outer, inner_call, inner}) EXPECT_EQ(s->context.trace, call->context.trace);
  ASSERT_TRUE(seen_inner);
  EXPECT_EQ(seen_inner->span, inner->context.span);
  EXPECT_LE(call->start, outer->start);
  EXPECT_EQ(attribute(*outer, "roost.transport"), "memory");
  EXPECT_EQ(attribute(*outer, "roost.outcome"), "ok");
  EXPECT_FALSE(outer->error);

  // The handler's lines name their spans (the service traces every message it serves).
  const std::string traced_line = "inner working trace_id=" + to_hex(inner->context.trace) +
                                  " span_id=" + to_hex(inner->context.span);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), traced_line), 1) << lines.size();
  EXPECT_EQ(
      std::count_if(lines.begin(), lines.end(),
                    [](const std::string& l) { return l.starts_with("inner working trace_id="); }),
      3);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) {
                            return l.find("trace_id=4bf92f3577b34da6a3ce929d0e0e4736") !=
                                   std::string::npos;
                          }),
            1);

  const span* failed = named(spans, "fails", span_kind::server);
  const span* failed_call = named(spans, "fails", span_kind::client);
  ASSERT_TRUE(failed && failed_call);
  EXPECT_TRUE(failed->error);
  EXPECT_EQ(failed->status_message, "no such order");
  EXPECT_EQ(attribute(*failed, "roost.outcome"), "handler_error");
  EXPECT_TRUE(failed_call->error);
  EXPECT_EQ(failed->parent, failed_call->context.span);

  const span* produced = named(spans, "noted", span_kind::producer);
  const span* consumed = named(spans, "noted", span_kind::consumer);
  ASSERT_TRUE(produced && consumed);
  EXPECT_EQ(consumed->parent, produced->context.span);
}

}  // namespace
}  // namespace roost
