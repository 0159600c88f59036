#pragma once
/// \file roost::validation::json_schema: a JSON Schema (draft 7 or 2020-12), compiled once and
/// checked against payloads from any thread.

#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roost::validation {

/// Which JSON Schema a schema is written in.
enum class schema_draft {
  from_schema,  ///< as its `$schema` says; draft 7 when it has none
  draft7,       ///< draft 7 (`http://json-schema.org/draft-07/schema#`)
  draft2020_12  ///< 2020-12 (`https://json-schema.org/draft/2020-12/schema`)
};

struct schema_options {
  schema_draft draft = schema_draft::from_schema;
  /// Problems listed in one answer; the rest are counted ("... and 12 more").
  std::size_t max_problems = 20;
  /// Characters of an offending value quoted in a problem (longer ones are cut, "...").
  std::size_t max_value_chars = 40;
  /// Longest property name checked against `patternProperties` (whose regular expressions run
  /// on the call stack): a payload with a longer name in any object is refused at once, when
  /// the schema has `patternProperties`.
  std::size_t max_pattern_name_chars = 256;
  /// Deepest nesting of arrays and objects checked (the check descends by recursion); a deeper
  /// payload is refused at once. The transports' own limit is 512.
  std::size_t max_depth = 256;
};

/// A compiled JSON Schema. Immutable once made: copies share it, and `check` may run on many
/// threads at once.
///
/// The keywords of draft 7 are checked (validation and applicators: type, enum, const, the
/// numeric, string, array and object keywords, allOf/anyOf/oneOf/not, if/then/else,
/// dependencies, $ref within the schema); `format` checks date, time and date-time and lets
/// other formats through, as annotations. A keyword this validator would not enforce (2019-09
/// and 2020-12 ones such as prefixItems, unevaluatedProperties, dependentRequired, $dynamicRef,
/// $anchor) is refused rather than ignored, so a schema never promises more than is checked.
class json_schema {
 public:
  /// Compiles `schema`. Throws std::invalid_argument saying what is wrong and where (a JSON
  /// Pointer into the schema) when it is not a schema this validator can enforce: malformed,
  /// an unsupported keyword or `$schema`, a `$ref` outside the document or that does not
  /// resolve, a schema that refers to itself without descending into the payload, a regular
  /// expression that does not compile.
  explicit json_schema(const json::value& schema, const schema_options& options = {});
  /// The same from JSON text (std::invalid_argument also when it is not JSON).
  static json_schema parse(std::string_view text, const schema_options& options = {});

  /// What is wrong with `payload`, one entry per failing rule, each
  /// `<JSON Pointer>: <rule>[, got <value>]` (e.g. `/items/0/qty: minimum 1, got 0`;
  /// no pointer for the payload itself); empty when it is valid.
  std::vector<std::string> check(const json::value& payload) const;
  bool accepts(const json::value& payload) const { return check(payload).empty(); }

  /// The draft the schema was read as (never from_schema).
  schema_draft draft() const noexcept;

  struct compiled;  // the validator's own representation (src/json_schema.cpp)

 private:
  std::shared_ptr<const compiled> compiled_;
};

}  // namespace roost::validation
