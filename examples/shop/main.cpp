// The shop's processes, one executable: `shop orders|payments|shipping|notifications` serves
// one service (READY <name> once it listens), `shop ctl ...` makes one call. Inventory is a
// NestJS service (inventory.mjs). Configuration: the SHOP_* environment variables (shop.hpp).

#include "shop.hpp"

#include <roost/saga/outbox.hpp>
#include <roost/transport_module.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

// Each transport module's table entry (docs/writing-a-transport.md), as roost::transports
// declares them: the shop links only these four.
namespace roost::nats {
const transport_module& declared_transport() noexcept;
}
namespace roost::redis {
const transport_module& declared_transport() noexcept;
}
namespace roost::rmq {
const transport_module& declared_transport() noexcept;
}
namespace roost::tcp {
const transport_module& declared_transport() noexcept;
}

namespace shop {

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

roost::url parsed(const std::string& text) {
  auto u = roost::url::parse(text);
  if (!u) throw std::invalid_argument("bad URL '" + text + "': " + u.error().message());
  return *u;
}

// The transports the shop links, each as its module makes it from a URL.
const roost::transport_module& module_for(const roost::url& u) {
  for (const auto* m : {&roost::nats::declared_transport(), &roost::redis::declared_transport(),
                        &roost::rmq::declared_transport(), &roost::tcp::declared_transport()}) {
    for (auto scheme : m->schemes) {
      if (scheme == u.scheme) return *m;
    }
  }
  throw std::invalid_argument("the shop speaks nats, redis, amqp and tcp, not '" + u.scheme + "'");
}

}  // namespace

config config_from_env() {
  config c;
  c.ns = env_or("SHOP_NS", "shop");
  c.dir = env_or("SHOP_DIR", ".");
  c.orders_url = env_or("SHOP_ORDERS_URL", "nats://127.0.0.1:16222");
  c.payments_url = env_or("SHOP_PAYMENTS_URL", "redis://127.0.0.1:16379");
  c.inventory_url = env_or("SHOP_INVENTORY_URL",
                           "amqp://guest:guest@127.0.0.1:16672/?queue=" + c.ns + "-inventory");
  c.shipping_url = env_or("SHOP_SHIPPING_URL", "tcp://127.0.0.1:16400");
  c.events_url = env_or("SHOP_EVENTS_URL", "redis://127.0.0.1:16379/?streams=true");
  c.notifications_url =
      env_or("SHOP_NOTIFICATIONS_URL",
             "redis://127.0.0.1:16379/?streams=true&group=" + c.ns + "-notifications");
  return c;
}

std::unique_ptr<roost::client_transport> client_for(const std::string& text, roost::logger log) {
  const auto u = parsed(text);
  auto t = module_for(u).make_client(u, std::move(log));
  if (!t) throw std::invalid_argument("bad options in '" + text + "': " + t.error().message());
  return std::move(*t);
}

std::unique_ptr<roost::server_transport> server_for(const std::string& text) {
  const auto u = parsed(text);
  auto t = module_for(u).make_server(u, roost::logger{});
  if (!t) throw std::invalid_argument("bad options in '" + text + "': " + t.error().message());
  return std::move(*t);
}

int serve(const config& c, const roost::router& r, const std::vector<std::string>& urls,
          const std::string& name, roost::saga::outbox* box) {
  // One thread: the handlers are short SQLite transactions, and messages of one stream are
  // handled in the order they came.
  roost::microservice_options o;
  o.threads = 1;
  roost::microservice app{r, o};
  for (const auto& url : urls) app.add_transport(server_for(url));
  if (box) {
    auto ex = app.io_context().get_executor();
    auto events = std::make_shared<roost::client_proxy>(ex, client_for(c.events_url));
    boost::asio::co_spawn(ex, box->publish(events), boost::asio::detached);
  }
  app.on_ready([&] {
    std::printf("READY %s\n", name.c_str());
    std::fflush(stdout);
  });
  return app.run();
}

int run_ctl(int argc, char** argv) {
  std::vector<std::string> args;
  bool emit = false;
  roost::call_options o;
  o.timeout = std::chrono::milliseconds(10000);
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--emit") {
      emit = true;
    } else if (a == "--header" && i + 1 < argc) {
      const std::string h = argv[++i];
      const auto eq = h.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--header wants k=v");
      o.headers.add(h.substr(0, eq), h.substr(eq + 1));
    } else if (a == "--timeout" && i + 1 < argc) {
      o.timeout = std::chrono::milliseconds(std::stol(argv[++i]));
    } else {
      args.push_back(a);
    }
  }
  if (args.size() < 2 || args.size() > 3) throw std::invalid_argument("ctl URL PATTERN [DATA]");
  const auto data = args.size() == 3 ? roost::json::parse(args[2]) : roost::json::value();
  boost::asio::io_context ioc;
  int rc = 0;
  roost::client_proxy client(ioc.get_executor(), client_for(args[0], roost::logger::silent()));
  const roost::json::value pattern = roost::json::string(args[1]);
  auto call = [&]() -> roost::awaitable<void> {
    try {
      if (emit) {
        co_await client.emit_value(pattern, data, o);
        std::printf("sent\n");
      } else {
        auto reply = co_await client.send_value(pattern, data, o);
        std::printf("%s\n", roost::json::serialize(reply).c_str());
      }
    } catch (const roost::rpc_error& e) {
      std::printf("error %s\n", roost::json::serialize(e.error()).c_str());
      rc = 1;
    } catch (const std::exception& e) {
      std::printf("failed %s\n", e.what());
      rc = 3;
    }
    client.close();
  };
  boost::asio::co_spawn(ioc, call(), [&](std::exception_ptr) { ioc.stop(); });
  ioc.run();
  return rc;
}

}  // namespace shop

int main(int argc, char** argv) {
  const std::string role = argc > 1 ? argv[1] : "";
  try {
    const auto c = shop::config_from_env();
    if (role == "orders") return shop::run_orders(c);
    if (role == "payments") return shop::run_payments(c);
    if (role == "shipping") return shop::run_shipping(c);
    if (role == "notifications") return shop::run_notifications(c);
    if (role == "ctl") return shop::run_ctl(argc - 2, argv + 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shop %s: %s\n", role.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: shop orders|payments|shipping|notifications\n"
               "       shop ctl URL PATTERN [DATA] [--emit] [--header k=v] [--timeout MS]\n");
  return 2;
}
