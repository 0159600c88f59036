#pragma once
/// \file Reads a JSON Schema before valijson does: refuses what it would not enforce or could
/// not survive, and renames the keywords roost checks itself (private to roost::validation).

#include <roost/validation/json_schema.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace roost::validation::detail {

/// In the copy given to valijson, `type`, `pattern` and `format` are moved under these names,
/// which custom constraints of ours handle: a `type` problem then names the types expected,
/// `pattern` runs on a regular expression engine that does not recurse per character, and
/// `format` lets non-strings through (valijson reads any value as a string there).
inline constexpr std::string_view type_keyword = "roost:type";
inline constexpr std::string_view pattern_keyword = "roost:pattern";
inline constexpr std::string_view format_keyword = "roost:format";
inline constexpr std::string_view max_length_keyword = "roost:maxLength";
inline constexpr std::string_view min_length_keyword = "roost:minLength";

struct reviewed_schema {
  json::value schema;  ///< the copy for valijson, keywords renamed; `$schema` and `$id` removed
  schema_draft draft = schema_draft::draft7;
  bool has_pattern_properties = false;  ///< valijson runs std::regex on property names
};

/// Throws std::invalid_argument ("schema refused: <JSON Pointer>: <what>").
reviewed_schema review_schema(const json::value& schema, schema_draft requested);

/// `segment` escaped for a JSON Pointer (~ as ~0, / as ~1).
std::string pointer_segment(std::string_view segment);

}  // namespace roost::validation::detail
