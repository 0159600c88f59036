#include <roost/acknowledgement.hpp>

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/router.hpp>
#include <roost/testing/run.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <stdexcept>
#include <string>
#include <vector>

// The acknowledgement rule (roost/acknowledgement.hpp) as every acknowledging transport gets
// it from the core: through serve(), on both the synchronous path and the coroutine path.

namespace roost {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

static_assert(settle_after_serving(false, false, {}) == settlement::ack);
static_assert(settle_after_serving(true, true, {}) == settlement::ack);
static_assert(settle_after_serving(false, true, {}) == settlement::redeliver);
static_assert(settle_after_serving(false, true, {false, failure_outcome::drop}) ==
              settlement::drop);
static_assert(settle_after_serving(false, true, {false, failure_outcome::dead_letter}) ==
              settlement::dead_letter);

/// A transport's context for an acknowledgeable message: records what it was settled with.
/// With a `refusal`, one that can no longer be settled (as a message whose connection is gone).
class ack_context final : public context {
 public:
  ack_context(json::value pattern, ack_policy policy, std::vector<settlement>& out,
              std::string refusal = {})
      : context("test", std::move(pattern)), refusal_(std::move(refusal)) {
    accept_settlement({policy, [&out](settlement s) { out.push_back(s); }});
  }

 protected:
  std::string settle_refusal() const override { return refusal_; }

 private:
  std::string refusal_;
};

class null_sink final : public immediate_reply_sink {
 public:
  void send_now(reply_packet, const json::value&) override {}
};

struct ack_origin {
  std::vector<settlement>* out;
  ack_policy policy;
  std::string refusal;
  ack_context make_context(json::value pattern, std::optional<json::object>) {
    return ack_context(std::move(pattern), policy, *out, refusal);
  }
  null_sink make_sink() { return {}; }
};

router ack_router() {
  router r;
  r.event("ok", [](int) {});
  r.event("bad", [](int) { throw std::runtime_error("boom"); });
  r.event("ok.later", [](int) -> awaitable<void> { co_return; });
  r.event("bad.later", [](int) -> awaitable<void> {
    co_await roost::test::sleep_for(1ms);
    throw std::runtime_error("boom");
  });
  r.message("fails", [](int) -> int { throw std::runtime_error("boom"); });
  r.event("acks", [](int, context& ctx) { EXPECT_TRUE(ctx.ack()); });
  r.event("acks.then.throws", [](int, context& ctx) {
    ctx.ack();
    throw std::runtime_error("after ack");
  });
  r.event("rejects", [](int, context& ctx) { EXPECT_TRUE(ctx.nack(false)); });
  r.event("requeues", [](int, context& ctx) -> awaitable<void> {
    co_await roost::test::sleep_for(1ms);
    EXPECT_TRUE(ctx.nack(true));
    EXPECT_FALSE(ctx.ack());  // settled already
  });
  return r;
}

/// Serves `text` through serve() and returns what the message was settled with.
/// What was logged at warn goes to `warnings`, when given; with a `refusal`, the message can
/// no longer be settled.
std::vector<settlement> settle(const router& r, std::string_view text, ack_policy policy = {},
                               std::vector<std::string>* warnings = nullptr,
                               std::string refusal = {}) {
  dispatcher d(r, !warnings ? logger::silent()
                            : logger(log_level::warn,
                                     [warnings](log_level l, std::string_view, std::string_view m) {
                                       if (l == log_level::warn) warnings->emplace_back(m);
                                     }));
  std::vector<settlement> out;
  roost::testing::run([&]() -> awaitable<void> {
    auto p = decode_inbound(text);
    EXPECT_TRUE(p) << text;
    // GCC 12: no owning temporary (the origin's string) in a co_await full-expression.
    auto ex = co_await boost::asio::this_coro::executor;
    d.serve(ex, *p, ack_origin{&out, policy, refusal});
    co_await roost::test::wait_until([&] { return d.in_flight() == 0; });
  });
  return out;
}

TEST(acknowledgement, automatic_acks_what_returned_and_redelivers_a_failed_event) {
  const router r = ack_router();
  EXPECT_THAT(settle(r, R"({"pattern":"ok","data":1})"), ElementsAre(settlement::ack));
  EXPECT_THAT(settle(r, R"({"pattern":"ok.later","data":1})"), ElementsAre(settlement::ack));
  EXPECT_THAT(settle(r, R"({"pattern":"bad","data":1})"), ElementsAre(settlement::redeliver));
  EXPECT_THAT(settle(r, R"({"pattern":"bad.later","data":1})"), ElementsAre(settlement::redeliver));
  // The caller got its error reply: a request is not delivered again.
  EXPECT_THAT(settle(r, R"({"pattern":"fails","data":1,"id":"1"})"), ElementsAre(settlement::ack));
  // No handler: another delivery would find none either.
  EXPECT_THAT(settle(r, R"({"pattern":"nobody","data":1})"), ElementsAre(settlement::ack));
}

TEST(acknowledgement, the_configured_outcome_of_a_failed_event) {
  const router r = ack_router();
  const ack_policy dead{false, failure_outcome::dead_letter};
  const ack_policy drop{false, failure_outcome::drop};
  EXPECT_THAT(settle(r, R"({"pattern":"bad","data":1})", dead),
              ElementsAre(settlement::dead_letter));
  EXPECT_THAT(settle(r, R"({"pattern":"bad.later","data":1})", drop),
              ElementsAre(settlement::drop));
  EXPECT_THAT(settle(r, R"({"pattern":"ok","data":1})", dead), ElementsAre(settlement::ack));
}

TEST(acknowledgement, a_handler_that_settles_itself_is_settled_once) {
  const router r = ack_router();
  EXPECT_THAT(settle(r, R"({"pattern":"acks","data":1})"), ElementsAre(settlement::ack));
  EXPECT_THAT(settle(r, R"({"pattern":"acks.then.throws","data":1})"),
              ElementsAre(settlement::ack));
}

TEST(acknowledgement, manual_mode_leaves_settling_to_the_handler) {
  const router r = ack_router();
  const ack_policy manual{true, failure_outcome::dead_letter};
  EXPECT_THAT(settle(r, R"({"pattern":"acks","data":1})", manual), ElementsAre(settlement::ack));
  EXPECT_THAT(settle(r, R"({"pattern":"rejects","data":1})", manual),
              ElementsAre(settlement::dead_letter));
  EXPECT_THAT(settle(r, R"({"pattern":"requeues","data":1})", manual),
              ElementsAre(settlement::redeliver));
  // Not settled by its handler: left with the broker, which delivers it again by its rules.
  EXPECT_TRUE(settle(r, R"({"pattern":"ok","data":1})", manual).empty());
  EXPECT_TRUE(settle(r, R"({"pattern":"bad","data":1})", manual).empty());
  // nack(false) without a dead-letter outcome drops.
  EXPECT_THAT(settle(r, R"({"pattern":"rejects","data":1})", {true, failure_outcome::redeliver}),
              ElementsAre(settlement::drop));
}

TEST(acknowledgement, settling_twice_does_nothing_and_says_so) {
  const router r = ack_router();
  std::vector<std::string> warnings;
  EXPECT_THAT(settle(r, R"({"pattern":"requeues","data":1})", {}, &warnings),
              ElementsAre(settlement::redeliver));
  EXPECT_THAT(warnings, ElementsAre("ack() on a message of \"requeues\" ignored: it was "
                                    "settled already (redeliver)"));
}

TEST(acknowledgement, a_message_that_can_no_longer_be_settled_is_refused_and_left) {
  router r;
  r.event("acks", [](int, context& ctx) {
    EXPECT_FALSE(ctx.ack());
    EXPECT_FALSE(ctx.settled());
  });
  r.event("returns", [](int) {});
  std::vector<std::string> warnings;
  EXPECT_TRUE(
      settle(r, R"({"pattern":"acks","data":1})", {}, &warnings, "its connection is gone").empty());
  EXPECT_THAT(warnings,
              ElementsAre("ack() on a message of \"acks\" refused: its connection is gone"));
  // Nor does the automatic rule settle it: the broker has it again.
  EXPECT_TRUE(settle(r, R"({"pattern":"returns","data":1})", {}, nullptr, "gone").empty());
}

TEST(acknowledgement, an_event_denied_by_a_guard_is_acknowledged_not_redelivered) {
  router r = ack_router();
  r.enhance("ok").use_guard([](context&) { return false; });
  r.enhance("ok.later").use_guard([](context&) -> awaitable<bool> { co_return false; });
  // A guard that throws is a failure like a handler's.
  r.enhance("acks").use_guard([](context&) -> bool { throw std::runtime_error("no key"); });
  EXPECT_THAT(settle(r, R"({"pattern":"ok","data":1})"), ElementsAre(settlement::ack));
  EXPECT_THAT(settle(r, R"({"pattern":"ok.later","data":1})"), ElementsAre(settlement::ack));
  EXPECT_THAT(settle(r, R"({"pattern":"acks","data":1})"), ElementsAre(settlement::redeliver));
}

TEST(acknowledgement, a_message_of_a_transport_without_acknowledgements) {
  context ctx("test", "p");
  EXPECT_FALSE(ctx.acknowledgeable());
  EXPECT_FALSE(ctx.ack());
  EXPECT_FALSE(ctx.nack());
  EXPECT_FALSE(ctx.settled());
}

}  // namespace
}  // namespace roost
