// The orders service: routes behind a JWT guard, served on TCP. Callers send
// `authorization: Bearer <token>` as NestJS 12 metadata; tokens are HS256, signed with the
// secret in the environment variable ORDERS_JWT_SECRET, for the audience "orders". An order is
// checked against a JSON Schema before its handler runs, and a refused one is answered with a
// code of the service's own (an exception filter).
//   ORDERS_JWT_SECRET=... orders_service [port]   (default 3000; prints READY <port>)
// nest-client.mjs beside this file is a NestJS 12 client that calls it with its token.

#include <roost/auth/jwt_guard.hpp>
#include <roost/roost.hpp>
#include <roost/tcp.hpp>
#include <roost/validation/schema_pipe.hpp>

#include <cstdio>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoi(argv[1]) : 3000);

  auto key = roost::auth::jwt_key::hmac_from_env("ORDERS_JWT_SECRET");
  if (!key) {
    std::fprintf(stderr, "ORDERS_JWT_SECRET: %s\n", key.error().message().c_str());
    return 2;
  }
  roost::auth::jwt_rules rules;
  rules.algorithms = {roost::auth::jwt_algorithm::hs256};
  rules.audiences = {"orders"};
  rules.leeway = std::chrono::seconds(30);
  auto verifier = std::make_shared<const roost::auth::jwt_verifier>(std::move(rules), *key);

  roost::router r;
  // Any valid token may ask who it is...
  r.message("orders.whoami",
            [](roost::context& ctx) { return roost::json::value(*roost::auth::jwt_claims(ctx)); });
  // ...placing an order also needs the orders:write scope.
  r.message("orders.place", [](roost::json::object order, roost::context& ctx) {
    order["placed_by"] = roost::auth::jwt_claims(ctx)->at("sub");
    return order;
  });
  r.enhance("orders.whoami").use_guard(roost::auth::jwt_guard(verifier));
  r.enhance("orders.place")
      .use_guard(roost::auth::jwt_guard(verifier, {.required_scopes = {"orders:write"}}))
      .use_pipe(roost::validation::schema_pipe(roost::validation::json_schema::parse(R"({
        "type": "object",
        "properties": {
          "item": {"type": "string", "minLength": 1},
          "quantity": {"type": "integer", "minimum": 1, "maximum": 100}
        },
        "required": ["item", "quantity"],
        "additionalProperties": false
      })")));
  // A refused payload keeps its message and gains the code the service's callers test for.
  r.enhance().use_filter(
      [](std::exception_ptr e, roost::context&) -> std::optional<roost::json::value> {
        try {
          std::rethrow_exception(e);
        } catch (const roost::payload_rejected& x) {
          roost::json::value err = x.error();
          err.as_object()["code"] = "invalid_order";
          return err;
        } catch (...) {
          return std::nullopt;  // the default encoding
        }
      });

  roost::microservice app{r};
  auto& tcp = app.add_transport(roost::tcp::server({.host = "127.0.0.1", .port = port}));
  app.on_ready([&] {
    std::printf("READY %u\n", tcp.port());
    std::fflush(stdout);
  });
  return app.run();
}
