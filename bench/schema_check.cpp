// The cost of one roost::validation::json_schema::check, what a schema pipe adds to a request:
//   schema_check CASE N   (CASE: valid, invalid, small)
// Checks one order payload N times against the order schema of docs/enhancers.md: `valid`
// passes (3 items), `invalid` fails on 4 fields, `small` is a 3-field object against a 3-field
// schema. Prints the wall-clock time per check; bench/schema-instructions.sh runs it under
// callgrind, collecting inside check() only, for instruction counts that do not depend on the
// machine's load.
#include <roost/validation/json_schema.hpp>

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

constexpr std::string_view order_schema = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["customer", "items"],
  "properties": {
    "customer": {"type": "string", "minLength": 1},
    "items": {"type": "array", "minItems": 1,
              "items": {"type": "object", "required": ["sku", "qty"],
                        "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                                       "qty": {"type": "integer", "minimum": 1}}}},
    "note": {"type": "string", "maxLength": 200}
  }
})";

constexpr std::string_view small_schema = R"({
  "type": "object", "required": ["a", "b"],
  "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}}
})";

}  // namespace

int main(int argc, char** argv) {
  const std::string_view which = argc == 3 ? argv[1] : "";
  const long n = argc == 3 ? std::atol(argv[2]) : 0;
  std::string_view schema = order_schema;
  std::string_view payload;
  if (which == "valid") {
    payload = R"({"customer":"ada","items":[{"sku":"ABC-1","qty":2},{"sku":"DEF-22","qty":1},
                 {"sku":"GHI-333","qty":5}],"note":"leave at the door"})";
  } else if (which == "invalid") {
    payload = R"({"items":[{"sku":"abc","qty":0},{"sku":"DEF-22","qty":"1"}],"note":7})";
  } else if (which == "small") {
    schema = small_schema;
    payload = R"({"a":1,"b":"two","c":true})";
  }
  if (payload.empty() || n <= 0) {
    std::fprintf(stderr, "usage: schema_check valid|invalid|small N\n");
    return 2;
  }
  const auto s = roost::validation::json_schema::parse(schema);
  const auto v = boost::json::parse(payload);
  std::size_t problems = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) problems += s.check(v).size();
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("%s %ld %zu %.0f ns/check\n", std::string(which).c_str(), n, problems / n,
              static_cast<double>(ns) / static_cast<double>(n));
  return 0;
}
