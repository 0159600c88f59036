#pragma once
// The shop example's shared pieces: its configuration (from the environment), the transports
// made from URLs, and each process's entry point. README.md beside this file tells the story.

#include <roost/roost.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

  /// `<ns>.<name>`: the shop's patterns, so that several shops share the brokers.
  std::string pattern(std::string_view name) const { return ns + "." + std::string(name); }
};

config config_from_env();

/// A client or a server for a URL of the schemes the shop uses (nats, redis, amqp, tcp).
/// Throws std::invalid_argument for another scheme or a bad option.
std::unique_ptr<roost::client_transport> client_for(const std::string& url, roost::logger log = {});
std::unique_ptr<roost::server_transport> server_for(const std::string& url);

/// Serves `r` on `url` until SIGTERM/SIGINT, printing `READY <name>` once it listens.
int serve(const roost::router& r, const std::string& url, const std::string& name);

int run_orders(const config& c);
int run_payments(const config& c);
int run_shipping(const config& c);
int run_notifications(const config& c);
/// `shop ctl URL PATTERN [DATA] [--emit] [--header k=v] [--timeout MS]`: one call, its reply
/// printed as JSON (exit 0), or its error (exit 1).
int run_ctl(int argc, char** argv);

}  // namespace shop
