// The one file of roost that includes valijson: its templates are instantiated here alone.
#include <roost/validation/json_schema.hpp>

#include "problem_text.hpp"
#include "schema_review.hpp"

// valijson reports a schema it cannot read by throwing (without this, it prints and aborts).
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <boost/json/parse.hpp>
#include <boost/regex.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <new>
#include <set>
#include <stdexcept>
#include <utility>

namespace roost::validation {
namespace {

using valijson::ValidationResults;
using valijson::adapters::Adapter;
using valijson::constraints::Constraint;
using valijson::constraints::PolyConstraint;

void report(ValidationResults* results, const std::vector<std::string>& context,
            const std::string& rule) {
  if (results) results->pushError(context, std::string(detail::own_rule) + rule);
}

/// `type`, checked here so that its report names the types expected. Integers are numbers
/// without a fractional part, 1.0 included (draft 6 and later).
class type_constraint final : public PolyConstraint {
 public:
  explicit type_constraint(const Adapter& value) {
    auto add = [this](const std::string& name) {
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == name) allowed_ |= 1u << i;
      }
    };
    if (value.isArray()) {
      value.applyToArray([&add](const Adapter& item) {
        add(item.asString());
        return true;
      });
    } else {
      add(value.asString());
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (allowed_ & (1u << i)) {
        rule_ += rule_.empty() ? "type " : " or ";
        rule_ += names[i];
      }
    }
  }

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                ValidationResults* results) const override {
    if (allowed_ & (1u << kind_of(target))) return true;
    report(results, context, rule_);
    return false;
  }

 private:
  static constexpr std::array<std::string_view, 7> names = {"array",  "boolean", "integer", "null",
                                                            "number", "object",  "string"};
  static constexpr unsigned integer = 2, number = 4;

  /// The index in `names` of the value's type. A whole number counts as an integer where
  /// integers are allowed, and as a number otherwise (so that `number` takes it).
  unsigned kind_of(const Adapter& v) const {
    if (v.isArray()) return 0;
    if (v.isBool()) return 1;
    if (v.isNull()) return 3;
    if (v.isObject()) return 5;
    if (v.isString()) return 6;
    if (v.isInteger()) return (allowed_ & (1u << integer)) ? integer : number;
    double d = 0;
    const bool whole = v.getDouble(d) && std::isfinite(d) && d == std::floor(d);
    return whole && (allowed_ & (1u << integer)) ? integer : number;
  }
  Constraint* cloneInto(void* where) const override { return new (where) type_constraint(*this); }
  std::size_t sizeOf() const override { return sizeof(type_constraint); }

  unsigned allowed_ = 0;  // bit i: names[i]
  std::string rule_;
};

/// `pattern`, on Boost.Regex, whose matcher keeps its state on the heap and gives up on a
/// match that would take too long; std::regex (valijson's) recurses once per character and
/// overflows the stack on a string of a few thousand.
class pattern_constraint final : public PolyConstraint {
 public:
  explicit pattern_constraint(const Adapter& value)
      : source_(value.asString()), regex_(source_, boost::regex::ECMAScript) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                ValidationResults* results) const override {
    if (!target.isString()) return true;
    const std::string s = target.asString();
    try {
      if (boost::regex_search(s, regex_, boost::match_not_dot_newline)) return true;
      report(results, context, "pattern " + detail::quoted_value(json::value(source_), 60));
    } catch (const std::runtime_error&) {  // too complex for the matcher's limits
      report(results, context,
             "pattern " + detail::quoted_value(json::value(source_), 60) + " too costly to check");
    }
    return false;
  }

 private:
  Constraint* cloneInto(void* where) const override {
    return new (where) pattern_constraint(*this);
  }
  std::size_t sizeOf() const override { return sizeof(pattern_constraint); }

  std::string source_;
  boost::regex regex_;
};

/// `format`: date, time and date-time are checked (RFC 3339), other formats are annotations.
/// Values other than strings pass, as the drafts say (valijson's own check reads any value as
/// a string).
class format_constraint final : public PolyConstraint {
 public:
  explicit format_constraint(const Adapter& value) : format_(value.asString()) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                ValidationResults* results) const override {
    if (!target.isString()) return true;
    const std::string s = target.asString();
    bool ok = true;
    if (format_ == "date") {
      ok = is_date(s);
    } else if (format_ == "time") {
      ok = is_time(s);
    } else if (format_ == "date-time") {
      const auto t = s.find_first_of("Tt");
      ok = t != std::string::npos && is_date(s.substr(0, t)) && is_time(s.substr(t + 1));
    }
    if (!ok) report(results, context, "format " + format_);
    return ok;
  }

 private:
  static bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  }
  static bool is_date(std::string_view s) {
    int y = 0, m = 0, d = 0;
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
  }
  static bool is_time(std::string_view s) {  // hh:mm:ss[.frac](Z|+hh:mm|-hh:mm)
    int h = 0, mi = 0, se = 0;
    if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
    if (!digits(s, 0, 2, h) || !digits(s, 3, 2, mi) || !digits(s, 6, 2, se)) return false;
    if (h > 23 || mi > 59 || se > 60) return false;
    std::size_t at = 8;
    if (s[at] == '.') {
      const std::size_t start = ++at;
      while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
      if (at == start) return false;
    }
    if (at == s.size()) return false;
    if (s[at] == 'Z' || s[at] == 'z') return at + 1 == s.size();
    if (s[at] != '+' && s[at] != '-') return false;
    int oh = 0, om = 0;
    return s.size() == at + 6 && s[at + 3] == ':' && digits(s, at + 1, 2, oh) &&
           digits(s, at + 4, 2, om) && oh <= 23 && om <= 59;
  }

  Constraint* cloneInto(void* where) const override { return new (where) format_constraint(*this); }
  std::size_t sizeOf() const override { return sizeof(format_constraint); }

  std::string format_;
};

/// `maxLength` (`Max` true) and `minLength`, in characters (code points) of the whole string.
template <bool Max>
class length_constraint final : public PolyConstraint {
 public:
  explicit length_constraint(const Adapter& value) {
    double d = 0;
    value.getNumber(d);  // the review let through non-negative integers only
    limit_ = d >= 1e18 ? std::uint64_t(1e18) : static_cast<std::uint64_t>(d);
  }

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                ValidationResults* results) const override {
    if (!target.isString()) return true;
    const std::string s = target.asString();
    std::uint64_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation
    if (Max ? n <= limit_ : n >= limit_) return true;
    report(results, context, (Max ? "maxLength " : "minLength ") + std::to_string(limit_));
    return false;
  }

 private:
  Constraint* cloneInto(void* where) const override { return new (where) length_constraint(*this); }
  std::size_t sizeOf() const override { return sizeof(length_constraint); }

  std::uint64_t limit_ = 0;
};

template <class C>
class builder final : public valijson::ConstraintBuilder {
 public:
  Constraint* make(const Adapter& value) const override { return new C(value); }
};

/// What a payload has that valijson's adapter or engine cannot take as it is.
struct payload_scan {
  bool has_uint64 = false;           // above int64's range: valijson's adapter sees no number there
  std::vector<std::string> refused;  // problems that stop the check before valijson runs
};

bool has_nul(const json::value& v) {
  const json::string* s = v.if_string();
  return s && s->find('\0') != json::string::npos;
}

/// Whether the walk has anything to look at in `v`.
bool worth_a_look(const json::value& v) {
  return v.is_structured() || v.is_uint64() || has_nul(v);
}

/// One walk, without recursion (a caller's own value may be deeper than any stack). The
/// pointers of what it refuses are built only `with_paths` (a second walk, once something is
/// refused: no string is made for a payload that passes).
payload_scan scan(const json::value& payload, const schema_options& options, bool names_matter,
                  bool with_paths) {
  payload_scan found;
  struct place {
    const json::value* v;
    std::string where;
    std::size_t depth;
  };
  auto refuse = [&](const std::string& where, const std::string& what) {
    if (found.refused.size() < options.max_problems) {
      found.refused.push_back((where.empty() ? std::string() : where + ": ") + what);
    }
  };
  std::vector<place> todo{{&payload, std::string(), 0}};
  while (!todo.empty()) {
    place p = std::move(todo.back());
    todo.pop_back();
    if (p.v->is_uint64()) found.has_uint64 = true;
    if (has_nul(*p.v)) {
      // valijson's adapter reads a string up to its first NUL: what follows would go unchecked.
      refuse(p.where,
             "a string with a NUL character (\\u0000), which the schema check cannot read");
    }
    if (p.v->is_structured() && p.depth == options.max_depth) {
      // valijson descends by recursion: a limit keeps it off the end of the stack.
      refuse(p.where, "nested deeper than " + std::to_string(options.max_depth) + " levels");
      continue;
    }
    if (const json::array* a = p.v->if_array()) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        if (worth_a_look((*a)[i])) {
          todo.push_back({&(*a)[i], with_paths ? p.where + "/" + std::to_string(i) : std::string(),
                          p.depth + 1});
        }
      }
    } else if (const json::object* o = p.v->if_object()) {
      bool reported = false;
      for (const auto& [name, item] : *o) {
        if (names_matter && name.size() > options.max_pattern_name_chars && !reported) {
          refuse(p.where, "property name longer than " +
                              std::to_string(options.max_pattern_name_chars) +
                              " characters (not matched against patternProperties)");
          reported = true;
        }
        if (worth_a_look(item)) {
          todo.push_back(
              {&item, with_paths ? p.where + "/" + detail::pointer_segment(name) : std::string(),
               p.depth + 1});
        }
      }
    }
  }
  return found;
}

/// `payload` with every number above int64's range as a double, as JSON Schema sees numbers.
json::value widened(const json::value& payload) {
  json::value copy = payload;
  std::vector<json::value*> todo{&copy};
  while (!todo.empty()) {
    json::value* v = todo.back();
    todo.pop_back();
    if (v->is_uint64()) {
      *v = static_cast<double>(v->get_uint64());
    } else if (json::array* a = v->if_array()) {
      for (json::value& item : *a) todo.push_back(&item);
    } else if (json::object* o = v->if_object()) {
      for (auto& member : *o) todo.push_back(&member.value());
    }
  }
  return copy;
}

}  // namespace

struct json_schema::compiled {
  schema_options options;
  schema_draft draft = schema_draft::draft7;
  bool has_pattern_properties = false;
  valijson::Schema schema;
};

json_schema::json_schema(const json::value& schema, const schema_options& options) {
  detail::reviewed_schema reviewed = detail::review_schema(schema, options.draft);
  auto c = std::make_shared<compiled>();
  c->options = options;
  c->draft = reviewed.draft;
  c->has_pattern_properties = reviewed.has_pattern_properties;
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    // The parser owns its builders (it deletes them).
    parser.addConstraintBuilder(std::string(detail::type_keyword), new builder<type_constraint>);
    parser.addConstraintBuilder(std::string(detail::pattern_keyword),
                                new builder<pattern_constraint>);
    parser.addConstraintBuilder(std::string(detail::format_keyword),
                                new builder<format_constraint>);
    parser.addConstraintBuilder(std::string(detail::max_length_keyword),
                                new builder<length_constraint<true>>);
    parser.addConstraintBuilder(std::string(detail::min_length_keyword),
                                new builder<length_constraint<false>>);
    const valijson::adapters::BoostJsonAdapter document(reviewed.schema);
    parser.populateSchema(document, c->schema);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("schema refused: ") + e.what());
  }
  compiled_ = std::move(c);
}

json_schema json_schema::parse(std::string_view text, const schema_options& options) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw std::invalid_argument("schema refused: not JSON (" + ec.message() + ")");
  return json_schema(v, options);
}

schema_draft json_schema::draft() const noexcept {
  return compiled_->draft;
}

std::vector<std::string> json_schema::check(const json::value& payload) const {
  const compiled& c = *compiled_;
  std::vector<std::string> problems;
  const payload_scan found = scan(payload, c.options, c.has_pattern_properties, false);
  if (!found.refused.empty()) {
    return scan(payload, c.options, c.has_pattern_properties, true).refused;
  }
  std::optional<json::value> copy;
  if (found.has_uint64) copy = widened(payload);
  const json::value& target = copy ? *copy : payload;

  ValidationResults results;
  try {
    valijson::Validator validator;  // its regex cache is unused: pattern is ours
    const valijson::adapters::BoostJsonAdapter adapter(target);
    if (validator.validate(c.schema, adapter, &results)) return problems;
  } catch (const std::exception& e) {
    problems.push_back(std::string("could not be checked: ") + e.what());
    return problems;
  }
  std::set<std::string> seen;
  std::size_t more = 0;
  for (const auto& error : results) {
    auto text =
        detail::problem_text(error.context, error.description, target, c.options.max_value_chars);
    if (!text || !seen.insert(*text).second) continue;
    if (problems.size() < c.options.max_problems) {
      problems.push_back(std::move(*text));
    } else {
      ++more;
    }
  }
  if (more) problems.push_back("... and " + std::to_string(more) + " more");
  if (problems.empty()) problems.push_back("does not match the schema");  // not reached
  return problems;
}

}  // namespace roost::validation
