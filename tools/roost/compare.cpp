#include "compare.hpp"

#include <roost/detail/json_writer.hpp>

#include <algorithm>
#include <stdexcept>

namespace roost::cli {

namespace {

std::vector<std::string> split_path(const std::string& text) {
  if (text.empty() || text.front() != '/') {
    throw std::invalid_argument("a path starts with /, e.g. /createdAt or /items/*/id: " + text);
  }
  std::vector<std::string> out;
  std::size_t from = 1;
  for (;;) {
    const auto slash = text.find('/', from);
    std::string seg = text.substr(from, slash == std::string::npos ? slash : slash - from);
    std::string key;
    for (std::size_t i = 0; i < seg.size(); ++i) {
      if (seg[i] == '~' && i + 1 < seg.size() && (seg[i + 1] == '0' || seg[i + 1] == '1')) {
        key += seg[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        key += seg[i];
      }
    }
    out.push_back(std::move(key));
    if (slash == std::string::npos) break;
    from = slash + 1;
  }
  if (out.size() == 1 && out.front().empty()) out.clear();  // "/": the whole value
  return out;
}

bool covers(const std::vector<std::string>& rule, const std::vector<std::string>& at) {
  if (rule.size() > at.size()) return false;
  for (std::size_t i = 0; i < rule.size(); ++i) {
    if (rule[i] != "*" && rule[i] != at[i]) return false;
  }
  return true;
}

std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "?";
}

bool is_number(const json::value& v) {
  return v.is_int64() || v.is_uint64() || v.is_double();
}

// 6 and 6.0 are one number in JavaScript, the JSON of both sides' peers.
bool same_scalar(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) {
    if (a.kind() == b.kind()) return a == b;
    return a.to_number<double>() == b.to_number<double>();
  }
  return a == b;
}

std::string join(const std::string& prefix, const std::vector<std::string>& at) {
  std::string out = prefix;
  for (const auto& s : at) out += "/" + s;
  return out;
}

}  // namespace

std::string short_json(const json::value& v, std::size_t max) {
  auto text = detail::to_json(v);
  if (text.size() > max) {
    text.resize(max);
    text += "...";
  }
  return text;
}

compare_rules::compare_rules(const std::vector<std::string>& ignore,
                             const std::vector<std::string>& loose) {
  for (const auto& p : ignore) ignore_.push_back(split_path(p));
  for (const auto& p : loose) loose_.push_back(split_path(p));
}

compare_rules::rule compare_rules::rule_at(const path& at) const {
  for (const auto& r : ignore_) {
    if (covers(r, at)) return rule::ignore;
  }
  for (const auto& r : loose_) {
    if (covers(r, at)) return rule::loose;
  }
  return rule::exact;
}

void compare_rules::compare_value(const json::value& want, const json::value& got, path& at,
                                  const std::string& prefix, std::vector<difference>& out) const {
  const auto r = rule_at(at);
  if (r == rule::ignore) return;
  if (r == rule::loose) {
    if (kind_name(want) != kind_name(got)) {
      out.push_back({join(prefix, at), kind_name(want), kind_name(got) + ": " + short_json(got)});
    }
    return;
  }
  if (want.is_object() && got.is_object()) {
    const auto& a = want.get_object();
    const auto& b = got.get_object();
    for (const auto& kv : a) {
      at.emplace_back(kv.key());
      if (const auto* other = b.if_contains(kv.key())) {
        compare_value(kv.value(), *other, at, prefix, out);
      } else if (rule_at(at) != rule::ignore) {
        out.push_back({join(prefix, at), short_json(kv.value()), "nothing (no such key)"});
      }
      at.pop_back();
    }
    for (const auto& kv : b) {
      if (a.contains(kv.key())) continue;
      at.emplace_back(kv.key());
      if (rule_at(at) != rule::ignore) {
        out.push_back({join(prefix, at), "nothing (no such key)", short_json(kv.value())});
      }
      at.pop_back();
    }
    return;
  }
  if (want.is_array() && got.is_array()) {
    const auto& a = want.get_array();
    const auto& b = got.get_array();
    if (a.size() != b.size()) {
      out.push_back({join(prefix, at), std::to_string(a.size()) + " items: " + short_json(want),
                     std::to_string(b.size()) + " items: " + short_json(got)});
      return;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      at.push_back(std::to_string(i));
      compare_value(a[i], b[i], at, prefix, out);
      at.pop_back();
    }
    return;
  }
  if (!same_scalar(want, got)) out.push_back({join(prefix, at), short_json(want), short_json(got)});
}

void compare_rules::compare(const outcome& expected, const outcome& got,
                            std::vector<difference>& out) const {
  path at;
  const auto n = std::min(expected.replies.size(), got.replies.size());
  if (expected.replies.size() != got.replies.size()) {
    out.push_back({"replies", std::to_string(expected.replies.size()) + " values",
                   std::to_string(got.replies.size()) + " values"});
  }
  for (std::size_t i = 0; i < n; ++i) {
    compare_value(expected.replies[i], got.replies[i], at, "reply[" + std::to_string(i) + "]", out);
  }
  if (expected.error && got.error) {
    compare_value(*expected.error, *got.error, at, "error", out);
  } else if (expected.error || got.error) {
    out.push_back({"error", expected.error ? short_json(*expected.error) : "none",
                   got.error ? short_json(*got.error) : "none"});
  }
}

}  // namespace roost::cli
