// The shop's small roost services. Each keeps its state in a SQLite file and changes it once per
// message: the idempotency key the saga's orchestrator (or the outbox's publisher) sends with
// every message is recorded in the same transaction as the change (outbox::transact_once), so a
// step sent again after a crash, or an event delivered twice, does nothing the second time.
//
//   payments       Redis (NestJS's pub/sub protocol): charge, refund; declines above 1000
//   shipping       TCP: schedule, cancel
//   notifications  Redis Streams: the orders' confirmed/cancelled events, one notice each
//
// Payments and shipping also take part in the choreographed orders: they hear events on the
// events stream (a consumer group each) and announce theirs through their outbox.

#include "shop.hpp"

#include <roost/saga.hpp>

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace shop {

namespace {

using roost::json::object;
using roost::json::value;
namespace saga = roost::saga;

value at(const value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* x = o ? o->if_contains(key) : nullptr;
  if (!x) throw roost::rpc_exception("missing field '" + std::string(key) + "'");
  return *x;
}

// The service's state file with its tables.
std::unique_ptr<saga::outbox> state(const config& c, const std::string& name, const char* schema) {
  auto box = std::make_unique<saga::outbox>(c.dir + "/" + name + ".db");
  box->transact([&](saga::outbox_transaction& tx) { tx.exec(schema); });
  return box;
}

// A read-only query handler: `sql` with the message's field `key` (or all rows when the data
// has no such field).
void add_query(roost::router& r, const config& c, std::string_view name, saga::outbox& box,
               std::string sql_one, std::string sql_all, std::string key) {
  r.message(value(c.pattern(name)), [&box, sql_one, sql_all, key](value in) {
    const auto* o = in.if_object();
    const auto* k = o ? o->if_contains(key) : nullptr;
    return value(box.transact([&](saga::outbox_transaction& tx) {
      return k ? tx.query(sql_one, {*k}) : tx.query(sql_all);
    }));
  });
}

}  // namespace

int run_payments(const config& c) {
  auto box = state(c, "payments",
                   "CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY, order_id TEXT NOT "
                   "NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL)");
  roost::router r;
  r.message(value(c.pattern("payments.charge")), [&](value in, roost::context& ctx) {
    return box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      const auto amount = at(in, "amount");
      if (!amount.is_int64() || amount.as_int64() <= 0) throw roost::rpc_exception("bad amount");
      if (amount.as_int64() > 1000) throw roost::rpc_exception("payment declined");
      tx.exec("INSERT INTO ledger (order_id, kind, amount) VALUES (?1, 'charge', ?2)",
              {at(in, "order"), amount});
      return object{{"order", at(in, "order")}, {"amount", amount}};
    });
  });
  // The charge's reply comes back to be refunded.
  r.message(value(c.pattern("payments.refund")), [&](value in, roost::context& ctx) {
    return box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      tx.exec("INSERT INTO ledger (order_id, kind, amount) VALUES (?1, 'refund', ?2)",
              {at(in, "order"), at(in, "amount")});
      return "refunded";
    });
  });
  add_query(r, c, "payments.ledger", *box,
            "SELECT order_id, kind, amount FROM ledger WHERE order_id = ?1 ORDER BY seq",
            "SELECT order_id, kind, amount FROM ledger ORDER BY seq", "order");
  // The choreographed orders: a placed order is charged (or declined) on hearing of it, and
  // the outcome announced, in one transaction per event.
  r.event(value(c.pattern("order.placed")), [&](value in, roost::context& ctx) {
    box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      if (at(in, "amount").as_int64() > 1000) {
        tx.emit(value(c.pattern("payment.declined")),
                object{{"order", at(in, "order")}, {"reason", "payment declined"}});
        return "declined";
      }
      tx.exec("INSERT INTO ledger (order_id, kind, amount) VALUES (?1, 'charge', ?2)",
              {at(in, "order"), at(in, "amount")});
      tx.emit(value(c.pattern("payment.charged")), in);
      return "charged";
    });
  });
  return serve(c, r, {c.payments_url, c.events_server_url("payments")}, "payments", box.get());
}

int run_shipping(const config& c) {
  auto box = state(c, "shipping",
                   "CREATE TABLE IF NOT EXISTS shipments (order_id TEXT PRIMARY KEY, item TEXT NOT "
                   "NULL, qty INTEGER NOT NULL, status TEXT NOT NULL)");
  roost::router r;
  r.message(value(c.pattern("shipping.schedule")), [&](value in, roost::context& ctx) {
    return box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      tx.exec("INSERT OR REPLACE INTO shipments VALUES (?1, ?2, ?3, 'scheduled')",
              {at(in, "order"), at(in, "item"), at(in, "qty")});
      return object{{"shipment", at(in, "order")}};
    });
  });
  r.message(value(c.pattern("shipping.cancel")), [&](value in, roost::context& ctx) {
    return box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      tx.exec("UPDATE shipments SET status = 'cancelled' WHERE order_id = ?1", {at(in, "order")});
      return "cancelled";
    });
  });
  add_query(r, c, "shipping.list", *box,
            "SELECT order_id, item, qty, status FROM shipments WHERE order_id = ?1",
            "SELECT order_id, item, qty, status FROM shipments ORDER BY order_id", "order");
  // The choreographed orders: a charged order is shipped.
  r.event(value(c.pattern("payment.charged")), [&](value in, roost::context& ctx) {
    box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
      tx.exec("INSERT OR REPLACE INTO shipments VALUES (?1, ?2, ?3, 'scheduled')",
              {at(in, "order"), at(in, "item"), at(in, "qty")});
      tx.emit(value(c.pattern("shipment.scheduled")), in);
      return "scheduled";
    });
  });
  return serve(c, r, {c.shipping_url, c.events_server_url("shipping")}, "shipping", box.get());
}

int run_notifications(const config& c) {
  auto box = state(c, "notifications",
                   "CREATE TABLE IF NOT EXISTS notices (seq INTEGER PRIMARY KEY, order_id TEXT NOT "
                   "NULL, kind TEXT NOT NULL, message_id TEXT NOT NULL)");
  roost::router r;
  for (const char* kind : {"confirmed", "cancelled"}) {
    r.event(value(c.pattern(std::string("order.") + kind)), [&box, kind](value in,
                                                                         roost::context& ctx) {
      box->transact_once(ctx, [&](saga::outbox_transaction& tx) -> value {
        const auto id = saga::idempotent_consumer::key_of(ctx).value_or("");
        tx.exec("INSERT INTO notices (order_id, kind, message_id) VALUES (?1, ?2, ?3)",
                {at(in, "order"), kind, id});
        std::printf("notify: order %s %s\n", roost::json::serialize(at(in, "order")).c_str(), kind);
        std::fflush(stdout);
        return nullptr;
      });
    });
  }
  add_query(r, c, "notifications.list", *box,
            "SELECT order_id, kind, message_id FROM notices WHERE order_id = ?1 ORDER BY seq",
            "SELECT order_id, kind, message_id FROM notices ORDER BY seq", "order");
  return serve(c, r, {c.notifications_url}, "notifications");
}

}  // namespace shop
