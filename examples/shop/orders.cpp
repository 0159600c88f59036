// The orders service, and the saga orchestrator that places an order across the shop:
//
//   create the order (here) → charge it (payments) → reserve the goods (inventory, NestJS)
//   → schedule the shipment (shipping) → confirm the order (here)
//
// each step with its compensation, undone in reverse when a later one fails. The saga's log
// and the orders share nothing but the process: the log is sagas.db, the orders and their
// outbox orders.db. Confirming or cancelling an order writes its row and the event that
// announces it (`<ns>.order.confirmed`, `<ns>.order.cancelled`) in one transaction; the outbox's
// publisher sends the events to the events stream (notifications) after the commit.
//
// `orders.place_by_events` places an order the choreographed way instead: no saga, the order
// and its `order.placed` event commit together, payments and shipping react to the events and
// announce theirs, and this service confirms or cancels the order on hearing the outcome.
//
// SHOP_CRASH_AFTER_TRANSITIONS=N kills the process (SIGKILL) right after the saga log's N-th
// transition since it started: the system test and `make shop` show a restarted orchestrator
// finishing what the killed one began, every effect once.

#include "shop.hpp"

#include <roost/saga.hpp>

#include <boost/json/serialize.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace shop {

namespace {

using roost::json::object;
using roost::json::value;
namespace saga = roost::saga;
using namespace std::chrono_literals;

value field(const value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* x = o ? o->if_contains(key) : nullptr;
  if (!x) throw roost::rpc_exception("missing field '" + std::string(key) + "'");
  return *x;
}

// An order as the steps pass it on: the saga's input without what they do not need.
value order_part(const saga::data& d, std::initializer_list<std::string_view> keys) {
  object out{{"order", field(d.input, "id")}};
  for (auto k : keys) out[k] = field(d.input, k);
  return out;
}

saga::definition place_order(const config& c, const std::shared_ptr<roost::client_proxy>& orders,
                             const std::shared_ptr<roost::client_proxy>& payments,
                             const std::shared_ptr<roost::client_proxy>& inventory,
                             const std::shared_ptr<roost::client_proxy>& shipping) {
  // A service that is down is waited for (about a minute); a refusal is an answer.
  roost::retry_policy wait_for_it;
  wait_for_it.max_attempts = 60;
  wait_for_it.initial_backoff = 100ms;
  wait_for_it.max_backoff = 1s;
  auto p = [&c](std::string_view name) { return value(c.pattern(name)); };
  auto just_the_order = [](const saga::data& d) {
    return value(object{{"order", field(d.input, "id")}});
  };
  saga::definition d{"place_order", {}};
  d.steps.push_back({.name = "create_order",
                     .action = {orders, p("orders.create"), nullptr},
                     .compensation = saga::call{orders, p("orders.cancel"), just_the_order},
                     .retry = wait_for_it,
                     .timeout = 3s});
  d.steps.push_back(
      {.name = "charge",
       .action = {payments, p("payments.charge"),
                  [](const saga::data& d) { return order_part(d, {"amount"}); }},
       .compensation = saga::call{payments, p("payments.refund"),
                                  [](const saga::data& d) { return d.replies.at("charge"); }},
       .retry = wait_for_it,
       .timeout = 3s});
  d.steps.push_back({.name = "reserve",
                     .action = {inventory, p("inventory.reserve"),
                                [](const saga::data& d) {
                                  return order_part(d, {"item", "qty"});
                                }},
                     .compensation = saga::call{inventory, p("inventory.release"),
                                                [](const saga::data& d) {
                                                  return order_part(d, {"item", "qty"});
                                                }},
                     .retry = wait_for_it,
                     .timeout = 3s});
  d.steps.push_back({.name = "ship",
                     .action = {shipping, p("shipping.schedule"),
                                [](const saga::data& d) {
                                  return order_part(d, {"item", "qty"});
                                }},
                     .compensation = saga::call{shipping, p("shipping.cancel"), just_the_order},
                     .retry = wait_for_it,
                     .timeout = 3s});
  d.steps.push_back({.name = "confirm",
                     .action = {orders, p("orders.confirm"),
                                [](const saga::data& d) {
                                  return order_part(d, {"item", "qty", "amount"});
                                }},
                     .retry = wait_for_it,
                     .timeout = 3s});
  return d;
}

// The order's row changes and its event, once per saga step (the step's idempotency key).
value set_status(saga::outbox& box, const roost::context& ctx, const value& order,
                 std::string_view status, const std::string& event_pattern) {
  return box.transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
    // A compensation may undo what never happened (the order was not created): nothing to do.
    if (tx.exec("UPDATE orders SET status = ?2 WHERE id = ?1", {field(order, "order"), status}) ==
        0) {
      return "no such order";
    }
    tx.emit(value(event_pattern), order);
    return value(status);
  });
}

}  // namespace

int run_orders(const config& c) {
  roost::microservice_options mo;
  mo.threads = 1;  // the orchestrator and the handlers share one thread
  roost::router r;
  roost::microservice app{r, mo};
  auto ex = app.io_context().get_executor();
  auto client = [&](const std::string& url) {
    return std::make_shared<roost::client_proxy>(ex, client_for(url));
  };
  auto orders = client(c.orders_url);
  auto events = client(c.events_url);

  saga::outbox box(c.dir + "/orders.db");
  box.transact([](saga::outbox_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, item TEXT NOT NULL, qty INTEGER "
        "NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL)");
  });

  saga::orchestrator_options oo;
  long transitions = 0;
  const char* crash = std::getenv("SHOP_CRASH_AFTER_TRANSITIONS");
  const long crash_after = crash ? std::atol(crash) : 0;
  oo.on_transition = [&](const saga::record& rec, const saga::event& e) {
    std::printf("saga %s: %s%s\n", rec.id.c_str(), std::string(saga::to_string(e.kind)).c_str(),
                e.step >= 0 ? (" " + std::to_string(e.step)).c_str() : "");
    std::fflush(stdout);
    if (++transitions == crash_after) std::raise(SIGKILL);
  };
  saga::orchestrator orch(ex, std::make_shared<saga::saga_log>(c.dir + "/sagas.db"), oo);
  orch.add(place_order(c, orders, client(c.payments_url), client(c.inventory_url),
                       client(c.shipping_url)));

  // The API: place an order (the saga runs on; the reply says it started), ask about one.
  r.message(value(c.pattern("orders.place")), [&](value in) {
    const auto& o = in.as_object();
    for (auto k : {"id", "item", "qty", "amount"}) field(in, k);
    if (!o.at("qty").is_int64() || o.at("qty").as_int64() < 1) {
      throw roost::rpc_exception("qty must be a positive integer");
    }
    const std::string id(o.at("id").as_string());
    orch.start("place_order", in, id);  // an id placed before starts nothing
    return value(object{{"id", id}});
  });
  r.message(value(c.pattern("orders.get")), [&](value in) {
    auto rows = box.transact([&](saga::outbox_transaction& tx) {
      return tx.query("SELECT id, item, qty, amount, status FROM orders WHERE id = ?1",
                      {field(in, "id")});
    });
    object out;
    if (!rows.empty()) out = rows[0].as_object();
    if (auto s = orch.get(std::string(field(in, "id").as_string()))) {
      out["saga"] = saga::to_string(s->state);
      if (!s->error.empty()) out["error"] = s->error;
    }
    if (out.empty()) throw roost::rpc_exception("no order " + roost::json::serialize(in));
    return value(out);
  });
  orch.serve_queries(r);

  // The saga's own steps on this service.
  r.message(value(c.pattern("orders.create")), [&](value in, roost::context& ctx) {
    return box.transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      tx.exec(
          "INSERT OR IGNORE INTO orders (id, item, qty, amount, status) VALUES (?1, ?2, ?3, ?4, "
          "'pending')",
          {field(in, "id"), field(in, "item"), field(in, "qty"), field(in, "amount")});
      return object{{"order", field(in, "id")}};
    });
  });
  r.message(value(c.pattern("orders.confirm")), [&](value in, roost::context& ctx) {
    return set_status(box, ctx, in, "confirmed", c.pattern("order.confirmed"));
  });
  r.message(value(c.pattern("orders.cancel")), [&](value in, roost::context& ctx) {
    return set_status(box, ctx, in, "cancelled", c.pattern("order.cancelled"));
  });

  // The choreographed variant: no orchestrator; the order and its `order.placed` event commit
  // together, payments and shipping react to the events, and the outcome comes back as events.
  r.message(value(c.pattern("orders.place_by_events")), [&](value in) {
    const std::string id(field(in, "id").as_string());
    box.transact([&](saga::outbox_transaction& tx) {
      const auto placed = tx.exec(
          "INSERT OR IGNORE INTO orders (id, item, qty, amount, status) VALUES (?1, ?2, ?3, ?4, "
          "'pending')",
          {field(in, "id"), field(in, "item"), field(in, "qty"), field(in, "amount")});
      if (placed == 1) {  // placed again: nothing announced again
        tx.emit(value(c.pattern("order.placed")), object{{"order", field(in, "id")},
                                                         {"item", field(in, "item")},
                                                         {"qty", field(in, "qty")},
                                                         {"amount", field(in, "amount")}});
      }
    });
    return value(object{{"id", id}});
  });
  r.event(value(c.pattern("shipment.scheduled")), [&](value in, roost::context& ctx) {
    set_status(box, ctx, in, "confirmed", c.pattern("order.confirmed"));
  });
  r.event(value(c.pattern("payment.declined")), [&](value in, roost::context& ctx) {
    set_status(box, ctx, in, "cancelled", c.pattern("order.cancelled"));
  });

  app.add_transport(server_for(c.orders_url));
  app.add_transport(server_for(c.events_server_url("orders")));
  app.on_ready([&] {
    // Once its own steps are served: the sagas a previous run left unfinished go on.
    boost::asio::post(ex, [&] {
      const auto resumed = orch.resume();
      boost::asio::co_spawn(ex, box.publish(events), boost::asio::detached);
      std::printf("READY orders (%zu sagas resumed)\n", resumed);
      std::fflush(stdout);
    });
  });
  return app.run();
}

}  // namespace shop
