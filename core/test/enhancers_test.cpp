#include <roost/enhancers.hpp>

#include <roost/client_proxy.hpp>
#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/interceptors.hpp>
#include <roost/microservice.hpp>
#include <roost/packet.hpp>
#include <roost/router.hpp>
#include <roost/stream.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Tier 2 (sans transport): guards, pipes, interceptors and exception filters at the three
// scopes, served through dispatcher::serve() as a transport serves, so both the synchronous
// fast path and the coroutine path are exercised; each test reads the exact reply frames.

namespace roost {
namespace {

using namespace std::chrono_literals;
using roost::test::gate;
using roost::test::log_capture;
using roost::test::sleep_for;
using ::testing::ElementsAre;
using frames = std::vector<std::string>;
using trace = std::vector<std::string>;

constexpr std::string_view forbidden_frame =
    R"({"err":{"status":"error","message":"Forbidden resource"},"isDisposed":true,"id":"x1"})";

/// A sink that queues at once, as a socket's write buffer: lets a synchronous route be served
/// inline, without a coroutine.
class recording_sink final : public immediate_reply_sink {
 public:
  explicit recording_sink(frames& out) : out_(&out) {}
  void send_now(reply_packet reply, const json::value& id) override {
    std::string text;
    encode_reply(text, reply, id);
    out_->push_back(std::move(text));
  }

 private:
  frames* out_;  // the test's, which outlives the io_context that serves the message
};

struct test_origin {
  frames* out;
  context make_context(json::value pattern, std::optional<json::object> metadata) {
    return context("test", std::move(pattern), std::move(metadata));
  }
  recording_sink make_sink() { return recording_sink(*out); }
};

/// An origin that cannot answer: every message is an event.
struct event_origin {
  context make_context(json::value pattern, std::optional<json::object> metadata) {
    return context("test", std::move(pattern), std::move(metadata));
  }
};

struct served {
  frames replies;
  bool inline_ = false;  ///< every reply was written before serve() returned
};

/// Serves one packet as a transport does; runs the io_context for what could not be served
/// inline.
served serve(dispatcher& d, std::string_view text) {
  boost::asio::io_context io;
  auto p = decode_inbound(text);
  EXPECT_TRUE(p) << text;
  served s;
  if (p->id) {
    d.serve(io.get_executor(), *p, test_origin{&s.replies});
  } else {
    d.serve(io.get_executor(), *p, event_origin{});
  }
  s.inline_ = io.run_for(10s) == 0;
  EXPECT_EQ(d.in_flight(), 0u);
  return s;
}

std::string req(std::string_view pattern, std::string_view data) {
  return R"({"pattern":)" + std::string(pattern) + R"(,"data":)" + std::string(data) +
         R"(,"id":"x1"})";
}
std::string evt(std::string_view pattern, std::string_view data) {
  return R"({"pattern":)" + std::string(pattern) + R"(,"data":)" + std::string(data) + "}";
}

std::string response(std::string_view json) {
  return R"({"response":)" + std::string(json) + R"(,"isDisposed":true,"id":"x1"})";
}
std::string error_frame(std::string_view err) {
  return R"({"err":)" + std::string(err) + R"(,"isDisposed":true,"id":"x1"})";
}

/// Adds a recording guard, interceptor and pipe named `name` to a scope.
void add_recorders(enhancers& e, const std::string& name, trace& t) {
  e.use_guard([&t, name](context&) {
    t.push_back("guard:" + name);
    return true;
  });
  e.use_interceptor(interceptor::hooks(
      [&t, name](context&) -> std::optional<call_result> {
        t.push_back("before:" + name);
        return std::nullopt;
      },
      [&t, name](context&, call_result&) { t.push_back("after:" + name); }));
  e.use_pipe([&t, name](json::value& v, context&) {
    t.push_back("pipe:" + name);
    v = v.as_int64() * 10;
  });
}

// What NestJS's rpc-context-creator does (packages/microservices/context/rpc-context-creator.ts):
// guards (global, class, method) → interceptors (global → method) → pipes (global → method) →
// handler → interceptors unwinding in reverse; exception filters method first.
const trace nest_order = {"guard:global",  "guard:router", "guard:route", "before:global",
                          "before:router", "before:route", "pipe:global", "pipe:router",
                          "pipe:route",    "handler",      "after:route", "after:router",
                          "after:global"};

TEST(enhancers_order, nestjs_order_across_scopes_on_the_synchronous_path) {
  trace t;
  router r;
  r.message("n", [&t](int x) {
    t.push_back("handler");
    return x;
  });
  add_recorders(r.enhance(), "router", t);
  add_recorders(r.enhance("n"), "route", t);
  dispatcher d(r, logger::silent());
  add_recorders(d.enhance(), "global", t);

  const auto s = serve(d, req(R"("n")", "2"));
  EXPECT_THAT(s.replies, ElementsAre(response("2000")));  // three pipes, each ×10, in turn
  EXPECT_TRUE(s.inline_);
  EXPECT_EQ(t, nest_order);
}

TEST(enhancers_order, nestjs_order_with_coroutine_enhancers) {
  trace t;
  router r;
  r.message("n", [&t](int x) -> awaitable<int> {
    t.push_back("handler");
    co_return x;
  });
  add_recorders(r.enhance(), "router", t);
  add_recorders(r.enhance("n"), "route", t);
  // An awaitable guard and an `around` interceptor at the route scope.
  r.enhance("n").use_guard([&t](context&) -> awaitable<bool> {
    t.push_back("async-guard");
    co_return true;
  });
  r.enhance("n").use_interceptor(
      interceptor::around([&t](context&, next_handler next) -> awaitable<call_result> {
        t.push_back("around>");
        auto res = co_await next();
        t.push_back("<around");
        co_return res;
      }));
  dispatcher d(r, logger::silent());
  add_recorders(d.enhance(), "global", t);

  const auto s = serve(d, req(R"("n")", "2"));
  EXPECT_THAT(s.replies, ElementsAre(response("2000")));
  EXPECT_FALSE(s.inline_);
  const trace expected = {"guard:global",  "guard:router",  "guard:route",  "async-guard",
                          "before:global", "before:router", "before:route", "around>",
                          "pipe:global",   "pipe:router",   "pipe:route",   "handler",
                          "<around",       "after:route",   "after:router", "after:global"};
  EXPECT_EQ(t, expected);
}

TEST(enhancers_order, filters_route_first_then_router_then_global_last_added_first) {
  trace t;
  router r;
  r.message("boom", []() -> int { throw std::runtime_error("boom"); });
  auto pass = [&t](std::string name) {
    return [&t, name](std::exception_ptr, context&) -> std::optional<json::value> {
      t.push_back(name);
      return std::nullopt;
    };
  };
  r.enhance("boom").use_filter(pass("route-a")).use_filter(pass("route-b"));
  r.enhance().use_filter(pass("router"));
  dispatcher d(r, logger::silent());
  d.enhance().use_filter([&t](std::exception_ptr, context&) -> std::optional<json::value> {
    t.push_back("global");
    return json::value("handled by global");
  });
  d.enhance().use_filter(pass("global-late"));

  EXPECT_THAT(serve(d, req(R"("boom")", "0")).replies,
              ElementsAre(error_frame(R"("handled by global")")));
  EXPECT_EQ(t, (trace{"route-b", "route-a", "router", "global-late", "global"}));
}

// ---------------------------------------------------------------------------------------------
// Guards

TEST(enhancers_guards, denial_answers_forbidden_resource_as_nestjs) {
  bool ran = false;
  router r;
  r.message("secret", [&ran] {
    ran = true;
    return 1;
  });
  r.enhance("secret").use_guard([](context&) { return false; });
  dispatcher d(r, logger::silent());
  const auto s = serve(d, req(R"("secret")", "null"));
  EXPECT_THAT(s.replies, ElementsAre(forbidden_frame));
  EXPECT_TRUE(s.inline_);  // a synchronous guard keeps the fast path
  EXPECT_FALSE(ran);
}

TEST(enhancers_guards, guard_reads_the_message_headers) {
  router r;
  r.message("secret", [] { return 1; });
  r.enhance().use_guard([](context& ctx) {
    auto v = ctx.headers().get("authorization");
    return v && *v == "Bearer good";
  });
  dispatcher d(r, logger::silent());
  const std::string with =
      R"({"pattern":"secret","data":null,"id":"x1","metadata":{"authorization":"Bearer good"}})";
  const std::string wrong =
      R"({"pattern":"secret","data":null,"id":"x1","metadata":{"authorization":"Bearer bad"}})";
  EXPECT_THAT(serve(d, with).replies, ElementsAre(response("1")));
  EXPECT_THAT(serve(d, wrong).replies, ElementsAre(forbidden_frame));
}

// A guard may judge the payload (NestJS's getData()) and leave what it learned to the handler
// through the context's attributes; on both paths the payload is visible to guards only.
TEST(enhancers_guards, guard_sees_the_payload_and_hands_attributes_to_the_handler) {
  router r;
  auto handler = [](const json::value& data, context& ctx) {
    return json::value{{"seen_by_guard", ctx.attributes().at("seen")},
                       {"data_in_handler", ctx.guarded_data() != nullptr},
                       {"data", data}};
  };
  auto judge = [](context& ctx) {
    const json::value* data = ctx.guarded_data();
    if (!data || !data->is_int64() || data->as_int64() < 0) return false;
    ctx.attributes()["seen"] = *data;
    return true;
  };
  r.message("sync", handler);
  r.enhance("sync").use_guard(judge);
  r.message("async", handler);
  r.enhance("async").use_guard([judge](context& ctx) -> awaitable<bool> {
    co_await sleep_for(1ms);
    co_return judge(ctx);
  });
  dispatcher d(r, logger::silent());
  for (const char* route : {R"("sync")", R"("async")"}) {
    EXPECT_THAT(serve(d, req(route, "7")).replies,
                ElementsAre(response(R"({"seen_by_guard":7,"data_in_handler":false,"data":7})")))
        << route;
    EXPECT_THAT(serve(d, req(route, "-1")).replies, ElementsAre(forbidden_frame)) << route;
  }
}

TEST(enhancers_guards, attributes_are_empty_without_a_guard) {
  router r;
  r.message("n", [](context& ctx) { return ctx.attributes().size(); });
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("n")", "null")).replies, ElementsAre(response("0")));
}

TEST(enhancers_guards, async_guard_allows_and_denies) {
  router r;
  r.message("n", [](int x) { return x; });
  r.enhance("n").use_guard([](context& ctx) -> awaitable<bool> {
    co_await sleep_for(1ms);  // really suspends
    co_return ctx.pattern().is_string();
  });
  r.message(json::value{{"cmd", "n"}}, [](int x) { return x; });
  r.enhance(json::value{{"cmd", "n"}}).use_guard([](context& ctx) -> awaitable<bool> {
    co_await sleep_for(1ms);
    co_return ctx.pattern().is_string();
  });
  dispatcher d(r, logger::silent());
  const auto allowed = serve(d, req(R"("n")", "7"));
  EXPECT_THAT(allowed.replies, ElementsAre(response("7")));
  EXPECT_FALSE(allowed.inline_);
  EXPECT_THAT(serve(d, req(R"({"cmd":"n"})", "7")).replies, ElementsAre(forbidden_frame));
}

TEST(enhancers_guards, denied_event_is_dropped_and_logged) {
  for (bool async : {false, true}) {
    int ran = 0;
    router r;
    r.event("ev", [&ran](int) { ++ran; });
    if (async) {
      r.enhance("ev").use_guard([](context&) -> awaitable<bool> { co_return false; });
    } else {
      r.enhance("ev").use_guard([](context&) { return false; });
    }
    log_capture logs;
    dispatcher d(r, logs.make());
    const auto s = serve(d, evt(R"("ev")", "1"));
    EXPECT_TRUE(s.replies.empty());
    EXPECT_EQ(ran, 0);
    EXPECT_TRUE(logs.contains(log_level::warn, R"(event "ev" dropped: Forbidden resource)"))
        << "async=" << async;
  }
}

TEST(enhancers_guards, guard_on_a_streaming_handler) {
  router r;
  auto numbers = [](int n) -> stream<int> {
    for (int i = 1; i <= n; ++i) co_yield i;
  };
  r.message("open", numbers);
  r.message("closed", numbers);
  r.enhance("closed").use_guard([](context&) { return false; });
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("closed")", "3")).replies, ElementsAre(forbidden_frame));
  EXPECT_THAT(
      serve(d, req(R"("open")", "2")).replies,
      ElementsAre(R"({"response":1,"id":"x1"})", R"({"response":2,"isDisposed":true,"id":"x1"})"));
}

// ---------------------------------------------------------------------------------------------
// Exception filters

TEST(enhancers_filters, a_filter_maps_an_exception_to_any_err) {
  router r;
  r.message("io", []() -> int { throw std::runtime_error("disk on fire"); });
  r.message("logic", []() -> int { throw std::logic_error("bug"); });
  r.enhance().use_filter([](std::exception_ptr e, context& ctx) -> std::optional<json::value> {
    try {
      std::rethrow_exception(e);
    } catch (const std::logic_error&) {
      return std::nullopt;  // not ours: the default encoding
    } catch (const std::runtime_error& x) {
      return json::value{{"code", 503}, {"reason", x.what()}, {"route", ctx.route()}};
    }
  });
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("io")", "0")).replies,
              ElementsAre(error_frame(R"({"code":503,"reason":"disk on fire","route":"io"})")));
  EXPECT_THAT(serve(d, req(R"("logic")", "0")).replies,
              ElementsAre(error_frame(R"({"status":"error","message":"Internal server error"})")));
}

TEST(enhancers_filters, a_filter_sees_guard_denials_and_coroutine_filters_work) {
  router r;
  r.message("secret", [] { return 1; });
  r.enhance("secret").use_guard([](context&) { return false; });
  r.enhance("secret").use_filter(
      [](std::exception_ptr, context&) -> awaitable<std::optional<json::value>> {
        co_await sleep_for(1ms);
        co_return json::value("go away");
      });
  dispatcher d(r, logger::silent());
  const auto s = serve(d, req(R"("secret")", "0"));
  EXPECT_THAT(s.replies, ElementsAre(error_frame(R"("go away")")));
  EXPECT_FALSE(s.inline_);
}

// ---------------------------------------------------------------------------------------------
// Pipes

TEST(enhancers_pipes, a_pipe_transforms_the_payload_before_conversion) {
  router r;
  r.message("sum", [](std::vector<int> xs) {
    int s = 0;
    for (int x : xs) s += x;
    return s;
  });
  // "1,2,3" → [1,2,3]: the handler's type would refuse the string.
  r.enhance("sum").use_pipe([](json::value& v, context&) {
    if (!v.is_string()) return;
    json::array out;
    std::string_view s = v.get_string();
    while (!s.empty()) {
      const auto comma = s.find(',');
      out.push_back(std::stoi(std::string(s.substr(0, comma))));
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    v = std::move(out);
  });
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("sum")", R"("1,2,3")")).replies, ElementsAre(response("6")));
  EXPECT_THAT(serve(d, req(R"("sum")", "[4,5]")).replies, ElementsAre(response("9")));
}

TEST(enhancers_pipes, a_pipe_rejects_with_every_problem_listed) {
  bool ran = false;
  router r;
  r.message("order", [&ran](json::value v) {
    ran = true;
    return v;
  });
  r.enhance("order").use_pipe([](json::value& v, context&) {
    std::vector<std::string> problems;
    const auto* o = v.if_object();
    if (!o || !o->contains("sku")) problems.push_back("field 'sku' is required");
    if (!o || !o->contains("qty") || !(*o).at("qty").is_int64() || (*o).at("qty").as_int64() < 1)
      problems.push_back("field 'qty' must be a positive integer");
    if (!problems.empty()) throw payload_rejected(problems);
  });
  dispatcher d(r, logger::silent());
  EXPECT_THAT(
      serve(d, req(R"("order")", R"({"qty":0})")).replies,
      ElementsAre(error_frame(
          R"({"status":"error","message":"Invalid payload: field 'sku' is required; field 'qty' must be a positive integer"})")));
  EXPECT_FALSE(ran);
  EXPECT_THAT(serve(d, req(R"("order")", R"({"sku":"a","qty":2})")).replies,
              ElementsAre(response(R"({"sku":"a","qty":2})")));
}

TEST(enhancers_pipes, coroutine_pipe) {
  router r;
  r.message("n", [](int x) { return x; });
  r.enhance("n").use_pipe([](json::value& v, context&) -> awaitable<void> {
    co_await sleep_for(1ms);
    v = v.as_int64() + 1;
  });
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("n")", "1")).replies, ElementsAre(response("2")));
}

// ---------------------------------------------------------------------------------------------
// Interceptors

TEST(enhancers_interceptors, short_circuit_without_calling_the_handler) {
  int calls = 0;
  router r;
  r.message("cached", [&calls] { return ++calls; });
  r.message("cached-async", [&calls]() -> awaitable<int> { co_return ++calls; });
  r.enhance("cached").use_interceptor(
      interceptor::hooks([](context&) -> std::optional<call_result> {
        return call_result{json::value("from cache"), nullptr};
      }));
  r.enhance("cached-async")
      .use_interceptor(interceptor::around([](context&, next_handler) -> awaitable<call_result> {
        co_return call_result{json::value("from async cache"), nullptr};
      }));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("cached")", "0")).replies, ElementsAre(response(R"("from cache")")));
  EXPECT_THAT(serve(d, req(R"("cached-async")", "0")).replies,
              ElementsAre(response(R"("from async cache")")));
  EXPECT_EQ(calls, 0);
}

TEST(enhancers_interceptors, change_the_result) {
  router r;
  r.message("n", [](int x) { return x; });
  r.message("m", [](int x) -> awaitable<int> { co_return x; });
  auto wrap = interceptor::hooks({}, [](context& ctx, call_result& res) {
    res.value = json::value{{"data", *res.value}, {"route", ctx.route()}};
  });
  r.enhance().use_interceptor(wrap);
  r.enhance("m").use_interceptor(
      interceptor::around([](context&, next_handler next) -> awaitable<call_result> {
        auto res = co_await next();
        res.value = res.value->as_int64() * 2;
        co_return res;
      }));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("n")", "4")).replies,
              ElementsAre(response(R"({"data":4,"route":"n"})")));
  EXPECT_THAT(serve(d, req(R"("m")", "4")).replies,
              ElementsAre(response(R"({"data":8,"route":"m"})")));
}

TEST(enhancers_interceptors, observe_the_error) {
  std::vector<std::string> seen;
  router r;
  r.message("boom", []() -> int { throw rpc_exception("nope"); });
  r.enhance().use_interceptor(
      interceptor::hooks({}, {}, [&seen](context& ctx, const std::exception_ptr& e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          seen.push_back(ctx.route() + ": " + x.what());
        }
      }));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("boom")", "0")).replies,
              ElementsAre(error_frame(R"({"status":"error","message":"nope"})")));
  EXPECT_THAT(seen, ElementsAre("boom: nope"));
}

TEST(enhancers_interceptors, timing_and_logging_interceptors) {
  std::vector<std::string> timed;
  router r;
  r.message("n", [](int x) { return x; });
  log_capture logs;
  r.enhance().use_interceptor(logging_interceptor(logs.make()));
  r.enhance().use_interceptor(
      timing_interceptor([&timed](const context& ctx, std::chrono::nanoseconds d) {
        timed.push_back(ctx.route() + (d.count() >= 0 ? " timed" : " negative"));
      }));
  dispatcher d(r, logger::silent());
  const auto s = serve(d, req(R"("n")", "3"));
  EXPECT_THAT(s.replies, ElementsAre(response("3")));
  EXPECT_TRUE(s.inline_);  // both are synchronous hooks
  EXPECT_THAT(timed, ElementsAre("n timed"));
  EXPECT_TRUE(logs.contains(log_level::debug, R"(request "n" (test) received)"));
  EXPECT_TRUE(logs.contains(log_level::info, R"(request "n" (test) handled in )"));
}

TEST(enhancers_interceptors, timeout_interceptor_fails_a_slow_coroutine_handler) {
  gate never;  // never opened: the handler can only end by being cancelled
  bool cancelled = false;
  router r;
  r.message("slow", [&]() -> awaitable<int> {
    try {
      co_await never.wait();
    } catch (const boost::system::system_error&) {
      cancelled = true;
      throw;
    }
    co_return 1;
  });
  r.message("fast", []() -> awaitable<int> { co_return 2; });
  r.enhance().use_interceptor(timeout_interceptor(30ms));
  dispatcher d(r, logger::silent());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(serve(d, req(R"("slow")", "0")).replies,
              ElementsAre(error_frame(R"({"status":"error","message":"Request timed out"})")));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 30ms);  // not before the limit
  EXPECT_TRUE(cancelled);
  EXPECT_THAT(serve(d, req(R"("fast")", "0")).replies, ElementsAre(response("2")));
}

// ---------------------------------------------------------------------------------------------
// The cache interceptor

std::string req_with(std::string_view pattern, std::string_view data, std::string_view metadata) {
  return R"({"pattern":)" + std::string(pattern) + R"(,"data":)" + std::string(data) +
         R"(,"id":"x1","metadata":)" + std::string(metadata) + "}";
}

TEST(enhancers_cache, equal_payloads_are_answered_from_the_cache_on_both_paths) {
  int calls = 0;
  router r;
  r.message("price", [&calls](const json::value& v) {
    ++calls;
    return json::value{{"call", calls}, {"for", v}};
  });
  r.message("price-async", [&calls](const json::value& v) -> awaitable<json::value> {
    ++calls;
    co_return json::value{{"call", calls}, {"for", v}};
  });
  r.enhance().use_interceptor(cache_interceptor({}));
  dispatcher d(r, logger::silent());
  const auto first = serve(d, req(R"("price")", R"({"sku":"a","n":[1,{"x":1,"y":2}]})"));
  EXPECT_THAT(first.replies,
              ElementsAre(response(R"({"call":1,"for":{"sku":"a","n":[1,{"x":1,"y":2}]}})")));
  EXPECT_TRUE(first.inline_) << "synchronous hooks keep the fast path";
  // The same payload, members in another order: the first answer again.
  EXPECT_THAT(serve(d, req(R"("price")", R"({"n":[1,{"y":2,"x":1}],"sku":"a"})")).replies,
              ElementsAre(response(R"({"call":1,"for":{"sku":"a","n":[1,{"x":1,"y":2}]}})")));
  // Another payload, another route (same interceptor): their own answers.
  EXPECT_THAT(serve(d, req(R"("price")", R"({"sku":"b"})")).replies,
              ElementsAre(response(R"({"call":2,"for":{"sku":"b"}})")));
  EXPECT_THAT(serve(d, req(R"("price-async")", R"({"sku":"a"})")).replies,
              ElementsAre(response(R"({"call":3,"for":{"sku":"a"}})")));
  EXPECT_THAT(serve(d, req(R"("price-async")", R"({"sku":"a"})")).replies,
              ElementsAre(response(R"({"call":3,"for":{"sku":"a"}})")));
  EXPECT_THAT(serve(d, req(R"("price")", R"({"sku":"b"})")).replies,
              ElementsAre(response(R"({"call":2,"for":{"sku":"b"}})")));
  EXPECT_EQ(calls, 3);
}

TEST(enhancers_cache, answers_expire_after_their_time_to_live) {
  int calls = 0;
  router r;
  r.message("n", [&calls] { return ++calls; });
  cache_options o;
  o.ttl = 20ms;
  r.enhance("n").use_interceptor(cache_interceptor(o));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("n")", "0")).replies, ElementsAre(response("1")));
  std::this_thread::sleep_for(40ms);  // past the ttl: a lower bound, safe on a slow machine
  EXPECT_THAT(serve(d, req(R"("n")", "0")).replies, ElementsAre(response("2")));
}

TEST(enhancers_cache, the_least_recently_used_answer_goes_first_when_full) {
  std::vector<std::string> ran;
  router r;
  r.message("k", [&ran](const std::string& k) {
    ran.push_back(k);
    return k;
  });
  cache_options o;
  o.max_entries = 2;
  o.ttl = std::chrono::hours(1);
  r.enhance("k").use_interceptor(cache_interceptor(o));
  dispatcher d(r, logger::silent());
  for (const char* k : {R"("a")", R"("b")", R"("a")", R"("c")", R"("a")", R"("b")"}) {
    EXPECT_THAT(serve(d, req(R"("k")", k)).replies, ElementsAre(response(k)));
  }
  // a, b run; a is a hit (now most recent); c evicts b; a is a hit; b runs again.
  EXPECT_THAT(ran, ElementsAre("a", "b", "c", "b"));
}

TEST(enhancers_cache, errors_streams_and_events_are_not_cached) {
  int calls = 0;
  router r;
  r.message("flaky", [&calls]() -> int {
    if (++calls == 1) throw rpc_exception("try again");
    return calls;
  });
  r.message("count", [&calls](int n) -> stream<int> {
    ++calls;
    for (int i = 1; i <= n; ++i) co_yield i;
  });
  int events = 0;
  r.event("seen", [&events](int) { ++events; });
  r.enhance().use_interceptor(cache_interceptor({}));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("flaky")", "0")).replies,
              ElementsAre(error_frame(R"({"status":"error","message":"try again"})")));
  EXPECT_THAT(serve(d, req(R"("flaky")", "0")).replies, ElementsAre(response("2")));
  EXPECT_THAT(serve(d, req(R"("flaky")", "0")).replies, ElementsAre(response("2")));
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(serve(d, req(R"("count")", "1")).replies,
                ElementsAre(R"({"response":1,"isDisposed":true,"id":"x1"})"));
  }
  EXPECT_EQ(calls, 4);
  serve(d, evt(R"("seen")", "1"));
  serve(d, evt(R"("seen")", "1"));
  EXPECT_EQ(events, 2);
}

TEST(enhancers_cache, chosen_headers_are_part_of_the_key) {
  int calls = 0;
  router r;
  r.message("mine", [&calls](context& ctx) {
    ++calls;
    const std::string* tenant = ctx.headers().get("x-tenant");
    EXPECT_TRUE(ctx.attributes().contains("roost.cache_key")) << "the key, until the way out";
    return tenant ? *tenant : std::string("none");
  });
  cache_options o;
  o.headers = {"x-tenant"};
  r.enhance("mine").use_interceptor(cache_interceptor(o));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req_with(R"("mine")", "1", R"({"x-tenant":"a"})")).replies,
              ElementsAre(response(R"("a")")));
  EXPECT_THAT(serve(d, req_with(R"("mine")", "1", R"({"x-tenant":"b"})")).replies,
              ElementsAre(response(R"("b")")));
  EXPECT_THAT(serve(d, req(R"("mine")", "1")).replies, ElementsAre(response(R"("none")")));
  EXPECT_THAT(serve(d, req_with(R"("mine")", "1", R"({"x-tenant":"a","other":"x"})")).replies,
              ElementsAre(response(R"("a")")));
  EXPECT_EQ(calls, 3);
}

TEST(enhancers_cache, interceptors_see_the_payload_on_the_way_in_only) {
  std::vector<std::string> seen;
  router r;
  r.message("n", [](int x) { return x; });
  r.enhance().use_interceptor(interceptor::hooks(
      [&seen](context& ctx) -> std::optional<call_result> {
        seen.push_back(ctx.guarded_data() ? json::serialize(*ctx.guarded_data()) : "null");
        return std::nullopt;
      },
      [&seen](context& ctx, call_result&) {
        seen.push_back(ctx.guarded_data() ? "after: shown" : "after: hidden");
      }));
  dispatcher d(r, logger::silent());
  EXPECT_THAT(serve(d, req(R"("n")", "5")).replies, ElementsAre(response("5")));
  EXPECT_THAT(seen, ElementsAre("5", "after: hidden"));
}

// Many calls at once on a service with two threads: every answer is right, whether it came from
// the handler or from the cache (TSan checks the cache's locking here).
TEST(enhancers_cache, concurrent_calls_share_one_cache) {
  std::atomic<int> calls{0};
  router r;
  r.message("square", [&calls](int x) {
    ++calls;
    return x * x;
  });
  cache_options co;
  co.max_entries = 4;  // fewer than the payloads: entries come and go while others read
  co.ttl = std::chrono::hours(1);
  r.enhance("square").use_interceptor(cache_interceptor(co));
  microservice_options o;
  o.threads = 2;
  o.handle_signals = false;
  o.log = logger::silent();
  microservice app(r, o);
  roost::testing::memory_broker broker;
  app.add_transport(broker.server());
  constexpr int n = 300;
  int right = 0;
  int done = 0;
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    co_await app.start();
    client_proxy client(ex, broker.client());
    for (int i = 0; i < n; ++i) {
      boost::asio::co_spawn(
          ex,
          [&, i]() -> awaitable<void> {
            const int x = i % 10;
            const int y = co_await client.send<int>("square", x);
            if (y == x * x) ++right;
            ++done;
          },
          boost::asio::detached);
    }
    const bool all = co_await roost::test::wait_until([&] { return done == n; }, 20s);
    EXPECT_TRUE(all);
    client.close();
    co_await app.shutdown();
  });
  EXPECT_EQ(right, n);
  EXPECT_GE(calls.load(), 10);
  EXPECT_LE(calls.load(), n);
}

TEST(enhancers_cache, refuses_a_cache_that_keeps_nothing) {
  cache_options o;
  o.max_entries = 0;
  EXPECT_THROW(cache_interceptor(o), std::invalid_argument);
  o.max_entries = 1;
  o.ttl = 0ms;
  EXPECT_THROW(cache_interceptor(o), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Microservice scope

TEST(enhancers_microservice, global_enhancers_apply_to_every_transport) {
  router r;
  r.message("n", [](int x) { return x; });
  r.message("secret", [] { return 1; });
  microservice_options o;
  o.threads = 1;
  o.handle_signals = false;
  o.log = logger::silent();
  microservice app(r, o);
  roost::testing::memory_broker first;
  roost::testing::memory_broker second;
  app.add_transport(first.server());
  app.add_transport(second.server());
  app.enhance().use_guard([](context& ctx) { return ctx.route() != "secret"; });
  app.enhance().use_interceptor(interceptor::hooks(
      {}, [](context&, call_result& res) { res.value = res.value->as_int64() + 100; }));

  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    co_await app.start();
    std::array<roost::testing::memory_broker*, 2> brokers{&first, &second};
    for (auto* broker : brokers) {
      client_proxy client(ex, broker->client());
      const int n = co_await client.send<int>("n", 1);
      EXPECT_EQ(n, 101);
      std::optional<json::value> err;
      try {
        co_await client.send<int>("secret", 0);
      } catch (const rpc_error& e) {
        err = e.error();
      }
      EXPECT_EQ(err ? boost::json::serialize(*err) : "no error",
                R"({"status":"error","message":"Forbidden resource"})");
      client.close();
    }
    co_await app.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// No enhancer: nothing changes

TEST(enhancers_none, a_route_with_only_enhancers_is_not_a_handler) {
  router r;
  r.enhance("ghost").use_guard([](context&) { return true; });
  EXPECT_EQ(r.find("ghost"), nullptr);
  EXPECT_TRUE(r.entries().empty());
  dispatcher d(r, logger::silent());
  EXPECT_THAT(
      serve(d, req(R"("ghost")", "0")).replies,
      ElementsAre(
          R"({"id":"x1","status":"error","err":"There is no matching message handler defined in the remote service."})"));
}

}  // namespace
}  // namespace roost
