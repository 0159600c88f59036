#include <roost/validation/schema_pipe.hpp>

#include <roost/client_proxy.hpp>
#include <roost/errors.hpp>
#include <roost/microservice.hpp>
#include <roost/router.hpp>
#include <roost/testing/memory_transport.hpp>
#include <roost/testing/run.hpp>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <string>
#include <vector>

// The schema pipe on a route of a microservice, called over the in-memory transport: what a
// caller gets back for a payload the schema accepts and for one it does not.

namespace {

using namespace roost;
using roost::validation::json_schema;
using roost::validation::schema_pipe;

constexpr std::string_view order_schema = R"({
  "type": "object",
  "required": ["customer", "items"],
  "properties": {
    "customer": {"type": "string"},
    "items": {"type": "array", "items": {"type": "object", "required": ["qty"],
              "properties": {"qty": {"type": "integer", "minimum": 1}}}}
  }
})";

struct order_item {
  int qty = 0;
};
BOOST_DESCRIBE_STRUCT(order_item, (), (qty))
struct order {
  std::string customer;
  std::vector<order_item> items;
};
BOOST_DESCRIBE_STRUCT(order, (), (customer, items))

/// A service whose `orders.create` checks its payload against order_schema; the handler
/// answers the payload it was given and counts its calls.
class order_service {
 public:
  order_service() {
    r_.message("orders.echo", [this](const json::value& v) {
      ++calls;
      return v;
    });
    r_.message("orders.total", [this](const order& o) {
      ++calls;
      int n = 0;
      for (const auto& i : o.items) n += i.qty;
      return n;
    });
    r_.enhance("orders.echo").use_pipe(schema_pipe(json_schema::parse(order_schema)));
    r_.enhance("orders.total").use_pipe(schema_pipe(json_schema::parse(order_schema)));
    microservice_options o;
    o.threads = 1;
    o.handle_signals = false;
    o.log = logger::silent();
    app_ = std::make_unique<microservice>(r_, o);
    app_->add_transport(broker_.server());
  }

  /// The reply to `pattern` with `data`, or the error the caller got, as JSON text.
  std::string call(std::string pattern, std::string_view data) {
    std::string out;
    roost::testing::run([&]() -> awaitable<void> {
      const auto ex = co_await boost::asio::this_coro::executor;
      co_await app_->start();
      client_proxy client(ex, broker_.client());
      try {
        out = boost::json::serialize(
            co_await client.send<json::value>(json::value(pattern), boost::json::parse(data)));
      } catch (const rpc_error& e) {
        out = boost::json::serialize(e.error());
      }
      client.close();
      co_await app_->shutdown();
    });
    return out;
  }

  int calls = 0;

 private:
  router r_;
  roost::testing::memory_broker broker_;
  std::unique_ptr<microservice> app_;
};

TEST(schema_pipe, a_valid_payload_reaches_the_handler_unchanged) {
  order_service svc;
  constexpr std::string_view payload =
      R"({"customer":"ada","items":[{"qty":2,"gift":true}],"x":[1.5,null]})";
  EXPECT_EQ(boost::json::parse(svc.call("orders.echo", payload)), boost::json::parse(payload));
  EXPECT_EQ(svc.call("orders.total", R"({"customer":"ada","items":[{"qty":2},{"qty":3}]})"), "5");
  EXPECT_EQ(svc.calls, 2);
}

TEST(schema_pipe, an_invalid_payload_is_answered_with_every_problem_and_never_reaches_the_handler) {
  order_service svc;
  EXPECT_EQ(svc.call("orders.total", R"({"items":[{"qty":0},{"qty":"2"}]})"),
            R"({"status":"error","message":"Invalid payload: /items/0/qty: minimum 1, got 0; )"
            R"(/items/1/qty: type integer, got \"2\"; /customer: required property missing"})");
  EXPECT_EQ(svc.call("orders.echo", "[]"),
            R"({"status":"error","message":"Invalid payload: type object, got []"})");
  EXPECT_EQ(svc.calls, 0);
}

TEST(schema_pipe, an_invalid_schema_is_refused_when_the_pipe_is_made) {
  EXPECT_THROW(schema_pipe(json_schema::parse(R"({"type":"whatever"})")), std::invalid_argument);
}

TEST(schema_pipe, is_synchronous) {
  EXPECT_TRUE(schema_pipe(json_schema::parse("{}")).is_sync());
}

}  // namespace
