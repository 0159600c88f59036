#include <roost/detail/json_reader.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace roost::detail {
namespace {

// Handler for json::basic_parser that builds a value like Boost's own parser but converts
// doubles from their text with std::from_chars, which is correctly rounded.
class precise_handler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit precise_handler(json::storage_ptr sp) { stack_.reset(std::move(sp)); }

  json::value release() { return stack_.release(); }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    stack_.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double approx, json::string_view s, json::error_code&) {
    // The number's text arrives in parts only when it straddles two writes.
    std::string_view text(s.data(), s.size());
    if (!number_.empty()) {
      number_.append(s.data(), s.size());
      text = number_;
    }
    double d = 0;
    auto const r = std::from_chars(text.data(), text.data() + text.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
      // JSON.parse turns these into +/-Infinity or +/-0; Boost's estimate tells which way.
      double const inf = std::numeric_limits<double>::infinity();
      d = std::copysign(std::fabs(approx) >= 1 ? inf : 0.0, text.front() == '-' ? -1.0 : 1.0);
    } else if (r.ec != std::errc{}) {
      d = approx;
    }
    number_.clear();
    stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  json::value_stack stack_;
  std::string number_;
};

bool is_space(char c) {
  // One comparison for the common case, a byte that is no space at all.
  return static_cast<unsigned char>(c) <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

// The general parser, for every text.
json::value parse_general_prefix(std::string_view text, std::size_t& used, json::error_code& ec,
                                 json::storage_ptr sp, json::parse_options const& options) {
  ec = {};
  json::basic_parser<precise_handler> parser(options, std::move(sp));
  used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && !parser.done()) ec = json::error::incomplete;
  if (ec) return nullptr;
  return parser.handler().release();
}

bool is_digit(char c) {
  return static_cast<unsigned char>(c - '0') < 10;
}

// The plain integer at `p` (`p < end`, `*p` a digit or '-'), as read_simple_json takes it:
// stores it in `v` and returns its end, or nullptr for any other number. Leading zeros, -0,
// fractions, exponents and integers of 19 digits or more (a digit follows the 18 read) are the
// general parser's.
inline const char* plain_integer(const char* p, const char* end, std::int64_t& v) {
  const bool negative = *p == '-';
  const char* const digits = p + negative;
  const char* q = digits;
  std::int64_t x = 0;
  while (q != end && q - digits < 18 && is_digit(*q)) x = x * 10 + (*q++ - '0');
  const auto count = q - digits;
  if (count == 0 || (*digits == '0' && (count > 1 || negative))) return nullptr;
  if (q != end && (*q == '.' || *q == 'e' || *q == 'E' || is_digit(*q))) return nullptr;
  v = negative ? -x : x;
  return q;
}

// Bytes that stand for themselves in a plain string: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> plain_byte = [] {
  std::array<bool, 256> t{};
  for (std::size_t c = 0x20; c < 0x7f; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

// One scalar of read_simple_json's set, read but not yet stored.
// Trivial, so that an array of them costs nothing to set up.
struct simple_token {
  enum class kind : unsigned char { int64, string, true_, false_, null } k;
  std::int64_t i;
  const char* chars;
  std::size_t size;
};

// Reads the scalar at text[at] into `t`, advancing `at` past it; false (with `at` anywhere)
// for anything else.
bool read_simple_token(std::string_view text, std::size_t& at, simple_token& t) {
  const std::size_t n = text.size();
  if (at >= n) return false;
  const char c = text[at];
  if (c == '"') {
    const std::size_t begin = at + 1;
    for (std::size_t i = begin; i < n; ++i) {
      const auto u = static_cast<unsigned char>(text[i]);
      if (u - 0x20u < 0x5fu && u != '"' && u != '\\') continue;  // printable ASCII
      if (u != '"') return false;
      t.k = simple_token::kind::string;
      t.chars = text.data() + begin;
      t.size = i - begin;
      at = i + 1;
      return true;
    }
    return false;
  }
  if (c == '-' || is_digit(c)) {
    const char* const end = plain_integer(text.data() + at, text.data() + n, t.i);
    if (!end) return false;
    t.k = simple_token::kind::int64;
    at = static_cast<std::size_t>(end - text.data());
    return true;
  }
  const auto literal = [&](std::string_view word, simple_token::kind k) {
    if (text.substr(at, word.size()) != word) return false;
    t.k = k;
    at += word.size();
    return true;
  };
  switch (c) {
    case 't':
      return literal("true", simple_token::kind::true_);
    case 'f':
      return literal("false", simple_token::kind::false_);
    case 'n':
      return literal("null", simple_token::kind::null);
    default:
      return false;
  }
}

void store(const simple_token& t, json::value& out) {
  switch (t.k) {
    case simple_token::kind::int64:
      out.emplace_int64() = t.i;
      break;
    case simple_token::kind::string:
      out.emplace_string().assign(t.chars, t.size);
      break;
    case simple_token::kind::true_:
      out.emplace_bool() = true;
      break;
    case simple_token::kind::false_:
      out.emplace_bool() = false;
      break;
    case simple_token::kind::null:
      out.emplace_null();
      break;
  }
}

// Longer arrays are rare in requests; they take the general parser.
constexpr std::size_t simple_array_max = 64;

}  // namespace

namespace {

// read_simple_json's value at the start of a text, read into tokens but not stored.
struct simple_scan {
  std::array<simple_token, simple_array_max> items;
  std::size_t count = 0;  // tokens read
  bool array = false;     // the tokens are an array's elements (else one scalar)
  std::size_t used = 0;   // characters taken, the whitespace after the value included
};

// Inlined into each caller: read_simple_json (every broker's data) then costs what it did
// before it was shared.
[[gnu::always_inline]] inline bool scan_simple(std::string_view text, simple_scan& s) {
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && is_space(text[at])) ++at;
  };
  skip_space();
  if (at < text.size() && text[at] == '[') {
    s.array = true;
    ++at;
    skip_space();
    if (at < text.size() && text[at] == ']') {
      ++at;
    } else {
      for (;;) {
        if (s.count == s.items.size() || !read_simple_token(text, at, s.items[s.count]))
          return false;
        ++s.count;
        skip_space();
        if (at >= text.size()) return false;
        if (text[at] == ']') {
          ++at;
          break;
        }
        if (text[at] != ',') return false;
        ++at;
        skip_space();
      }
    }
  } else {
    if (!read_simple_token(text, at, s.items[0])) return false;
    s.count = 1;
  }
  skip_space();
  s.used = at;
  return true;
}

// The token as a handler's parameter of type T takes it, when it is of T's own kind.
template <class T>
bool token_as(const simple_token& t, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (t.k != simple_token::kind::true_ && t.k != simple_token::kind::false_) return false;
    out = t.k == simple_token::kind::true_;
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (t.k != simple_token::kind::string) return false;
    out.assign(t.chars, t.size);
    return true;
  } else if constexpr (std::is_same_v<T, double>) {
    if (t.k != simple_token::kind::int64) return false;
    out = static_cast<double>(t.i);  // as convert_payload<double> converts an int64
    return true;
  } else {
    if (t.k != simple_token::kind::int64) return false;
    if (t.i < std::numeric_limits<T>::min() || t.i > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(t.i);
    return true;
  }
}

template <class T>
bool scalar_as(std::string_view text, T& out) {
  simple_scan s;
  return scan_simple(text, s) && s.used == text.size() && !s.array && token_as(s.items[0], out);
}

template <class T>
bool array_as(std::string_view text, std::vector<T>& out) {
  simple_scan s;
  if (!scan_simple(text, s) || s.used != text.size() || !s.array) return false;
  out.resize(s.count);
  for (std::size_t i = 0; i < s.count; ++i) {
    if (!token_as(s.items[i], out[i])) return false;
  }
  return true;
}

}  // namespace

bool read_simple_json(std::string_view text, std::size_t& used, json::value& out) {
  simple_scan s;
  if (!scan_simple(text, s)) return false;
  if (s.array) {
    // Every element was read first, so that the array is allocated once at its size.
    json::array& a = out.emplace_array();
    a.resize(s.count);
    for (std::size_t i = 0; i < s.count; ++i) store(s.items[i], a[i]);
  } else {
    store(s.items[0], out);
  }
  used = s.used;
  return true;
}

namespace {

// Past the scalar of read_simple_json's set at `p` (`p < end`), or nullptr: checked as
// read_simple_token reads it, without storing it.
[[gnu::always_inline]] inline const char* skip_simple_scalar(const char* p, const char* end) {
  const char c = *p;
  if (c == '"') {
    ++p;
    while (p != end && plain_byte[static_cast<unsigned char>(*p)]) ++p;
    return p != end && *p == '"' ? p + 1 : nullptr;
  }
  if (c == '-' || is_digit(c)) {
    std::int64_t ignored;
    return plain_integer(p, end, ignored);
  }
  const auto literal = [&](std::string_view word) -> const char* {
    if (static_cast<std::size_t>(end - p) < word.size() ||
        std::memcmp(p, word.data(), word.size()) != 0)
      return nullptr;
    return p + word.size();
  };
  switch (c) {
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return nullptr;
  }
}

const char* skip_space(const char* p, const char* end) {
  while (p != end && is_space(*p)) ++p;
  return p;
}

// An array of plain integers that all fit `T`, the whole of `text`, into `out`. Read in one
// pass into a buffer on the stack, then copied into `out` allocated once at its size (counting
// the commas first was a second pass over the text). `out` is untouched when this fails.
template <class T>
bool integer_array_as(std::string_view text, std::vector<T>& out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  p = skip_space(p, end);
  if (p == end || *p != '[') return false;
  p = skip_space(p + 1, end);
  std::array<T, simple_array_max> items;
  std::size_t count = 0;
  if (p != end && *p == ']') {
    ++p;
  } else {
    for (;;) {
      std::int64_t v = 0;
      if (count == items.size() || p == end || (*p != '-' && !is_digit(*p))) return false;
      p = plain_integer(p, end, v);
      if (!p) return false;
      if constexpr (std::is_integral_v<T>) {
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
      }
      items[count++] = static_cast<T>(v);  // to double as convert_payload<double> does
      p = skip_space(p, end);
      if (p == end) return false;
      if (*p == ']') {
        ++p;
        break;
      }
      if (*p != ',') return false;
      p = skip_space(p + 1, end);
    }
  }
  if (skip_space(p, end) != end) return false;
  out.assign(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(count));
  return true;
}

}  // namespace

namespace {

// integer_array_as for a text is_simple_json accepted whole: brackets, commas and at most
// simple_array_max elements hold, and each integer is plain and of at most 18 digits, so only an
// element's kind (a digit or '-' starts an integer) and range are tested; the end of the text is
// still never passed.
template <class T>
bool checked_integer_array_as(std::string_view text, std::vector<T>& out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  p = skip_space(p, end);
  if (p == end || *p != '[') return false;
  p = skip_space(p + 1, end);
  std::array<T, simple_array_max> items;
  std::size_t count = 0;
  while (p != end && *p != ']' && count < items.size()) {
    const bool negative = *p == '-';
    p += negative;
    if (p == end || !is_digit(*p)) return false;
    std::int64_t x = 0;
    while (p != end && is_digit(*p)) x = x * 10 + (*p++ - '0');
    if (negative) x = -x;
    if constexpr (std::is_integral_v<T>) {
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) return false;
    }
    items[count++] = static_cast<T>(x);  // to double as convert_payload<double> does
    p = skip_space(p, end);
    if (p != end && *p == ',') p = skip_space(p + 1, end);
  }
  out.assign(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(count));
  return true;
}

}  // namespace

bool is_simple_json(std::string_view text, std::size_t& used) {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* p = skip_space(begin, end);
  if (p == end) return false;
  if (*p == '[') {
    p = skip_space(p + 1, end);
    if (p != end && *p == ']') {
      ++p;
    } else {
      for (std::size_t count = 1;; ++count) {
        if (p == end || count > simple_array_max || !(p = skip_simple_scalar(p, end))) return false;
        p = skip_space(p, end);
        if (p == end) return false;
        if (*p == ']') {
          ++p;
          break;
        }
        if (*p != ',') return false;
        p = skip_space(p + 1, end);
      }
    }
  } else if (!(p = skip_simple_scalar(p, end))) {
    return false;
  }
  used = static_cast<std::size_t>(skip_space(p, end) - begin);
  return true;
}

bool read_simple_as(std::string_view text, double& out) {
  return scalar_as(text, out);
}
bool read_simple_as(std::string_view text, int& out) {
  return scalar_as(text, out);
}
bool read_simple_as(std::string_view text, long& out) {
  return scalar_as(text, out);
}
bool read_simple_as(std::string_view text, long long& out) {
  return scalar_as(text, out);
}
bool read_simple_as(std::string_view text, bool& out) {
  return scalar_as(text, out);
}
bool read_simple_as(std::string_view text, std::string& out) {
  return scalar_as(text, out);
}
bool read_simple_as(std::string_view text, std::vector<double>& out) {
  return integer_array_as(text, out);
}
bool read_simple_as(std::string_view text, std::vector<int>& out) {
  return integer_array_as(text, out);
}
bool read_simple_as(std::string_view text, std::vector<long>& out) {
  return integer_array_as(text, out);
}
bool read_simple_as(std::string_view text, std::vector<long long>& out) {
  return integer_array_as(text, out);
}
bool read_simple_as(std::string_view text, std::vector<std::string>& out) {
  return array_as(text, out);
}

bool read_checked_as(std::string_view text, std::vector<double>& out) {
  return checked_integer_array_as(text, out);
}
bool read_checked_as(std::string_view text, std::vector<int>& out) {
  return checked_integer_array_as(text, out);
}
bool read_checked_as(std::string_view text, std::vector<long>& out) {
  return checked_integer_array_as(text, out);
}
bool read_checked_as(std::string_view text, std::vector<long long>& out) {
  return checked_integer_array_as(text, out);
}

json::value parse_json_prefix(std::string_view text, std::size_t& used, json::error_code& ec,
                              json::storage_ptr sp, json::parse_options const& options) {
  if (options.max_depth >= 1 && !options.allow_comments) {
    json::value v(sp);
    if (read_simple_json(text, used, v)) {
      ec = {};
      return v;
    }
  }
  return parse_general_prefix(text, used, ec, std::move(sp), options);
}

json::value parse_json(std::string_view text, json::error_code& ec, json::storage_ptr sp,
                       json::parse_options const& options) {
  std::size_t used = 0;
  json::value v = parse_general_prefix(text, used, ec, std::move(sp), options);
  if (!ec && used < text.size()) {
    ec = json::error::extra_data;
    return nullptr;
  }
  return v;
}

}  // namespace roost::detail
