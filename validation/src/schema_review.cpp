#include "schema_review.hpp"

#include <boost/json/serialize.hpp>
#include <boost/regex.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <utility>

namespace roost::validation::detail {
namespace {

[[noreturn]] void refuse(const std::string& where, const std::string& what) {
  throw std::invalid_argument("schema refused: " + (where.empty() ? std::string("/") : where) +
                              ": " + what);
}

// Keywords of later drafts that valijson 1.0 does not implement: a schema using one would be
// checked as if it were absent, promising more than is enforced.
constexpr std::array<std::string_view, 13> unenforced = {
    "prefixItems",      "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
    "dependentSchemas", "minContains",           "maxContains",      "$dynamicRef",
    "$dynamicAnchor",   "$recursiveRef",         "$recursiveAnchor", "$anchor",
    "$vocabulary"};

// Keywords whose value is one subschema applied to the same value (a cycle through them
// alone would never end) or to a part of it.
constexpr std::array<std::string_view, 4> same_value_schema = {"not", "if", "then", "else"};
constexpr std::array<std::string_view, 4> part_schema = {"additionalItems", "additionalProperties",
                                                         "contains", "propertyNames"};
constexpr std::array<std::string_view, 3> same_value_lists = {"allOf", "anyOf", "oneOf"};
constexpr std::array<std::string_view, 4> schema_maps = {"properties", "patternProperties",
                                                         "definitions", "$defs"};
constexpr std::array<std::string_view, 7> type_names = {"null",   "boolean", "object", "array",
                                                        "number", "integer", "string"};

template <std::size_t N>
bool among(const std::array<std::string_view, N>& set, std::string_view s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

schema_draft draft_named(const json::value& uri) {
  if (!uri.is_string()) refuse("/$schema", "must be a string");
  std::string_view s = uri.get_string();
  if (s.starts_with("https://")) s.remove_prefix(8);
  if (s.starts_with("http://")) s.remove_prefix(7);
  while (s.ends_with('#')) s.remove_suffix(1);
  if (s == "json-schema.org/draft-07/schema") return schema_draft::draft7;
  if (s == "json-schema.org/draft/2020-12/schema") return schema_draft::draft2020_12;
  refuse("/$schema", "unsupported dialect " + json::serialize(uri) +
                         " (this validator reads draft-07 and 2020-12)");
}

/// The JSON Pointer (in canonical escaping) that a `$ref` of the form `#...` names.
std::string ref_target(const std::string& where, std::string_view ref) {
  if (!ref.starts_with('#')) {
    refuse(where, "$ref \"" + std::string(ref) +
                      "\" leaves the schema (only references within it, #/..., are supported)");
  }
  std::string fragment;  // percent-decoded
  for (std::size_t i = 1; i < ref.size(); ++i) {
    if (ref[i] == '%' && i + 2 < ref.size() &&
        std::isxdigit(static_cast<unsigned char>(ref[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(ref[i + 2]))) {
      fragment += static_cast<char>(std::stoi(std::string(ref.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      fragment += ref[i];
    }
  }
  if (!fragment.empty() && fragment[0] != '/') {
    refuse(where,
           "$ref \"" + std::string(ref) + "\" is not a JSON Pointer (anchors are not supported)");
  }
  std::string target;
  std::size_t at = 0;
  while (at < fragment.size()) {
    const std::size_t end = std::min(fragment.find('/', at + 1), fragment.size());
    std::string segment;
    for (std::size_t i = at + 1; i < end; ++i) {
      if (fragment[i] == '~' && i + 1 < end && (fragment[i + 1] == '0' || fragment[i + 1] == '1')) {
        segment += fragment[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        segment += fragment[i];
      }
    }
    target += "/" + pointer_segment(segment);
    at = end;
  }
  return target;
}

class reviewer {
 public:
  explicit reviewer(schema_draft draft) : draft_(draft) {}

  bool has_pattern_properties = false;

  json::value schema(const json::value& node, const std::string& where) {
    positions_.insert(where);
    if (node.is_bool()) return node;
    const json::object* o = node.if_object();
    if (!o) refuse(where, "a schema is an object or a boolean, not " + json::serialize(node));
    json::object out;
    const bool has_ref = o->contains("$ref");
    for (const auto& [key, value] : *o) {
      const std::string here = where + "/" + pointer_segment(key);
      if (key.starts_with("roost:")) refuse(here, "keyword reserved by roost");
      if (among(unenforced, key)) {
        refuse(here, "keyword not supported by this validator (it would be ignored, not enforced)");
      }
      if (key == "$schema" || key == "$id") {
        if (!where.empty()) refuse(here, "only the root may set " + std::string(key));
        continue;  // the dialect is decided; an $id would make valijson look the document up
      }
      if (key == "$ref") {
        if (!value.is_string()) refuse(here, "must be a string");
        refs_.emplace_back(where, ref_target(here, value.get_string()));
        out.emplace(key, value);
      } else if (key == "type") {
        check_type(here, value);
        out.emplace(type_keyword, value);
      } else if (key == "pattern") {
        if (!value.is_string()) refuse(here, "must be a string");
        check_regex(here, value.get_string());
        out.emplace(pattern_keyword, value);
      } else if (key == "maxLength" || key == "minLength") {
        check_count(here, value);
        out.emplace(key == "maxLength" ? max_length_keyword : min_length_keyword, value);
      } else if (key == "format") {
        if (!value.is_string()) refuse(here, "must be a string");
        out.emplace(format_keyword, value);
      } else if (key == "items") {
        if (value.is_array()) {
          if (draft_ == schema_draft::draft2020_12) {
            refuse(here,
                   "an array of schemas is draft 7's form (2020-12 has prefixItems, which "
                   "this validator does not support)");
          }
          out.emplace(key, schema_list(value, here, nullptr));
        } else {
          out.emplace(key, schema(value, here));
        }
      } else if (among(same_value_schema, key)) {
        edges_[where].push_back(here);
        out.emplace(key, schema(value, here));
      } else if (among(part_schema, key)) {
        if (key == "additionalItems" && draft_ == schema_draft::draft2020_12) {
          refuse(here, "not a 2020-12 keyword (its items/prefixItems are)");
        }
        out.emplace(key, schema(value, here));
      } else if (among(same_value_lists, key)) {
        if (!value.is_array() || value.get_array().empty())
          refuse(here, "must be a non-empty array");
        out.emplace(key, schema_list(value, here, &edges_[where]));
      } else if (among(schema_maps, key)) {
        out.emplace(key, schema_map(key, value, here));
      } else if (key == "dependencies") {
        if (draft_ == schema_draft::draft2020_12) {
          refuse(here,
                 "not a 2020-12 keyword (its dependentRequired/dependentSchemas are not "
                 "supported by this validator)");
        }
        out.emplace(key, dependencies(value, where, here));
      } else {
        out.emplace(key, value);
      }
    }
    if (has_ref && draft_ == schema_draft::draft2020_12) {
      for (const auto& [key, value] : *o) {
        if (key != "$ref" && key != "$schema" && key != "$id" && key != "$comment" &&
            key != "title" && key != "description" && key != "default" && key != "examples" &&
            key != "$defs" && key != "definitions") {
          refuse(where + "/" + pointer_segment(key),
                 "keywords beside $ref are not supported (put both in an allOf)");
        }
      }
    }
    return out;
  }

  /// After the walk: every $ref names a schema of the document, and no chain of references and
  /// same-value keywords (allOf, not, if...) comes back to where it started.
  void check_references() {
    for (const auto& [from, to] : refs_) {
      if (!positions_.contains(to)) {
        refuse(from + "/$ref", "\"#" + to + "\" does not name a schema of this document");
      }
      edges_[from].push_back(to);
    }
    enum class mark { unseen, open, done };
    std::map<std::string, mark> marks;
    for (const auto& [start, unused] : edges_) {
      if (marks[start] != mark::unseen) continue;
      // Depth-first without recursion: a long chain of references is not a deep stack.
      std::vector<std::pair<std::string, std::size_t>> path{{start, 0}};
      marks[start] = mark::open;
      while (!path.empty()) {
        auto& [node, next] = path.back();
        const auto it = edges_.find(node);
        if (it == edges_.end() || next == it->second.size()) {
          marks[node] = mark::done;
          path.pop_back();
          continue;
        }
        const std::string child = it->second[next++];
        if (marks[child] == mark::open) {
          refuse(child.empty() ? "/" : child,
                 "the schema refers to itself without descending into the payload (through $ref "
                 "and allOf/anyOf/oneOf/not/if/then/else/dependencies): it could never finish");
        }
        if (marks[child] == mark::unseen) {
          marks[child] = mark::open;
          path.emplace_back(child, 0);
        }
      }
    }
  }

 private:
  json::value schema_list(const json::value& value, const std::string& where,
                          std::vector<std::string>* edges) {
    if (!value.is_array()) refuse(where, "must be an array of schemas");
    json::array out;
    std::size_t i = 0;
    for (const json::value& item : value.get_array()) {
      const std::string here = where + "/" + std::to_string(i++);
      if (edges) edges->push_back(here);
      out.push_back(schema(item, here));
    }
    return out;
  }

  json::value schema_map(std::string_view key, const json::value& value, const std::string& where) {
    const json::object* o = value.if_object();
    if (!o) refuse(where, "must be an object of schemas");
    json::object out;
    for (const auto& [name, item] : *o) {
      if (key == "patternProperties") {
        has_pattern_properties = true;
        check_std_regex(where + "/" + pointer_segment(name), name);
      }
      out.emplace(name, schema(item, where + "/" + pointer_segment(name)));
    }
    return out;
  }

  json::value dependencies(const json::value& value, const std::string& owner,
                           const std::string& where) {
    const json::object* o = value.if_object();
    if (!o) refuse(where, "must be an object");
    json::object out;
    for (const auto& [name, item] : *o) {
      const std::string here = where + "/" + pointer_segment(name);
      if (item.is_array()) {
        for (const json::value& p : item.get_array()) {
          if (!p.is_string()) refuse(here, "must list property names (strings)");
        }
        out.emplace(name, item);
      } else {
        edges_[owner].push_back(here);
        out.emplace(name, schema(item, here));
      }
    }
    return out;
  }

  static void check_type(const std::string& where, const json::value& value) {
    auto named = [&](const json::value& v) {
      if (!v.is_string() || !among(type_names, v.get_string())) {
        refuse(where, json::serialize(v) +
                          " is not a type (null, boolean, object, array, number, integer, string)");
      }
    };
    if (const json::array* a = value.if_array()) {
      if (a->empty()) refuse(where, "an empty list of types allows nothing");
      for (const json::value& v : *a) named(v);
    } else {
      named(value);
    }
  }

  static void check_count(const std::string& where, const json::value& value) {
    const bool whole =
        value.is_uint64() || (value.is_int64() && value.get_int64() >= 0) ||
        (value.is_double() && value.get_double() >= 0 &&
         value.get_double() == static_cast<double>(static_cast<std::int64_t>(value.get_double())));
    if (!whole) refuse(where, "must be a non-negative integer");
  }

  static void check_regex(const std::string& where, std::string_view pattern) {
    try {
      boost::regex re(pattern.begin(), pattern.end(), boost::regex::ECMAScript);
    } catch (const std::exception& e) {
      refuse(where, "regular expression does not compile: " + std::string(e.what()));
    }
  }

  // patternProperties stay valijson's, which compiles them with std::regex at each check.
  static void check_std_regex(const std::string& where, std::string_view pattern) {
    try {
      std::regex re(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    } catch (const std::exception& e) {
      refuse(where, "regular expression does not compile: " + std::string(e.what()));
    }
  }

  schema_draft draft_;
  std::set<std::string> positions_;  // JSON Pointers of the document's schemas
  std::vector<std::pair<std::string, std::string>> refs_;  // (schema, target)
  std::map<std::string, std::vector<std::string>> edges_;  // schema -> same-value subschemas
};

}  // namespace

std::string pointer_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

reviewed_schema review_schema(const json::value& schema, schema_draft requested) {
  reviewed_schema r;
  r.draft = requested == schema_draft::from_schema ? schema_draft::draft7 : requested;
  if (const json::object* o = schema.if_object()) {
    if (const json::value* uri = o->if_contains("$schema")) {
      const schema_draft named = draft_named(*uri);
      if (requested != schema_draft::from_schema && named != requested) {
        refuse("/$schema", "names another draft than the one asked for");
      }
      r.draft = named;
    }
  }
  reviewer walk(r.draft);
  r.schema = walk.schema(schema, "");
  walk.check_references();
  r.has_pattern_properties = walk.has_pattern_properties;
  return r;
}

}  // namespace roost::validation::detail
