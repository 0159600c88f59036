#pragma once
// The saga the tests run, and the services its steps call: an order is created, paid for, its
// goods reserved, then confirmed. Shared by the in-process tests, the loopback tests and the
// orchestrator process they kill.
//
// Input: {"item", "qty", "amount"}. The payment is declined above an amount of 1000, the
// reservation refused above a quantity of 10 ("out of stock"), the confirmation refused when
// the input says "fail_confirm".

#include <roost/roost.hpp>
#include <roost/saga.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace roost::saga::test {

/// The services' side: what took effect, by pattern, and the faults a test turns on.
struct shop_state {
  mutable std::mutex mutex;
  std::map<std::string, int> effects;       // effects that happened (a repeat served from the
                                            // idempotent consumer is not one)
  std::map<std::string, int> calls;         // messages handled, repeats included
  std::atomic<int> charge_failures{0};      // the next N charges fail with an internal error
  std::atomic<bool> release_broken{false};  // every release is refused, nothing recorded
  std::atomic<bool> reserve_hangs{false};   // a reservation waits until this is false again
  /// Runs after a request's effect, before its reply (a test holds a reply there).
  std::function<awaitable<void>(std::string pattern)> after_effect;

  int effect(const std::string& p) const {
    std::lock_guard lock(mutex);
    auto it = effects.find(p);
    return it == effects.end() ? 0 : it->second;
  }
  int call_count(const std::string& p) const {
    std::lock_guard lock(mutex);
    auto it = calls.find(p);
    return it == calls.end() ? 0 : it->second;
  }
  void count(std::map<std::string, int>& m, const std::string& p) {
    std::lock_guard lock(mutex);
    ++m[p];
  }
};

inline awaitable<void> pause(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

inline std::int64_t int_at(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* x = o ? o->if_contains(key) : nullptr;
  return x && x->is_int64() ? x->get_int64() : 0;
}

/// Registers the handlers of one service (`orders`, `payments` or `inventory`; empty: all
/// three) on `r`, each effect run once per idempotency key through `seen`.
inline void shop_routes(router& r, shop_state& st, idempotent_consumer& seen,
                        const std::string& service = {}) {
  auto add = [&](const std::string& pattern, std::function<json::value(const json::value&)> f) {
    if (!service.empty() && !pattern.starts_with(service + ".")) return;
    r.message(json::value(json::string_view(pattern)),
              [&st, &seen, pattern, f](json::value data, context& ctx) -> awaitable<json::value> {
                st.count(st.calls, pattern);
                if (pattern == "inventory.release" && st.release_broken) {
                  throw rpc_exception("warehouse offline");  // before the consumer: not recorded
                }
                auto reply = seen.once(ctx, [&] {
                  auto out = f(data);
                  st.count(st.effects, pattern);
                  return out;
                });
                if (st.after_effect) {
                  auto hold = st.after_effect(pattern);
                  co_await std::move(hold);
                }
                co_return reply;
              });
  };
  add("orders.create", [](const json::value&) { return json::object{{"order", "o-1"}}; });
  add("orders.cancel", [](const json::value&) { return json::value("cancelled"); });
  add("orders.confirm", [](const json::value& in) -> json::value {
    const auto* o = in.if_object();
    if (o && o->contains("fail_confirm")) throw rpc_exception("cannot confirm");
    return "confirmed";
  });
  add("payments.charge", [&st](const json::value& in) -> json::value {
    if (st.charge_failures > 0) {
      --st.charge_failures;
      throw std::runtime_error("payment gateway hiccup");  // not recorded: the retry runs it
    }
    if (int_at(in, "amount") > 1000) throw rpc_exception("payment declined");
    return json::object{{"payment", "p-1"}, {"amount", int_at(in, "amount")}};
  });
  add("payments.refund", [](const json::value&) { return json::value("refunded"); });
  add("inventory.release", [](const json::value&) { return json::value("released"); });
  // Not through `add`: it may wait (a reservation that outlives its caller's timeout).
  if (service.empty() || service == "inventory") {
    r.message("inventory.reserve",
              [&st, &seen](json::value data, context& ctx) -> awaitable<json::value> {
                st.count(st.calls, "inventory.reserve");
                while (st.reserve_hangs) co_await pause(std::chrono::milliseconds(5));
                auto reply = seen.once(ctx, [&]() -> json::value {
                  if (int_at(data, "qty") > 10) throw rpc_exception("out of stock");
                  st.count(st.effects, "inventory.reserve");
                  return json::object{{"reservation", "r-1"}};
                });
                if (st.after_effect) {
                  auto hold = st.after_effect("inventory.reserve");
                  co_await std::move(hold);
                }
                co_return reply;
              });
  }
}

/// The saga: create_order, charge, reserve (each with its compensation), confirm (none).
inline definition shop_saga(std::shared_ptr<client_proxy> orders,
                            std::shared_ptr<client_proxy> payments,
                            std::shared_ptr<client_proxy> inventory, retry_policy retry = {}) {
  retry_policy undo;
  undo.max_attempts = 3;
  undo.initial_backoff = std::chrono::milliseconds(1);
  definition d;
  d.name = "place_order";
  d.steps.push_back(
      {.name = "create_order",
       .action = {orders, "orders.create", nullptr},
       .compensation = call{orders, "orders.cancel",
                            [](const data& s) { return s.replies.at("create_order"); }},
       .retry = retry,
       .compensation_retry = undo});
  d.steps.push_back(
      {.name = "charge",
       .action = {payments, "payments.charge",
                  [](const data& s) -> json::value {
                    return json::object{{"order", s.replies.at("create_order").at("order")},
                                        {"amount", s.input.at("amount")}};
                  }},
       .compensation =
           call{payments, "payments.refund", [](const data& s) { return s.replies.at("charge"); }},
       .retry = retry,
       .compensation_retry = undo});
  d.steps.push_back({.name = "reserve",
                     .action = {inventory, "inventory.reserve", nullptr},
                     .compensation = call{inventory, "inventory.release", nullptr},
                     .retry = retry,
                     .compensation_retry = undo});
  d.steps.push_back({.name = "confirm",
                     .action = {orders, "orders.confirm", nullptr},
                     .retry = retry,
                     .compensation_retry = undo});
  return d;
}

}  // namespace roost::saga::test
