#include <roost/dispatcher.hpp>

#include <roost/errors.hpp>
#include <roost/packet.hpp>
#include <roost/router.hpp>
#include <roost/stream.hpp>
#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Tier 2 (sans transport): the dispatcher serves decoded packets for a router and writes reply
// packets to a recording sink, so every test sees the exact frames a NestJS peer would get
// (nest-wire-protocol.md §1.4, §1.5, §1.6).

namespace roost_dispatcher_test {

struct order {
  std::string id;
  std::vector<int> items;
};
BOOST_DESCRIBE_STRUCT(order, (), (id, items))

struct line {
  std::string sku;
  int qty = 0;
};
BOOST_DESCRIBE_STRUCT(line, (), (sku, qty))

struct cart {
  std::string user;
  std::vector<line> lines;
  std::optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(cart, (), (user, lines, note))

}  // namespace roost_dispatcher_test

namespace roost {
namespace {

using namespace std::chrono_literals;
using roost::test::log_capture;
using roost::test::sleep_for;
using roost_dispatcher_test::cart;
using roost_dispatcher_test::order;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using frames = std::vector<std::string>;

constexpr std::string_view internal_error_frame =
    R"({"err":{"status":"error","message":"Internal server error"},"isDisposed":true,"id":"x1"})";
constexpr std::string_view no_handler_frame =
    R"({"id":"x1","status":"error","err":"There is no matching message handler defined in the remote service."})";

/// A reply sink that records each packet exactly as a transport would write it.
class recording_sink final : public reply_sink {
 public:
  explicit recording_sink(json::value id) : id_(std::move(id)) {}
  awaitable<void> send(reply_packet reply, const json::value& id) override {
    EXPECT_EQ(id, id_);  // each reply comes with its request's id
    std::string out;
    encode_reply(out, reply, id);
    frames_.push_back(std::move(out));
    co_return;
  }
  const frames& written() const noexcept { return frames_; }

 private:
  json::value id_;
  frames frames_;
};

/// Decodes `text` as a server would and dispatches it; returns the frames written.
awaitable<frames> serve_text(dispatcher& d, std::string_view text) {
  auto p = decode_inbound(text);
  if (!p) {
    ADD_FAILURE() << "bad test packet: " << text;
    co_return frames{};
  }
  context ctx("test", p->pattern, p->metadata);
  if (p->id) {
    recording_sink sink(*p->id);
    co_await d.dispatch(*p, ctx, &sink);
    co_return sink.written();
  }
  co_await d.dispatch(*p, ctx, nullptr);
  co_return frames{};
}

/// Serves one packet on a fresh io_context.
frames serve(const router& r, std::string_view text, logger log = logger::silent()) {
  dispatcher d(r, std::move(log));
  frames out;
  roost::testing::run([&]() -> awaitable<void> { out = co_await serve_text(d, text); });
  EXPECT_EQ(d.in_flight(), 0u);
  return out;
}

/// A request for `pattern` (JSON text) with `data` (JSON text) and id "x1".
std::string req(std::string_view pattern, std::string_view data) {
  return R"({"pattern":)" + std::string(pattern) + R"(,"data":)" + std::string(data) +
         R"(,"id":"x1"})";
}

/// An event (no id).
std::string evt(std::string_view pattern, std::string_view data) {
  return R"({"pattern":)" + std::string(pattern) + R"(,"data":)" + std::string(data) + "}";
}

json::object frame_object(const std::string& frame) {
  return json::parse(frame).as_object();
}

int plus_one(int x) {
  return x + 1;
}

// ---------------------------------------------------------------------------------------------
// Handler shapes

TEST(dispatcher_handlers, no_argument) {
  router r;
  r.message("answer", [] { return 42; });
  EXPECT_THAT(serve(r, req(R"("answer")", "null")),
              ElementsAre(R"({"response":42,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, payload_argument) {
  router r;
  r.message("sum", [](std::vector<int> xs) {
    int s = 0;
    for (int x : xs) s += x;
    return s;
  });
  // §2.3: {"pattern":"sum","data":[1,2,3],"id":"a1"} → {"response":6,"isDisposed":true,"id":"a1"}
  EXPECT_THAT(serve(r, req(R"("sum")", "[1,2,3]")),
              ElementsAre(R"({"response":6,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, payload_by_const_reference_and_raw_json) {
  router r;
  r.message("upper", [](const std::string& s) { return s + "!"; });
  r.message("raw", [](json::value v) { return v; });
  EXPECT_THAT(serve(r, req(R"("upper")", R"("hi")")),
              ElementsAre(R"({"response":"hi!","isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(
      serve(r, req(R"("raw")", R"({"b":[1,{"c":null}],"a":"é"})")),
      ElementsAre(R"({"response":{"b":[1,{"c":null}],"a":"é"},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, payload_and_context) {
  router r;
  r.message(json::value{{"role", "math"}, {"cmd", "sum"}}, [](int x, context& ctx) {
    return json::value{{"x", x},
                       {"route", ctx.route()},
                       {"transport", ctx.transport()},
                       {"request", ctx.is_request()},
                       {"pattern", ctx.pattern()}};
  });
  // The pattern reaches the handler as the client wrote it; the route is normalized.
  EXPECT_THAT(
      serve(r, req(R"({"role":"math","cmd":"sum"})", "5")),
      ElementsAre(
          R"({"response":{"x":5,"route":"{\"cmd\":\"sum\",\"role\":\"math\"}","transport":"test","request":true,"pattern":{"role":"math","cmd":"sum"}},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, context_only) {
  router r;
  r.message("who", [](context& ctx) -> std::string { return std::string(ctx.transport()); });
  r.message("const-ctx", [](const context& ctx) { return ctx.route(); });
  EXPECT_THAT(serve(r, req(R"("who")", "1")),
              ElementsAre(R"({"response":"test","isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("const-ctx")", "1")),
              ElementsAre(R"({"response":"const-ctx","isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, function_pointer_and_mutable_lambda) {
  router r;
  r.message("inc", &plus_one);
  r.message("inc-by-name", plus_one);
  r.message("counter", [n = 0]() mutable { return ++n; });
  EXPECT_THAT(serve(r, req(R"("inc")", "41")),
              ElementsAre(R"({"response":42,"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("inc-by-name")", "1")),
              ElementsAre(R"({"response":2,"isDisposed":true,"id":"x1"})"));
  // State of a mutable handler persists between calls.
  EXPECT_THAT(serve(r, req(R"("counter")", "null")),
              ElementsAre(R"({"response":1,"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("counter")", "null")),
              ElementsAre(R"({"response":2,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, awaitable_result) {
  router r;
  r.message("slow-double", [](int x) -> awaitable<int> {
    co_await sleep_for(2ms);
    co_return x * 2;
  });
  EXPECT_THAT(serve(r, req(R"("slow-double")", "21")),
              ElementsAre(R"({"response":42,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, void_results_send_end_only) {
  router r;
  int calls = 0;
  r.message("void", [&calls](int) { ++calls; });
  r.message("async-void", [&calls](int) -> awaitable<void> {
    co_await sleep_for(1ms);
    ++calls;
  });
  // §1.5: undefined → {"isDisposed":true,"id":…}
  EXPECT_THAT(serve(r, req(R"("void")", "1")), ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("async-void")", "1")),
              ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
  EXPECT_EQ(calls, 2);
}

TEST(dispatcher_handlers, optional_result) {
  router r;
  r.message("maybe", [](int x) -> std::optional<int> {
    if (x > 0) return x;
    return std::nullopt;
  });
  r.message("maybe-async", [](int x) -> awaitable<std::optional<std::string>> {
    co_await sleep_for(1ms);
    if (x > 0) co_return "yes";
    co_return std::nullopt;
  });
  EXPECT_THAT(serve(r, req(R"("maybe")", "3")),
              ElementsAre(R"({"response":3,"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("maybe")", "0")), ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("maybe-async")", "1")),
              ElementsAre(R"({"response":"yes","isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("maybe-async")", "0")),
              ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, null_result_is_a_value) {
  router r;
  r.message("null", [] { return json::value(nullptr); });
  // §1.5: null → {"response":null,"isDisposed":true,"id":…}
  EXPECT_THAT(serve(r, req(R"("null")", "1")),
              ElementsAre(R"({"response":null,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, described_structs_in_and_out) {
  router r;
  r.message("order.echo", [](order o) {
    o.items.push_back(static_cast<int>(o.items.size()));
    o.id += "-seen";
    return o;
  });
  r.message("cart.total", [](const cart& c) {
    int total = 0;
    for (const auto& l : c.lines) total += l.qty;
    return json::value{{"user", c.user}, {"total", total}, {"note", c.note.value_or("-")}};
  });
  EXPECT_THAT(
      serve(r, req(R"("order.echo")", R"({"id":"o1","items":[5,6]})")),
      ElementsAre(R"({"response":{"id":"o1-seen","items":[5,6,2]},"isDisposed":true,"id":"x1"})"));
  // Unknown keys are ignored; a missing optional field is fine.
  EXPECT_THAT(
      serve(r, req(R"("cart.total")",
                   R"({"user":"u","extra":1,"lines":[{"sku":"a","qty":2},{"sku":"b","qty":3}]})")),
      ElementsAre(R"({"response":{"user":"u","total":5,"note":"-"},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_handlers, coroutine_handlers_may_take_the_payload_by_reference) {
  // The payload must outlive the call even though the handler only holds a reference to it.
  router r;
  r.message("await-ref", [](const order& o, context& ctx) -> awaitable<std::string> {
    co_await sleep_for(2ms);
    co_return o.id + ":" + std::to_string(o.items.size()) + ":" + ctx.route();
  });
  r.message("stream-ref", [](const std::vector<std::string>& words) -> stream<std::string> {
    for (const auto& w : words) {
      co_await sleep_for(1ms);
      co_yield w + "!";
    }
  });
  r.message("await-void-ref", [](const std::string& s) -> awaitable<void> {
    co_await sleep_for(1ms);
    if (s != "keep me") throw rpc_exception("payload changed: " + s);
  });
  EXPECT_THAT(serve(r, req(R"("await-ref")", R"({"id":"o7","items":[1,2,3]})")),
              ElementsAre(R"({"response":"o7:3:await-ref","isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("stream-ref")", R"(["a","bb"])")),
              ElementsAre(R"({"response":"a!","id":"x1"})",
                          R"({"response":"bb!","isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("await-void-ref")", R"("keep me")")),
              ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
}

// ---------------------------------------------------------------------------------------------
// Payloads that do not convert

void expect_payload_error(const frames& f, std::string_view field) {
  ASSERT_EQ(f.size(), 1u);
  auto o = frame_object(f[0]);
  EXPECT_EQ(o.size(), 3u) << f[0];
  EXPECT_EQ(o["isDisposed"], json::value(true)) << f[0];
  EXPECT_EQ(o["id"], json::value("x1")) << f[0];
  ASSERT_TRUE(o["err"].is_object()) << f[0];
  auto& err = o["err"].as_object();
  EXPECT_EQ(err["status"], json::value("error")) << f[0];
  ASSERT_TRUE(err["message"].is_string()) << f[0];
  EXPECT_THAT(std::string(err["message"].as_string()), HasSubstr(std::string(field))) << f[0];
  EXPECT_THAT(f[0], ::testing::StartsWith(R"({"err":{"status":"error","message":")"));
}

TEST(dispatcher_payload, wrong_element_type_names_the_field) {
  router r;
  bool called = false;
  r.message("order", [&called](order) { called = true; });
  expect_payload_error(serve(r, req(R"("order")", R"({"id":"o1","items":[1,"x",3]})")), "items[1]");
  EXPECT_FALSE(called);
}

TEST(dispatcher_payload, nested_field_path) {
  router r;
  r.message("cart", [](cart) { return 1; });
  expect_payload_error(
      serve(r, req(R"("cart")",
                   R"({"user":"u","lines":[{"sku":"a","qty":1},{"sku":"b","qty":"2"}]})")),
      "lines[1].qty");
  expect_payload_error(serve(r, req(R"("cart")", R"({"user":"u"})")), "lines");
  expect_payload_error(serve(r, req(R"("cart")", R"({"user":7,"lines":[]})")), "user");
  expect_payload_error(serve(r, req(R"("cart")", R"({"user":"u","lines":[],"note":5})")), "note");
}

TEST(dispatcher_payload, wrong_top_level_type) {
  router r;
  r.message("int", [](int x) { return x; });
  r.message("vec", [](std::vector<int> v) { return v.size(); });
  r.message("obj", [](order o) { return o.id; });
  for (auto data : {R"("abc")", "null", "[1]", "1.5", "10000000000"}) {
    const auto f = serve(r, req(R"("int")", data));
    ASSERT_EQ(f.size(), 1u) << data;
    EXPECT_THAT(f[0], HasSubstr(R"("isDisposed":true,"id":"x1"})")) << data;
    EXPECT_THAT(f[0], HasSubstr("Invalid payload")) << data;
  }
  const auto v = serve(r, req(R"("vec")", R"({"a":1})"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_THAT(v[0], HasSubstr("Invalid payload"));
  const auto o = serve(r, req(R"("obj")", "[1,2]"));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_THAT(o[0], HasSubstr("Invalid payload"));
}

// ---------------------------------------------------------------------------------------------
// Errors (§1.6)

TEST(dispatcher_errors, rpc_exception_with_string) {
  router r;
  r.message("rpcErr", [](int) -> int { throw rpc_exception("bad thing"); });
  // §2.3: {"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":"e1"}
  EXPECT_THAT(
      serve(r, req(R"("rpcErr")", "0")),
      ElementsAre(
          R"({"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_errors, rpc_exception_with_object_is_sent_as_given) {
  router r;
  r.message("objErr", []() -> awaitable<int> {
    co_await sleep_for(1ms);
    throw rpc_exception(json::object{{"code", 42}, {"message", "obj err"}});
  });
  EXPECT_THAT(
      serve(r, req(R"("objErr")", "0")),
      ElementsAre(R"({"err":{"code":42,"message":"obj err"},"isDisposed":true,"id":"x1"})"));
}

// An array is an object to JavaScript: NestJS's RpcException sends it as it is.
TEST(dispatcher_errors, rpc_exception_with_array_is_sent_as_given) {
  router r;
  r.message("arrErr", [](int) -> int { throw rpc_exception(json::array{1, "two"}); });
  EXPECT_THAT(serve(r, req(R"("arrErr")", "0")),
              ElementsAre(R"({"err":[1,"two"],"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_errors, any_other_exception_is_internal_server_error_and_logged) {
  router r;
  r.message("boom", [](int) -> int { throw std::runtime_error("secret detail"); });
  r.message("odd", [](int) -> int { throw 42; });
  log_capture logs;
  const auto f = serve(r, req(R"("boom")", "0"), logs.make());
  EXPECT_THAT(f, ElementsAre(internal_error_frame));
  // The original error is logged on the server, not sent.
  EXPECT_TRUE(logs.contains(log_level::error, "secret detail"));
  EXPECT_THAT(f[0], ::testing::Not(HasSubstr("secret")));
  EXPECT_THAT(serve(r, req(R"("odd")", "0")), ElementsAre(internal_error_frame));
}

TEST(dispatcher_errors, handler_asking_for_another_transports_context) {
  struct other_context : context {
    using context::context;
  };
  router r;
  r.message("other", [](other_context&) { return 1; });
  EXPECT_THAT(serve(r, req(R"("other")", "0")), ElementsAre(internal_error_frame));
}

TEST(dispatcher_errors, no_handler_exact_nest_reply) {
  router r;
  r.message("sum", [] { return 1; });
  EXPECT_THAT(serve(r, req(R"("nope")", "1")), ElementsAre(no_handler_frame));
  EXPECT_THAT(serve(router{}, req(R"({"cmd":"x"})", "1")), ElementsAre(no_handler_frame));
}

TEST(dispatcher_errors, null_id_is_still_a_request) {
  router r;
  r.message("p", [] { return 1; });
  dispatcher d(r, logger::silent());
  frames out;
  roost::testing::run([&]() -> awaitable<void> {
    out = co_await serve_text(d, R"({"pattern":"p","data":1,"id":null})");
  });
  EXPECT_THAT(out, ElementsAre(R"({"response":1,"isDisposed":true,"id":null})"));
}

// ---------------------------------------------------------------------------------------------
// Streams and the isDisposed coalescing rule (§1.5)

TEST(dispatcher_streams, synchronous_values_last_one_disposed) {
  router r;
  r.message("of", []() -> stream<int> {
    co_yield 1;
    co_yield 2;
    co_yield 3;
  });
  EXPECT_THAT(serve(r, req(R"("of")", "0")),
              ElementsAre(R"({"response":1,"id":"x1"})", R"({"response":2,"id":"x1"})",
                          R"({"response":3,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, interval_like_end_merges_into_last_value) {
  // interval(5).pipe(take(3)): the end comes in the same tick as the last value.
  router r;
  r.message("stream", [](int) -> stream<int> {
    for (int i = 0; i < 3; ++i) {
      co_await sleep_for(2ms);
      co_yield i * 10;
    }
  });
  // §2.3:
  // 24#{"response":0,"id":"s1"}25#{"response":10,"id":"s1"}43#{"response":20,"isDisposed":true,"id":"s1"}
  EXPECT_THAT(serve(r, req(R"("stream")", "0")),
              ElementsAre(R"({"response":0,"id":"x1"})", R"({"response":10,"id":"x1"})",
                          R"({"response":20,"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, late_end_is_a_separate_packet) {
  // concat(of(1), timer(20).pipe(ignoreElements())): the value goes out, the end later alone.
  router r;
  r.message("late", []() -> stream<int> {
    co_yield 1;
    co_await sleep_for(5ms);
  });
  EXPECT_THAT(serve(r, req(R"("late")", "0")),
              ElementsAre(R"({"response":1,"id":"x1"})", R"({"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, value_is_not_held_back_while_the_body_waits) {
  // The first value must be on the wire before the body finishes waiting.
  router r;
  bool second_started = false;
  r.message("paced", [&second_started]() -> stream<int> {
    co_yield 1;
    co_await sleep_for(20ms);
    second_started = true;
    co_yield 2;
  });
  dispatcher d(r, logger::silent());
  roost::testing::run([&]() -> awaitable<void> {
    auto p = decode_inbound(req(R"("paced")", "0"));
    context ctx("test", p->pattern);
    struct watching_sink final : reply_sink {
      bool& flag;
      std::vector<bool> flag_at_send;
      explicit watching_sink(bool& f) : flag(f) {}
      awaitable<void> send(reply_packet, const json::value&) override {
        flag_at_send.push_back(flag);
        co_return;
      }
    } sink(second_started);
    co_await d.dispatch(*p, ctx, &sink);
    EXPECT_THAT(sink.flag_at_send, ElementsAre(false, true));
  });
}

TEST(dispatcher_streams, empty_streams_send_end_only) {
  router r;
  r.message("empty", []() -> stream<int> { co_return; });
  r.message("async-empty", []() -> stream<int> { co_await sleep_for(1ms); });
  EXPECT_THAT(serve(r, req(R"("empty")", "0")), ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("async-empty")", "0")),
              ElementsAre(R"({"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, one_value) {
  router r;
  r.message("one", []() -> stream<std::string> { co_yield "only"; });
  EXPECT_THAT(serve(r, req(R"("one")", "0")),
              ElementsAre(R"({"response":"only","isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, thousand_values) {
  router r;
  r.message("count", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) {
      if (i % 250 == 0) co_await sleep_for(0ms);
      co_yield i;
    }
  });
  const auto f = serve(r, req(R"("count")", "1000"));
  ASSERT_EQ(f.size(), 1000u);
  for (int i = 0; i < 999; ++i) {
    ASSERT_EQ(f[i], R"({"response":)" + std::to_string(i) + R"(,"id":"x1"})");
  }
  EXPECT_EQ(f[999], R"({"response":999,"isDisposed":true,"id":"x1"})");
}

// A handler taking a stream of requests (gRPC client and bidirectional streaming), served on a
// transport that sends one message per request: the message's data is the stream's one value.
TEST(dispatcher_streams, a_stream_of_requests_is_the_data_alone_elsewhere) {
  router r;
  r.message("sum", [](stream<int> numbers) -> awaitable<int> {
    int total = 0;
    for (;;) {
      auto n = co_await numbers.next();
      if (!n) break;
      total += *n + 100;
    }
    co_return total;
  });
  r.message("echo", [](stream<std::string> words) -> stream<std::string> {
    for (;;) {
      auto w = co_await words.next();
      if (!w) break;
      co_yield *w + "!";
    }
  });
  EXPECT_THAT(serve(r, req(R"("sum")", "5")),
              ElementsAre(R"({"response":105,"isDisposed":true,"id":"x1"})"));
  // (Its end comes after an asynchronous step: a packet of its own, as any late end.)
  EXPECT_THAT(serve(r, req(R"("echo")", R"("hi")")),
              ElementsAre(R"({"response":"hi!","id":"x1"})", R"({"isDisposed":true,"id":"x1"})"));
  // A request that does not convert ends the stream with the payload's error.
  const auto f = serve(r, req(R"("sum")", R"("five")"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_THAT(f[0], HasSubstr(R"("err")"));
}

TEST(dispatcher_streams, described_struct_elements) {
  router r;
  r.message("orders", []() -> stream<order> {
    order a;
    a.id = "a";
    a.items.push_back(1);
    co_yield a;
    order b;
    b.id = "b";
    co_yield b;
  });
  EXPECT_THAT(serve(r, req(R"("orders")", "0")),
              ElementsAre(R"({"response":{"id":"a","items":[1]},"id":"x1"})",
                          R"({"response":{"id":"b","items":[]},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, throw_at_start_sends_only_the_error) {
  router r;
  r.message("bad", []() -> stream<int> {
    throw rpc_exception("no stream for you");
    co_yield 1;
  });
  EXPECT_THAT(
      serve(r, req(R"("bad")", "0")),
      ElementsAre(
          R"({"err":{"status":"error","message":"no stream for you"},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, throw_midway_sends_values_then_the_error) {
  router r;
  r.message("sync-fail", []() -> stream<int> {
    co_yield 1;
    co_yield 2;
    throw std::runtime_error("midway");
  });
  r.message("async-fail", []() -> stream<int> {
    co_yield 1;
    co_await sleep_for(2ms);
    co_yield 2;
    co_await sleep_for(2ms);
    throw rpc_exception("stopped");
  });
  EXPECT_THAT(serve(r, req(R"("sync-fail")", "0")),
              ElementsAre(R"({"response":1,"id":"x1"})", R"({"response":2,"id":"x1"})",
                          internal_error_frame));
  EXPECT_THAT(
      serve(r, req(R"("async-fail")", "0")),
      ElementsAre(R"({"response":1,"id":"x1"})", R"({"response":2,"id":"x1"})",
                  R"({"err":{"status":"error","message":"stopped"},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_streams, raw_json_elements) {
  router r;
  r.message("raw", []() -> stream<json::value> {
    co_yield json::value(1);
    json::object o;
    o["k"] = "v";
    co_yield json::value(std::move(o));
  });
  EXPECT_THAT(serve(r, req(R"("raw")", "0")),
              ElementsAre(R"({"response":1,"id":"x1"})",
                          R"({"response":{"k":"v"},"isDisposed":true,"id":"x1"})"));
}

// ---------------------------------------------------------------------------------------------
// Events and routing (§1.4)

TEST(dispatcher_events, every_handler_runs_in_registration_order_and_nothing_is_written) {
  router r;
  std::vector<std::string> seen;
  r.event("created", [&seen](json::value v) { seen.push_back("a:" + json::serialize(v)); });
  r.event("created", [&seen](int x) { seen.push_back("b:" + std::to_string(x)); });
  r.event("created", [&seen](json::value v, context& ctx) {
    seen.push_back("c:" + json::serialize(v) + (ctx.is_request() ? ":req" : ":evt"));
  });
  EXPECT_TRUE(serve(r, evt(R"("created")", "7")).empty());
  EXPECT_THAT(seen, ElementsAre("a:7", "b:7", "c:7:evt"));
}

TEST(dispatcher_events, every_handler_gets_the_whole_payload) {
  // json::value handlers take the payload by value; each must see it intact.
  router r;
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    r.event("e", [&seen](json::value v) {
      seen.push_back(json::serialize(v));
      v.as_object()["mutated"] = true;
    });
  }
  serve(r, evt(R"("e")", R"({"x":[1,2]})"));
  EXPECT_THAT(seen, ElementsAre(R"({"x":[1,2]})", R"({"x":[1,2]})", R"({"x":[1,2]})"));
}

TEST(dispatcher_events, a_failing_handler_is_logged_and_the_others_still_run) {
  router r;
  std::vector<int> ran;
  r.event("e", [&ran](int) {
    ran.push_back(1);
    throw std::runtime_error("first failed");
  });
  r.event("e", [&ran](int) { ran.push_back(2); });
  r.event("e", [&ran](std::string) { ran.push_back(3); });  // wrong payload type
  log_capture logs;
  EXPECT_TRUE(serve(r, evt(R"("e")", "1"), logs.make()).empty());
  EXPECT_THAT(ran, ElementsAre(1, 2));
  EXPECT_TRUE(logs.contains(log_level::error, "first failed"));
}

TEST(dispatcher_events, asynchronous_and_streaming_event_handlers_run_to_the_end) {
  router r;
  std::vector<int> seen;
  r.event("e", [&seen](int x) -> awaitable<void> {
    co_await sleep_for(2ms);
    seen.push_back(x);
  });
  r.event("e", [&seen](int x) -> stream<int> {
    for (int i = 0; i < 3; ++i) {
      co_await sleep_for(1ms);
      seen.push_back(x * 10 + i);
      co_yield i;
    }
  });
  serve(r, evt(R"("e")", "4"));
  EXPECT_THAT(seen, ElementsAre(4, 40, 41, 42));
}

TEST(dispatcher_events, event_to_a_message_route_runs_the_handler_without_a_reply) {
  router r;
  std::vector<std::string> calls;
  r.message("sum", [&calls](std::vector<int> xs, context& ctx) {
    calls.push_back(std::to_string(xs.size()) + (ctx.is_request() ? "req" : "evt"));
    return 1;
  });
  EXPECT_TRUE(serve(r, evt(R"("sum")", "[1,2]")).empty());
  EXPECT_THAT(calls, ElementsAre("2evt"));
}

TEST(dispatcher_events, event_without_handler_is_logged_with_nest_text) {
  router r;
  log_capture logs;
  EXPECT_TRUE(serve(r, evt(R"("ghost")", "1"), logs.make()).empty());
  EXPECT_TRUE(logs.contains(
      log_level::error,
      "There is no matching event handler defined in the remote service. Event pattern: ghost"));
}

TEST(dispatcher_events, request_to_event_only_route_replies_with_fork_join_shape) {
  router r;
  int runs = 0;
  r.event("two-void", [&runs](int) { ++runs; });
  r.event("two-void", [&runs](int) { ++runs; });
  // §1.4: two handlers returning undefined → {"response":{},"isDisposed":true,"id":"x1"}
  EXPECT_THAT(serve(r, req(R"("two-void")", "1")),
              ElementsAre(R"({"response":{},"isDisposed":true,"id":"x1"})"));
  EXPECT_EQ(runs, 2);

  r.event("two-values", [](int x) { return x; });
  r.event("two-values", [](int x) -> awaitable<int> {
    co_await sleep_for(1ms);
    co_return x * 2;
  });
  EXPECT_THAT(serve(r, req(R"("two-values")", "3")),
              ElementsAre(R"({"response":{"current":3,"next":6},"isDisposed":true,"id":"x1"})"));

  r.event("one-value", [](int x) { return x + 1; });
  EXPECT_THAT(serve(r, req(R"("one-value")", "3")),
              ElementsAre(R"({"response":4,"isDisposed":true,"id":"x1"})"));

  r.event("one-void", [](int) {});
  EXPECT_THAT(serve(r, req(R"("one-void")", "3")), ElementsAre(R"({"isDisposed":true,"id":"x1"})"));

  r.event("fails", [](int) -> int { throw rpc_exception("nope"); });
  EXPECT_THAT(
      serve(r, req(R"("fails")", "3")),
      ElementsAre(R"({"err":{"status":"error","message":"nope"},"isDisposed":true,"id":"x1"})"));
}

TEST(dispatcher_routing, object_pattern_matches_whatever_key_order_or_form) {
  router r;
  r.message(json::value{{"role", "math"}, {"cmd", "sum"}}, [](int x) { return x; });
  const std::string ok = R"({"response":1,"isDisposed":true,"id":"x1"})";
  EXPECT_THAT(serve(r, req(R"({"cmd":"sum","role":"math"})", "1")), ElementsAre(ok));
  EXPECT_THAT(serve(r, req(R"({"role":"math","cmd":"sum"})", "1")), ElementsAre(ok));
  // §1.3: the already normalized route string (a TCP event's pattern, or a channel) matches too.
  EXPECT_THAT(serve(r, req(R"("{\"cmd\":\"sum\",\"role\":\"math\"}")", "1")), ElementsAre(ok));
  EXPECT_THAT(serve(r, req(R"("{\"role\":\"math\",\"cmd\":\"sum\"}")", "1")), ElementsAre(ok));
  EXPECT_THAT(serve(r, req(R"({"cmd":"sum","role":"math","x":1})", "1")),
              ElementsAre(no_handler_frame));
}

TEST(dispatcher_routing, numeric_pattern) {
  router r;
  r.message(42, [] { return "forty-two"; });
  const std::string ok = R"({"response":"forty-two","isDisposed":true,"id":"x1"})";
  EXPECT_THAT(serve(r, req("42", "0")), ElementsAre(ok));
  EXPECT_THAT(serve(r, req(R"("42")", "0")), ElementsAre(ok));
}

TEST(dispatcher_context, metadata_reaches_the_handler) {
  router r;
  r.message("md", [](context& ctx) -> json::value {
    if (!ctx.metadata()) return "none";
    return *ctx.metadata();
  });
  EXPECT_THAT(
      serve(r, R"({"pattern":"md","data":1,"metadata":{"trace":"t1","user":"u"},"id":"x1"})"),
      ElementsAre(R"({"response":{"trace":"t1","user":"u"},"isDisposed":true,"id":"x1"})"));
  EXPECT_THAT(serve(r, req(R"("md")", "1")),
              ElementsAre(R"({"response":"none","isDisposed":true,"id":"x1"})"));
}

// ---------------------------------------------------------------------------------------------
// In flight and drain

TEST(dispatcher_drain, counts_in_flight_and_drains) {
  router r;
  r.message("slow", []() -> awaitable<int> {
    co_await sleep_for(30ms);
    co_return 1;
  });
  r.message("hang", []() -> awaitable<int> {
    co_await sleep_for(300ms);
    co_return 2;
  });
  dispatcher d(r, logger::silent());
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    const bool idle = co_await d.drain(0ms);
    EXPECT_TRUE(idle);
    frames slow_frames, hang_frames;
    boost::asio::co_spawn(
        ex,
        [&]() -> awaitable<void> { slow_frames = co_await serve_text(d, req(R"("slow")", "0")); },
        boost::asio::detached);
    boost::asio::co_spawn(
        ex,
        [&]() -> awaitable<void> { hang_frames = co_await serve_text(d, req(R"("hang")", "0")); },
        boost::asio::detached);
    co_await sleep_for(5ms);
    EXPECT_EQ(d.in_flight(), 2u);
    const bool early = co_await d.drain(50ms);  // "slow" finishes, "hang" does not
    EXPECT_FALSE(early);
    EXPECT_EQ(d.in_flight(), 1u);
    EXPECT_THAT(slow_frames, ElementsAre(R"({"response":1,"isDisposed":true,"id":"x1"})"));
    const bool late = co_await d.drain(2s);
    EXPECT_TRUE(late);
    EXPECT_EQ(d.in_flight(), 0u);
    EXPECT_THAT(hang_frames, ElementsAre(R"({"response":2,"isDisposed":true,"id":"x1"})"));
  });
}

// ---- serve(): synchronous handlers served without a coroutine ----

/// A sink that takes replies at once (as a socket's write queue does).
class immediate_sink final : public immediate_reply_sink {
 public:
  explicit immediate_sink(frames& out) : out_(out) {}
  void send_now(reply_packet reply, const json::value& id) override {
    std::string text;
    encode_reply(text, reply, id);
    out_.push_back(std::move(text));
  }

 private:
  frames& out_;
};

/// A sink that cannot take replies at once: only its awaitable send works.
class waiting_sink final : public reply_sink {
 public:
  explicit waiting_sink(frames& out) : out_(out) {}
  awaitable<void> send(reply_packet reply, const json::value& id) override {
    std::string text;
    encode_reply(text, reply, id);
    out_.push_back(std::move(text));
    co_return;
  }

 private:
  frames& out_;
};

/// What a transport gives serve(); `retained` tells that the message was left to a coroutine.
template <class Sink>
struct test_origin {
  frames* out;
  bool* retained;
  context make_context(json::value pattern, std::optional<json::object> metadata) {
    return context("test", std::move(pattern), std::move(metadata));
  }
  Sink make_sink() { return Sink(*out); }
  void retain() { *retained = true; }
};

struct try_result {
  bool served;  // before serve() returned
  frames written;
};

/// serve() on an executor that never runs: what is not served at once never runs.
try_result try_serve(dispatcher& d, std::string_view text, bool immediate = true,
                     std::string_view route = {}) {
  auto p = decode_inbound(text);
  EXPECT_TRUE(p) << text;
  boost::asio::io_context never_run;
  frames out;
  bool retained = false;
  if (immediate) {
    d.serve(never_run.get_executor(), *p, test_origin<immediate_sink>{&out, &retained}, route);
  } else {
    d.serve(never_run.get_executor(), *p, test_origin<waiting_sink>{&out, &retained}, route);
  }
  return {!retained, out};
}

router try_router(std::vector<std::string>& log) {
  router r;
  r.message("sum", [](std::vector<int> xs) {
    int s = 0;
    for (int x : xs) s += x;
    return s;
  });
  r.message("maybe", [](int x) -> std::optional<int> {
    if (x > 0) return x;
    return std::nullopt;
  });
  r.message("fail.rpc", [](std::string why) -> int { throw rpc_exception(why); });
  r.message("fail.internal", []() -> int { throw std::runtime_error("boom"); });
  r.message("later", [](int x) -> awaitable<int> { co_return x; });
  r.message("count", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.event("seen", [&log](std::string s) { log.push_back("a:" + s); });
  r.event("seen", [&log](std::string s) { log.push_back("b:" + s); });
  r.event("seen.later", [&log](std::string s) -> awaitable<void> {
    log.push_back("later:" + s);
    co_return;
  });
  return r;
}

TEST(dispatcher_serve, serves_synchronous_handlers_inline_with_the_same_frames_as_dispatch) {
  std::vector<std::string> log;
  const router r = try_router(log);
  dispatcher d(r, logger::silent());
  for (const auto& text :
       {req(R"("sum")", "[1,2,3]"), req(R"("maybe")", "2"), req(R"("maybe")", "0"),
        req(R"("fail.rpc")", R"("no")"), req(R"("fail.internal")", "0"),
        req(R"("sum")", R"("not an array")"), req(R"("nope")", "1")}) {
    auto got = try_serve(d, text);
    EXPECT_TRUE(got.served) << text;
    EXPECT_EQ(got.written, serve(r, text)) << text;
    EXPECT_EQ(got.written.size(), 1u) << text;
  }
  EXPECT_EQ(d.in_flight(), 0u);
  EXPECT_EQ(try_serve(d, req(R"("sum")", "[1,2,3]")).written,
            frames{R"({"response":6,"isDisposed":true,"id":"x1"})"});
  EXPECT_EQ(try_serve(d, req(R"("nope")", "1")).written, frames{std::string(no_handler_frame)});
}

TEST(dispatcher_serve, leaves_what_can_suspend_to_a_coroutine_without_running_it) {
  std::vector<std::string> log;
  const router r = try_router(log);
  dispatcher d(r, logger::silent());
  for (const auto& text :
       {req(R"("later")", "1"), req(R"("count")", "2"), req(R"("seen")", R"("x")")}) {
    auto got = try_serve(d, text);
    EXPECT_FALSE(got.served) << text;  // coroutine, stream, and a request to event handlers
    EXPECT_TRUE(got.written.empty()) << text;
  }
  // A sink that cannot take replies at once: nothing runs.
  auto got = try_serve(d, req(R"("sum")", "[1]"), /*immediate=*/false);
  EXPECT_FALSE(got.served);
  EXPECT_TRUE(got.written.empty());
  EXPECT_FALSE(try_serve(d, evt(R"("seen.later")", R"("y")")).served);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(d.in_flight(), 0u);
}

TEST(dispatcher_serve, by_route_serves_the_given_route_whatever_the_pattern) {
  router r;
  std::vector<int> seen;
  std::vector<std::string> routes;
  r.event("orders.*", [&](int x, context& ctx) {
    seen.push_back(x);
    routes.push_back(ctx.route());
  });
  r.message("math.*", [](int x) { return x * 2; });
  dispatcher d(r, logger::silent());
  EXPECT_TRUE(try_serve(d, evt(R"("orders.new")", "7"), true, "orders.*").served);
  EXPECT_THAT(seen, ElementsAre(7));
  EXPECT_THAT(routes, ElementsAre("orders.*"));
  auto got = try_serve(d, req(R"("math.double")", "21"), true, "math.*");
  EXPECT_TRUE(got.served);
  EXPECT_EQ(got.written, frames{R"({"response":42,"isDisposed":true,"id":"x1"})"});
}

/// test_origin with a connection's route memo.
struct memo_origin {
  frames* out;
  detail::route_memo* memo;
  context make_context(json::value pattern, std::optional<json::object> metadata) {
    return context("test", std::move(pattern), std::move(metadata));
  }
  immediate_sink make_sink() { return immediate_sink(*out); }
  detail::route_memo& route_memo() { return *memo; }
};

frames serve_with_memo(dispatcher& d, detail::route_memo& memo, std::string_view text) {
  auto p = decode_inbound(text);
  EXPECT_TRUE(p) << text;
  boost::asio::io_context never_run;
  frames out;
  d.serve(never_run.get_executor(), *p, memo_origin{&out, &memo});
  return out;
}

TEST(dispatcher_serve, a_route_memo_keeps_the_last_served_pattern_and_follows_a_new_one) {
  router r;
  std::vector<std::string> routes;
  r.message("sum", [&](std::vector<int> xs, context& ctx) {
    routes.push_back(ctx.route());
    int s = 0;
    for (int x : xs) s += x;
    return s;
  });
  r.message(json::value{{"cmd", "double"}}, [&](int x, context& ctx) {
    routes.push_back(ctx.route());
    return x * 2;
  });
  dispatcher d(r, logger::silent());
  detail::route_memo memo;
  const frames six{R"({"response":6,"isDisposed":true,"id":"x1"})"};
  EXPECT_EQ(serve_with_memo(d, memo, req(R"("sum")", "[1,2,3]")), six);
  EXPECT_EQ(memo.pattern, "sum");
  EXPECT_EQ(memo.entry, r.find("sum"));
  EXPECT_EQ(serve_with_memo(d, memo, req(R"("sum")", "[1,2,3]")), six);  // from the memo
  // A pattern of no handler is answered as always, and leaves the memo as it was.
  EXPECT_EQ(serve_with_memo(d, memo, req(R"("nope")", "1")), frames{std::string(no_handler_frame)});
  EXPECT_EQ(memo.pattern, "sum");
  EXPECT_EQ(memo.entry, r.find("sum"));
  // A string pattern that is JSON is kept as sent and served by its normalized route.
  const std::string as_text = R"("{\"cmd\":\"double\"}")";
  const frames forty_two{R"({"response":42,"isDisposed":true,"id":"x1"})"};
  EXPECT_EQ(serve_with_memo(d, memo, req(as_text, "21")), forty_two);
  EXPECT_EQ(memo.pattern, R"({"cmd":"double"})");
  EXPECT_EQ(memo.entry, r.find(R"({"cmd":"double"})"));
  EXPECT_EQ(serve_with_memo(d, memo, req(as_text, "21")), forty_two);
  // An object pattern is looked up as before, without the memo.
  EXPECT_EQ(serve_with_memo(d, memo, req(R"({"cmd":"double"})", "21")), forty_two);
  EXPECT_EQ(memo.pattern, R"({"cmd":"double"})");
  EXPECT_EQ(serve_with_memo(d, memo, req(R"("sum")", "[1,2,3]")), six);
  EXPECT_EQ(memo.entry, r.find("sum"));
  EXPECT_THAT(routes, ElementsAre("sum", "sum", R"({"cmd":"double"})", R"({"cmd":"double"})",
                                  R"({"cmd":"double"})", "sum"));
  EXPECT_EQ(d.in_flight(), 0u);
}

TEST(dispatcher_serve, a_pattern_equal_to_the_memo_is_served_by_the_memo_s_route) {
  // The memo is trusted without a lookup: here it says "sum" is "double"'s, and it is obeyed.
  router r;
  r.message("sum", [](std::vector<int> xs) { return static_cast<int>(xs.size()); });
  r.message("double", [](int x) { return x * 2; });
  dispatcher d(r, logger::silent());
  detail::route_memo memo{"sum", r.find("double")};
  EXPECT_EQ(serve_with_memo(d, memo, req(R"("sum")", "21")),
            frames{R"({"response":42,"isDisposed":true,"id":"x1"})"});
  // Another pattern is looked up, and replaces it.
  EXPECT_EQ(serve_with_memo(d, memo, req(R"("double")", "4")),
            frames{R"({"response":8,"isDisposed":true,"id":"x1"})"});
  EXPECT_EQ(memo.pattern, "double");
  EXPECT_EQ(memo.entry, r.find("double"));
}

TEST(dispatcher_serve, a_message_left_to_a_coroutine_is_served_there_once) {
  router r;
  int calls = 0;
  r.message("later", [&calls](int x) -> awaitable<int> {
    ++calls;
    co_await sleep_for(5ms);
    co_return x;
  });
  dispatcher d(r, logger::silent());
  frames out;
  bool retained = false;
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    auto p = decode_inbound(req(R"("later")", "5"));
    d.serve(ex, *p, test_origin<immediate_sink>{&out, &retained});
    EXPECT_TRUE(retained);
    EXPECT_EQ(d.in_flight(), 1u);  // counted until its last reply is queued
    co_await roost::test::wait_until([&] { return d.in_flight() == 0; });
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(out, frames{R"({"response":5,"isDisposed":true,"id":"x1"})"});
}

TEST(dispatcher_serve, runs_synchronous_event_chains_in_order) {
  std::vector<std::string> log;
  const router r = try_router(log);
  dispatcher d(r, logger::silent());
  EXPECT_TRUE(try_serve(d, evt(R"("seen")", R"("x")")).served);
  EXPECT_THAT(log, ElementsAre("a:x", "b:x"));
  // An event nobody handles is served (logged and dropped) as dispatch does.
  EXPECT_TRUE(try_serve(d, evt(R"("unknown")", "1")).served);
  // A request to a message route sent as an event runs the message handler, like NestJS.
  EXPECT_TRUE(try_serve(d, evt(R"("sum")", "[1]")).served);
}

// ---- serve(): typed handlers served from the data's text ----

/// A socket-like sink that writes a value reply straight from the handler's result, and
/// counts how the replies came.
class text_sink final : public immediate_reply_sink {
 public:
  text_sink(frames& out, int& direct) : out_(out), direct_(direct) {}
  void send_now(reply_packet reply, const json::value& id) override {
    std::string text;
    encode_reply(text, reply, id);
    out_.push_back(std::move(text));
  }
  void send_value_now(detail::value_writer write, std::string_view id_json) override {
    std::string text;
    encode_value_reply(text, write, id_json);
    out_.push_back(std::move(text));
    ++direct_;
  }

 private:
  frames& out_;
  int& direct_;
};

struct text_origin {
  frames* out;
  int* direct;
  bool* retained;
  context make_context(json::value pattern, std::optional<json::object> metadata) {
    return context("test", std::move(pattern), std::move(metadata));
  }
  text_sink make_sink() { return text_sink(*out, *direct); }
  void retain() { *retained = true; }
};

struct text_result {
  frames written;
  int direct = 0;  // replies written straight from the handler's result
};

/// serve() as the TCP transport does it: the packet decoded with its data as text, from a
/// text that is gone once serve() returns. `own_writer`: the sink writes value replies itself
/// (else reply_sink's send_value_now() gives them to send_now()).
text_result serve_as_text(dispatcher& d, std::string_view text, bool own_writer = true) {
  std::string frame(text);
  auto p = decode_inbound(frame, nullptr, {}, true);
  EXPECT_TRUE(p) << text;
  boost::asio::io_context never_run;
  text_result r;
  bool retained = false;
  if (own_writer) {
    d.serve(never_run.get_executor(), *p, text_origin{&r.written, &r.direct, &retained});
  } else {
    d.serve(never_run.get_executor(), *p, test_origin<immediate_sink>{&r.written, &retained});
  }
  EXPECT_FALSE(retained) << text;
  return r;
}

router typed_router(int& calls) {
  router r;
  r.message("sum", [&calls](const std::vector<double>& xs) {
    ++calls;
    double s = 0;
    for (double x : xs) s += x;
    return s;
  });
  r.message("ints", [](std::vector<int> xs) { return static_cast<unsigned>(xs.size()); });
  r.message("half", [](int x) { return x / 2.0; });
  r.message("neg", [](long long x) { return -x; });
  r.message("not", [](bool b) { return !b; });
  r.message("greet", [](std::string name) { return "hi \"" + name + "\"\n"; });
  r.message("names", [](std::vector<std::string> xs) { return xs; });
  r.message("maybe", [](int x) -> std::optional<int> {
    if (x > 0) return x;
    return std::nullopt;
  });
  r.message("quiet", [](int) {});
  r.message("nothing", []() { return json::value(nullptr); });
  r.message("ctx", [](int x, context& ctx) { return ctx.route() + ":" + std::to_string(x); });
  r.message("fail.rpc", [](int) -> int { throw rpc_exception("no"); });
  r.message("fail.internal", [](int) -> int { throw std::runtime_error("boom"); });
  r.message("nan", [](int) { return std::nan(""); });
  return r;
}

TEST(dispatcher_direct, typed_handlers_write_the_frames_of_the_general_path) {
  int calls = 0;
  const router r = typed_router(calls);
  dispatcher d(r, logger::silent());
  struct expectation {
    std::string text;
    bool direct;  // the reply written from the result, without a json::value
  };
  const std::vector<expectation> cases{
      {req(R"("sum")", "[1,2,3]"), true},
      {req(R"("sum")", "[]"), true},
      {req(R"("sum")", "[0.5,0.25]"), false},  // not plain integers: parsed, then converted
      {req(R"("sum")", R"([1,"x"])"), false},  // the general path's error names the field
      {req(R"("sum")", R"("no")"), false},
      {req(R"("sum")", "null"), false},
      {req(R"("ints")", "[1,2,3]"), true},
      {req(R"("ints")", "[1,9999999999]"), false},  // out of int's range: the general error
      {req(R"("half")", "3"), true},
      {req(R"("neg")", "-123456789012345678"), true},
      {req(R"("not")", "true"), true},
      {req(R"("greet")", R"("bob")"), true},
      {req(R"("greet")", R"("b\u00f6b")"), false},
      {req(R"("names")", R"(["a","b"])"), true},
      {req(R"("maybe")", "2"), true},
      {req(R"("maybe")", "0"), false},  // no value: the end reply, with the id built
      {req(R"("quiet")", "1"), false},
      {req(R"("nothing")", "1"), true},
      {req(R"("ctx")", "5"), true},
      {req(R"("fail.rpc")", "1"), false},
      {req(R"("fail.internal")", "1"), false},
      {req(R"("nan")", "1"), true},
      {req(R"("nope")", "1"), false},
      {R"({"pattern":"sum","data":[1,2],"id":"a\"b"})", false},  // an id with an escape
      {R"({"pattern":"sum","id":"x1"})", false},                 // no data
  };
  for (const auto& c : cases) {
    const auto got = serve_as_text(d, c.text);
    EXPECT_EQ(got.written, serve(r, c.text)) << c.text;
    EXPECT_EQ(got.written.size(), 1u) << c.text;
    EXPECT_EQ(got.direct, c.direct ? 1 : 0) << c.text;
    // A sink without a writer of its own gets the same frame through send_now().
    EXPECT_EQ(serve_as_text(d, c.text, false).written, got.written) << c.text;
  }
  EXPECT_EQ(serve_as_text(d, req(R"("sum")", "[1,2,3]")).written,
            frames{R"({"response":6,"isDisposed":true,"id":"x1"})"});
  EXPECT_EQ(d.in_flight(), 0u);
}

TEST(dispatcher_direct, a_handler_with_state_is_one_object_on_both_paths) {
  router r;
  r.message("next",
            [n = 0](std::vector<int> xs) mutable { return n += static_cast<int>(xs.size()); });
  dispatcher d(r, logger::silent());
  EXPECT_EQ(serve_as_text(d, req(R"("next")", "[1]")).direct, 1);
  EXPECT_EQ(try_serve(d, req(R"("next")", "[1,2]")).written,
            frames{R"({"response":3,"isDisposed":true,"id":"x1"})"});
  EXPECT_EQ(serve_as_text(d, req(R"("next")", "[1]")).written,
            frames{R"({"response":4,"isDisposed":true,"id":"x1"})"});
}

TEST(dispatcher_direct, a_route_with_enhancers_gets_the_payload_as_a_value) {
  router r;
  std::vector<std::string> seen;
  r.message("guarded", [](std::vector<double> xs) { return xs.size(); });
  r.enhance("guarded").use_guard([&seen](context& ctx) {
    seen.push_back(ctx.guarded_data() ? json::serialize(*ctx.guarded_data()) : "none");
    return true;
  });
  r.message("piped", [](std::vector<double> xs) { return xs.size(); });
  r.enhance("piped").use_pipe([](json::value& v, context&) { v.as_array().push_back(4); });
  r.message("plain", [](std::vector<double> xs) { return xs.size(); });
  dispatcher d(r, logger::silent());
  auto guarded = serve_as_text(d, req(R"("guarded")", "[1,2,3]"));
  EXPECT_EQ(guarded.direct, 0);
  EXPECT_EQ(guarded.written, frames{R"({"response":3,"isDisposed":true,"id":"x1"})"});
  EXPECT_THAT(seen, ElementsAre("[1,2,3]"));
  auto piped = serve_as_text(d, req(R"("piped")", "[1,2,3]"));
  EXPECT_EQ(piped.direct, 0);
  EXPECT_EQ(piped.written, frames{R"({"response":4,"isDisposed":true,"id":"x1"})"});
  EXPECT_EQ(serve_as_text(d, req(R"("plain")", "[1,2,3]")).direct, 1);
  // An enhancer of the whole service reaches every route.
  d.enhance().use_guard([](context&) { return true; });
  auto plain = serve_as_text(d, req(R"("plain")", "[1,2,3]"));
  EXPECT_EQ(plain.direct, 0);
  EXPECT_EQ(plain.written, frames{R"({"response":3,"isDisposed":true,"id":"x1"})"});
}

TEST(dispatcher_direct, events_and_coroutines_get_the_payload_parsed_from_the_text) {
  router r;
  std::vector<std::string> log;
  r.event("seen", [&log](std::vector<int> xs) { log.push_back(std::to_string(xs.size())); });
  r.message("later", [](std::vector<int> xs) -> awaitable<int> { co_return xs.at(1); });
  dispatcher d(r, logger::silent());
  EXPECT_TRUE(serve_as_text(d, evt(R"("seen")", "[1,2]")).written.empty());
  EXPECT_THAT(log, ElementsAre("2"));
  frames out;
  int direct = 0;
  bool retained = false;
  roost::testing::run([&]() -> awaitable<void> {
    const auto ex = co_await boost::asio::this_coro::executor;
    {
      std::string frame = req(R"("later")", "[5,6]");
      auto p = decode_inbound(frame, nullptr, {}, true);
      d.serve(ex, *p, text_origin{&out, &direct, &retained});
      frame.assign(frame.size(), '#');  // the transport's buffer is reused at once
    }
    co_await roost::test::wait_until([&] { return d.in_flight() == 0; });
  });
  EXPECT_TRUE(retained);
  EXPECT_EQ(out, frames{R"({"response":6,"isDisposed":true,"id":"x1"})"});
}

// ---------------------------------------------------------------------------------------------
// For transports: serving by a given route, knowing whether a handler failed, handler extras

TEST(dispatcher_transports, dispatch_by_route_uses_the_given_route_and_handler_failed_tells) {
  router r;
  int ok = 0;
  r.event("orders.*", [&ok](int x) {
    if (x < 0) throw std::runtime_error("negative");
    ++ok;
  });
  r.message("sum", [](std::vector<int> xs) { return xs.at(0) + xs.at(1); }, {{"queue", "math"}});
  dispatcher d(r, logger::silent());
  roost::testing::run([&]() -> awaitable<void> {
    // The packet's pattern names a concrete subject; the subscription's route picks the handler.
    auto good = decode_inbound(evt(R"("orders.new")", "1"));
    context c1("test", good->pattern);
    co_await d.dispatch(*good, c1, nullptr, "orders.*");
    EXPECT_EQ(c1.route(), "orders.*");
    EXPECT_FALSE(c1.handler_failed());
    auto bad = decode_inbound(evt(R"("orders.new")", "-1"));
    context c2("test", bad->pattern);
    co_await d.dispatch(*bad, c2, nullptr, "orders.*");
    EXPECT_TRUE(c2.handler_failed());
    auto none = decode_inbound(evt(R"("x")", "1"));
    context c3("test", none->pattern);
    co_await d.dispatch(*none, c3, nullptr, "nobody");
    EXPECT_FALSE(c3.handler_failed());  // nothing threw; another delivery would not help
  });
  EXPECT_EQ(ok, 1);
  const auto* e = r.find("sum");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(json::serialize(e->extras), R"({"queue":"math"})");
  EXPECT_TRUE(r.find("orders.*")->extras.empty());
}

// handler_failed() tells a transport with acknowledgements whether an event must be delivered
// again: only when one of its handlers threw.
TEST(dispatcher_outcome, handler_failed_only_when_a_handler_threw) {
  router r;
  r.event("ok", [](int) {});
  r.event("bad", [](int) { throw std::runtime_error("boom"); });
  r.event("mixed", [](int) {});
  r.event("mixed", [](int) { throw rpc_exception("no"); });
  r.message("fails", [](int) -> int { throw std::runtime_error("boom"); });
  dispatcher d(r, logger::silent());
  const std::vector<std::string> texts{
      R"({"pattern":"ok","data":1})", R"({"pattern":"bad","data":1})",
      R"({"pattern":"mixed","data":1})", R"({"pattern":"nope","data":1})",
      R"({"pattern":"fails","data":1,"id":"x1"})"};
  std::vector<bool> got;
  roost::testing::run([&]() -> awaitable<void> {
    for (const auto& text : texts) {
      auto p = decode_inbound(text);
      context ctx("test", p->pattern);
      json::value id = p->id ? *p->id : json::value();
      recording_sink sink(id);
      reply_sink* to = p->id ? &sink : nullptr;
      co_await d.dispatch(*p, ctx, to);
      got.push_back(ctx.is_request() || !ctx.handler_failed());
    }
  });
  // ok, bad, mixed, no handler (acknowledged: another delivery would not find one either), a
  // request whose handler failed (its error reply was sent).
  EXPECT_EQ(got, (std::vector<bool>{true, false, false, true, true}));
}

}  // namespace
}  // namespace roost
