#pragma once
// The shop example's shared pieces: its configuration (from the environment), the transports
// made from URLs, and each process's entry point. README.md beside this file tells the story.

#include <roost/roost.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roost::saga {
class outbox;
}

namespace shop {

/// Where everything is. Each value comes from an environment variable (in brackets), with the
/// default of scripts/brokers.sh.
struct config {
  std::string ns;             ///< prefix of every pattern, queue and stream (SHOP_NS, "shop")
  std::string dir;            ///< the SQLite files (SHOP_DIR, ".")
  std::string orders_url;     ///< orders' API and saga steps: NATS (SHOP_ORDERS_URL)
  std::string payments_url;   ///< payments: Redis pub/sub, NestJS's protocol (SHOP_PAYMENTS_URL)
  std::string inventory_url;  ///< inventory, a NestJS service: RabbitMQ (SHOP_INVENTORY_URL)
  std::string shipping_url;   ///< shipping: TCP (SHOP_SHIPPING_URL)
  std::string notifications_url;  ///< notifications: Redis Streams (SHOP_NOTIFICATIONS_URL)
  /// The events of the choreographed orders, and where every outbox publishes: Redis Streams
  /// (SHOP_EVENTS_URL, with `streams=true`); each service reads them in a group of its own.
  std::string events_url;

  /// `<ns>.<name>`: the shop's patterns, so that several shops share the brokers.
  std::string pattern(std::string_view name) const { return ns + "." + std::string(name); }
  /// events_url as `service`'s server: its own consumer group, so every service gets every
  /// event.
  std::string events_server_url(std::string_view service) const {
    return events_url + "&group=" + ns + "-" + std::string(service);
  }
};

config config_from_env();

/// A client or a server for a URL of the schemes the shop uses (nats, redis, amqp, tcp).
/// Throws std::invalid_argument for another scheme or a bad option.
std::unique_ptr<roost::client_transport> client_for(const std::string& url, roost::logger log = {});
std::unique_ptr<roost::server_transport> server_for(const std::string& url);

/// Serves `r` on `urls` until SIGTERM/SIGINT, printing `READY <name>` once it listens; with an
/// outbox, its publisher sends to `c.events_url` meanwhile.
int serve(const config& c, const roost::router& r, const std::vector<std::string>& urls,
          const std::string& name, roost::saga::outbox* box = nullptr);

int run_orders(const config& c);
int run_payments(const config& c);
int run_shipping(const config& c);
int run_notifications(const config& c);
/// `shop ctl URL PATTERN [DATA] [--emit] [--header k=v] [--timeout MS]`: one call, its reply
/// printed as JSON (exit 0), or its error (exit 1).
int run_ctl(int argc, char** argv);

}  // namespace shop
