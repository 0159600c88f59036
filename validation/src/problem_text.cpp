#include "problem_text.hpp"

#include "schema_review.hpp"

#include <roost/detail/json_writer.hpp>

#include <array>
#include <charconv>
#include <cstdlib>
#include <utility>

namespace roost::validation::detail {
namespace {

// valijson's reports that only say a part failed: the part has its own report.
constexpr std::array<std::string_view, 8> part_failed = {
    "Failed to validate against schema associated with property name",
    "Failed to validate against schema associated with pattern",
    "Failed to validate item #",
    "Failed to validate against child schema #",
    "Failed to validate against additional properties schema",
    "Failed to validate against a conditional schema",
    "Failed to validate against dependent schema",
    "Failed to validate against additional items schema"};

// Numeric limits, as valijson words them (the number printed by std::to_string).
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> with_number = {{
    {"Expected number greater than or equal to ", "minimum "},
    {"Expected number greater than ", "exclusiveMinimum "},
    {"Expected number less than or equal to ", "maximum "},
    {"Expected number less than ", "exclusiveMaximum "},
    {"String should be no more than ", "maxLength "},
    {"String should be no fewer than ", "minLength "},
    {"Array should contain no more than ", "maxItems "},
    {"Array should contain no fewer than ", "minItems "},
    {"Object should have no more than ", "maxProperties "},
    {"Object should have no fewer than ", "minProperties "},
    {"Value should be a multiple of ", "multipleOf "},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 9> whole = {{
    {"Failed to match against any enum values.", "enum"},
    {"Failed to match expected value set by 'const' constraint.", "const"},
    {"Failed to any values against subschema in 'contains' constraint.",
     "contains: no item matches"},
    {"Target should not validate against schema specified in 'not' constraint.",
     "not: matches the schema it must not"},
    {"Failed to validate against any schemas allowed by anyOf constraint.", "anyOf: matches none"},
    {"Failed to validate against any child schemas allowed by oneOf constraint.",
     "oneOf: matches none"},
    {"Failed to validate against exactly one child schema.", "oneOf: matches more than one"},
    {"Value type not permitted by 'type' constraint.", "type"},
    {"Failed to match regex specified by 'pattern' constraint.", "pattern"},
}};

constexpr std::string_view required_prefix = "Missing required property '";
constexpr std::string_view dependency_prefix = "Missing dependency '";
constexpr std::string_view unknown_property_prefix =
    "Object contains a property that could not be validated using 'properties' or "
    "'additionalProperties' constraints: '";
constexpr std::string_view too_many_items = "Array contains more items than allowed";
constexpr std::string_view item_beyond = "Cannot validate item #";
constexpr std::string_view unique_prefix = "Elements at indexes #";

/// "1.000000" (std::to_string) as "1"; what is not a number is left as it is.
std::string shortest_number(std::string_view text) {
  while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.remove_suffix(1);
  const std::string s(text);
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return s;
  std::string out;
  roost::detail::write_js_number(d, out);
  return out;
}

/// The name quoted at the end of `description` after `prefix` ("...'name'.").
std::string quoted_name(std::string_view description, std::string_view prefix) {
  std::string_view rest = description.substr(prefix.size());
  if (rest.ends_with('.')) rest.remove_suffix(1);
  if (rest.ends_with('\'')) rest.remove_suffix(1);
  return std::string(rest);
}

std::string pointer_of(const std::vector<std::string_view>& path) {
  std::string p;
  for (std::string_view s : path) p += "/" + pointer_segment(s);
  return p;
}

const json::value* value_at(const json::value& payload, const std::vector<std::string_view>& path) {
  const json::value* v = &payload;
  for (std::string_view s : path) {
    if (const json::object* o = v->if_object()) {
      v = o->if_contains(s);
    } else if (const json::array* a = v->if_array()) {
      std::size_t i = 0;
      const auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      v = (r.ec == std::errc{} && r.ptr == s.data() + s.size()) ? a->if_contains(i) : nullptr;
    } else {
      v = nullptr;
    }
    if (!v) return nullptr;
  }
  return v;
}

}  // namespace

std::string quoted_value(const json::value& v, std::size_t max_chars) {
  std::string text = roost::detail::to_json(v);  // as the caller's JavaScript would write it
  if (text.size() <= max_chars) return text;
  std::size_t cut = max_chars;
  // Back to the start of a UTF-8 sequence (its continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

std::optional<std::string> problem_text(const std::vector<std::string>& context,
                                        std::string_view description, const json::value& payload,
                                        std::size_t max_value_chars) {
  for (std::string_view p : part_failed) {
    if (description.starts_with(p)) return std::nullopt;
  }
  std::vector<std::string_view> path;
  for (std::size_t i = 1; i < context.size(); ++i) {  // [0] is "<root>"
    std::string_view s = context[i];
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
    path.push_back(s);
  }
  std::string rule;
  bool show_value = true;
  std::string named;  // a property the rule is about, which the pointer then ends with
  if (description.starts_with(own_rule)) {
    rule = description.substr(own_rule.size());
  } else if (description.starts_with(required_prefix)) {
    named = quoted_name(description, required_prefix);
    rule = "required property missing";
    show_value = false;
  } else if (description.starts_with(dependency_prefix)) {
    named = quoted_name(description, dependency_prefix);
    rule = "required by dependencies, missing";
    show_value = false;
  } else if (description.starts_with(unknown_property_prefix)) {
    named = quoted_name(description, unknown_property_prefix);
    rule = "property not allowed (additionalProperties)";
    show_value = false;
  } else if (description.starts_with(too_many_items) || description.starts_with(item_beyond)) {
    rule = "more items than the schema allows (additionalItems)";
    show_value = false;
  } else if (description.starts_with(unique_prefix)) {
    std::string_view rest = description.substr(unique_prefix.size());
    const auto and_at = rest.find(" and #");
    const auto end_at = rest.find(" violate");
    if (and_at != std::string_view::npos && end_at != std::string_view::npos && end_at > and_at) {
      rule = "uniqueItems: items " + std::string(rest.substr(0, and_at)) + " and " +
             std::string(rest.substr(and_at + 6, end_at - and_at - 6)) + " are equal";
    } else {
      rule = "uniqueItems";
    }
    show_value = false;
  } else {
    for (const auto& [words, name] : with_number) {
      if (description.starts_with(words)) {
        std::string_view n = description.substr(words.size());
        n = n.substr(0, n.find(' '));  // "3 characters in length." -> "3"
        rule = std::string(name) + shortest_number(n);
        break;
      }
    }
    if (rule.empty()) {
      for (const auto& [words, name] : whole) {
        if (description == words) {
          rule = name;
          break;
        }
      }
    }
    if (rule.empty()) {  // a report this table does not know: as valijson words it
      rule = std::string(description);
      if (rule.ends_with('.')) rule.pop_back();
    }
  }
  if (!named.empty()) path.push_back(named);
  std::string text = path.empty() ? rule : pointer_of(path) + ": " + rule;
  if (show_value) {
    if (const json::value* v = value_at(payload, path)) {
      text += ", got " + quoted_value(*v, max_value_chars);
    }
  }
  return text;
}

}  // namespace roost::validation::detail
