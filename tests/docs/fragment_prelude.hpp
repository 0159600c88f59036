#pragma once
// What the documentation's fragments take as given (check-snippets.sh puts it before each block
// marked `<!-- fragment -->`): roost's headers, the chrono literals, and the application's own
// types and functions that the examples name without defining.

#include <roost/roost.hpp>
#include <roost/tcp.hpp>

#if __has_include(<roost/auth/jwt_guard.hpp>)  // built with roost::auth (ROOST_WITH_AUTH)
#include <roost/auth/bearer_token.hpp>
#include <roost/auth/jwt_guard.hpp>
#include <roost/auth/jwt_verifier.hpp>
#endif
#if __has_include(<roost/validation/schema_pipe.hpp>)  // built with roost::validation
#include <roost/validation/json_schema.hpp>
#include <roost/validation/schema_pipe.hpp>
#endif
#if __has_include(<roost/auth/jwks_source.hpp>)  // built with roost::oauth
#include <roost/auth/client_credentials.hpp>
#include <roost/auth/jwks_source.hpp>
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/describe/class.hpp>

#include <chrono>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

struct order {
  std::string id;
  int quantity = 0;
};
BOOST_DESCRIBE_STRUCT(order, (), (id, quantity))

struct user {
  int id = 0;
  std::string name;
};
BOOST_DESCRIBE_STRUCT(user, (), (id, name))

struct invoice {
  std::string number;
  double amount = 0;
};
BOOST_DESCRIBE_STRUCT(invoice, (), (number, amount))

inline order load_order(const std::string& id) {
  return {id, 1};
}
inline std::optional<user> find_user(int id) {
  if (id <= 0) return std::nullopt;
  return user{id, "ada"};
}
inline void save(const order&) {}
inline bool valid(const invoice& i) {
  return i.amount >= 0;
}
inline void store(const invoice&) {}
inline void use(int) {}
inline const order my_order{"o1", 2};
