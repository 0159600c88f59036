#include <roost/route.hpp>

#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse_options.hpp>

#include "root_collator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace roost {
namespace {

// NestJS's DEFAULT_MAX_DEPTH and DEFAULT_MAX_KEYS (utils/transform-pattern.utils.js).
constexpr int max_depth = 5;
constexpr std::size_t max_keys = 20;

// Boost's parser recurses once per nesting level (about 100 to 400 bytes of stack each), while
// JSON.parse has no limit. Text nested deeper is taken as not JSON, the one place where a lookup
// can differ from NestJS, and only for patterns far beyond the 5 levels a route keeps anyway.
constexpr std::size_t max_parse_depth = 256;

// JavaScript numbers are doubles: integers beyond 2^53 reach a NestJS peer already rounded.
constexpr std::int64_t max_exact_integer = std::int64_t{1} << 53;

// Indices 0..19 in string order, which is how localeCompare sorts "0".."19" (digit-only keys
// collate in byte order): arrays of up to max_keys elements need no sorting.
constexpr std::array<std::uint8_t, max_keys> index_string_order = {
    0, 1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 2, 3, 4, 5, 6, 7, 8, 9};

// Root collation of printable ASCII (U+0020..U+007E), read off ICU's root collator (tertiary
// strength, the one localeCompare uses): each character's primary weight as a rank (0: not
// printable ASCII). No ASCII character expands or contracts and none is ignorable in the
// root's non-ignorable mode, so comparing two such strings is comparing their primary ranks
// position by position, then, when those are all equal, their case (lower before upper).
// route_test checks this against ICU.
constexpr std::array<std::uint8_t, 128> ascii_primary =
    {
        // clang-format off
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    1,  7,  11, 23, 33, 24, 22, 10, 12, 13, 19, 27, 4,  3,  9,  20,  //  !"#$%&'()*+,-./
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 6,  5,  28, 29, 30, 8,   // 0123456789:;<=>?
    18, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,  // @ABCDEFGHIJKLMNO
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 14, 21, 15, 26, 2,   // PQRSTUVWXYZ[\]^_
    25, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,  // `abcdefghijklmno
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 16, 31, 17, 32, 0};  // pqrstuvwxyz{|}~
// clang-format on

bool is_printable_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 128 || !ascii_primary[static_cast<unsigned char>(c)])
      return false;
  return true;
}

// localeCompare of two printable ASCII strings, without ICU: <0, 0, >0.
int compare_ascii(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int pa = ascii_primary[static_cast<unsigned char>(a[i])];
    const int pb = ascii_primary[static_cast<unsigned char>(b[i])];
    if (pa != pb) return pa < pb ? -1 : 1;
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const bool ua = a[i] >= 'A' && a[i] <= 'Z';
    const bool ub = b[i] >= 'A' && b[i] <= 'Z';
    if (ua != ub) return ua ? 1 : -1;
  }
  return 0;
}

// An array index in the ECMAScript sense: a canonical decimal integer up to 2^32 - 2. Object.keys
// lists these first, in numeric order, which decides the order of keys that collate equal.
bool is_array_index(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n <= 4294967294u;
}

// NestJS escapes only backslash and double quote; control characters stay raw.
void append_escaped(std::string_view s, std::string& out) {
  char const* run = s.data();
  char const* const end = run + s.size();
  for (char const* p = run; p != end; ++p) {
    if (*p != '\\' && *p != '"') continue;
    out.append(run, p);
    out.push_back('\\');
    run = p;  // the character itself goes out with the next run
  }
  out.append(run, end);
}

template <class Int>
void append_integer(Int i, std::string& out) {
  char buf[24];
  auto const r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

// JavaScript's String(n) for any JSON number.
void append_number(json::value const& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::int64: {
      std::int64_t const i = v.get_int64();
      if (i >= -max_exact_integer && i <= max_exact_integer)
        append_integer(i, out);
      else
        detail::write_js_number(static_cast<double>(i), out);
      break;
    }
    case json::kind::uint64: {
      std::uint64_t const u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(max_exact_integer))
        append_integer(u, out);
      else
        detail::write_js_number(static_cast<double>(u), out);
      break;
    }
    default:
      detail::write_js_number(v.get_double(), out);
      break;
  }
}

// JavaScript's String(array), i.e. array.join(","), applied to elements recursively.
void append_js_string_of_array(json::array const& arr, std::string& out) {
  bool first = true;
  for (json::value const& e : arr) {
    if (!first) out.push_back(',');
    first = false;
    switch (e.kind()) {
      case json::kind::null:
        break;  // join writes null and undefined as nothing
      case json::kind::bool_:
        out.append(e.get_bool() ? "true" : "false");
        break;
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_:
        append_number(e, out);
        break;
      case json::kind::string:
        out.append(e.get_string().data(), e.get_string().size());
        break;
      case json::kind::array:
        append_js_string_of_array(e.get_array(), out);
        break;
      case json::kind::object:
        out.append("[object Object]");
        break;
    }
  }
}

// Cheap rejection before setting up a parser: most incoming patterns are plain names.
bool may_be_json(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  if (i == s.size()) return false;
  char const c = s[i];
  return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' ||
         c == 'f' || c == 'n';
}

struct member {
  std::string_view key;
  json::value const* value;
};

}  // namespace

struct route_normalizer::impl {
  detail::root_collator collator;  // opened on first use: ASCII keys never need it

  int compare(std::string_view a, std::string_view b) const {
    if (is_printable_ascii(a) && is_printable_ascii(b)) return compare_ascii(a, b);
    if (auto r = collator.compare(a, b)) return *r;
    // No ICU collation data (a broken install): byte order keeps the sort total.
    int const c = a.compare(b);
    return (c > 0) - (c < 0);
  }

  void append_route(json::value const& v, int depth, std::string& out) const {
    switch (v.kind()) {
      case json::kind::string:
        out.append(v.get_string().data(), v.get_string().size());
        return;
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_:
        append_number(v, out);
        return;
      case json::kind::bool_:
        out.append(v.get_bool() ? "true" : "false");
        return;
      case json::kind::null:
        out.append("null");
        return;
      case json::kind::object:
      case json::kind::array:
        break;
    }
    // NestJS checks the depth before the key count, and both replace only this value.
    if (depth > max_depth) {
      out.append("[MAX_DEPTH_REACHED]");
      return;
    }
    if (v.is_array()) {
      append_array(v.get_array(), depth, out);
      return;
    }
    json::object const& obj = v.get_object();
    if (obj.size() > max_keys) {
      out.append("[TOO_MANY_KEYS]");
      return;
    }

    // Start from Object.keys order (array indices ascending, then insertion order) because the
    // sort is stable and distinct keys can collate equal (e.g. "e\u0301" and "é").
    std::array<member, max_keys> members;
    std::size_t n = 0;
    for (auto const& kv : obj)
      if (is_array_index(kv.key())) insert_index(members, n++, {kv.key(), &kv.value()});
    for (auto const& kv : obj)
      if (!is_array_index(kv.key())) members[n++] = {kv.key(), &kv.value()};

    // Binary insertion sort: stable, allocation-free and with few collator calls for <= 20 keys.
    for (std::size_t i = 1; i < n; ++i) {
      member const m = members[i];
      auto const pos = std::upper_bound(
          members.begin(), members.begin() + i, m,
          [&](member const& a, member const& b) { return compare(a.key, b.key) < 0; });
      std::move_backward(pos, members.begin() + i, members.begin() + i + 1);
      *pos = m;
    }

    out.push_back('{');
    for (std::size_t i = 0; i < n; ++i) {
      if (i != 0) out.push_back(',');
      append_member(members[i].key, *members[i].value, depth, out);
    }
    out.push_back('}');
  }

  void append_array(json::array const& arr, int depth, std::string& out) const {
    if (arr.size() > max_keys) {
      out.append("[TOO_MANY_KEYS]");
      return;
    }
    out.push_back('{');
    bool first = true;
    for (std::uint8_t const i : index_string_order) {
      if (i >= arr.size()) continue;
      if (!first) out.push_back(',');
      first = false;
      char key[4];
      auto const r = std::to_chars(key, key + sizeof key, i);
      append_member(std::string_view(key, static_cast<std::size_t>(r.ptr - key)), arr[i], depth,
                    out);
    }
    out.push_back('}');
  }

  void append_member(std::string_view key, json::value const& value, int depth,
                     std::string& out) const {
    out.push_back('"');
    append_escaped(key, out);
    out.append("\":", 2);
    if (value.is_string()) {
      // Only nested strings are quoted (and escaped); a top-level string is the route itself.
      out.push_back('"');
      append_escaped(value.get_string(), out);
      out.push_back('"');
    } else {
      append_route(value, depth + 1, out);
    }
  }

  // Places an array-index key among the first `n` (already in numeric order).
  static void insert_index(std::array<member, max_keys>& members, std::size_t n, member m) {
    auto const numeric_less = [](member const& a, member const& b) {
      return a.key.size() != b.key.size() ? a.key.size() < b.key.size() : a.key < b.key;
    };
    auto const pos = std::upper_bound(members.begin(), members.begin() + n, m, numeric_less);
    std::move_backward(pos, members.begin() + n, members.begin() + n + 1);
    *pos = m;
  }

  // JSON.parse as getRouteFromPattern calls it; false if the text is not one JSON document.
  bool route_of_json_text(std::string_view text, std::string& out) const {
    if (!may_be_json(text)) return false;
    // A monotonic arena makes the parse cheap and frees the value without recursing.
    unsigned char buffer[1024];
    json::monotonic_resource arena(buffer, sizeof buffer);
    json::parse_options options;
    options.max_depth = max_parse_depth;
    json::error_code ec;
    json::value const parsed = detail::parse_json(text, ec, &arena, options);
    if (ec) return false;
    append_route(parsed, 0, out);
    return true;
  }
};

route_normalizer::route_normalizer() : impl_(std::make_unique<impl>()) {}

route_normalizer::~route_normalizer() = default;
route_normalizer::route_normalizer(route_normalizer&&) noexcept = default;
route_normalizer& route_normalizer::operator=(route_normalizer&&) noexcept = default;

std::string route_normalizer::route(json::value const& pattern) const {
  std::string out;
  impl_->append_route(pattern, 0, out);
  return out;
}

std::string route_normalizer::lookup_route(json::value const& pattern) const {
  if (pattern.is_string()) {
    std::string_view const text(pattern.get_string().data(), pattern.get_string().size());
    // Most patterns are plain names, which cannot be JSON: built once, as they are.
    if (!may_be_json(text)) return std::string(text);
    std::string out;
    if (impl_->route_of_json_text(text, out)) return out;
    return std::string(text);
  }
  std::string out;
  if (pattern.is_array()) {
    // JSON.parse(array) parses String(array); `[1]` becomes "1", which is JSON.
    std::string text;
    append_js_string_of_array(pattern.get_array(), text);
    if (impl_->route_of_json_text(text, out)) return out;
    out.clear();
  }
  impl_->append_route(pattern, 0, out);
  return out;
}

int route_normalizer::compare_keys(std::string_view a, std::string_view b) const {
  return impl_->compare(a, b);
}

}  // namespace roost
