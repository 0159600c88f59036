#include <roost/detail/json_reader.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

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
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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
  if (c == '-' || (c >= '0' && c <= '9')) {
    std::size_t i = at + (c == '-');
    const std::size_t digits = i;
    std::int64_t v = 0;
    while (i < n && i - digits < 18 && text[i] >= '0' && text[i] <= '9')
      v = v * 10 + (text[i++] - '0');
    const std::size_t count = i - digits;
    // Leading zeros, -0, fractions, exponents and integers of 19 digits or more (a digit
    // follows the 18 read) are the general parser's.
    if (count == 0 || (text[digits] == '0' && (count > 1 || c == '-'))) return false;
    if (i < n &&
        (text[i] == '.' || text[i] == 'e' || text[i] == 'E' || (text[i] >= '0' && text[i] <= '9')))
      return false;
    t.k = simple_token::kind::int64;
    t.i = c == '-' ? -v : v;
    at = i;
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

bool read_simple_json(std::string_view text, std::size_t& used, json::value& out) {
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && is_space(text[at])) ++at;
  };
  skip_space();
  if (at < text.size() && text[at] == '[') {
    // Read every element first, so that the array is allocated once at its size.
    std::array<simple_token, simple_array_max> items;
    std::size_t count = 0;
    ++at;
    skip_space();
    if (at < text.size() && text[at] == ']') {
      ++at;
    } else {
      for (;;) {
        if (count == items.size() || !read_simple_token(text, at, items[count])) return false;
        ++count;
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
    skip_space();
    json::array& a = out.emplace_array();
    a.resize(count);
    for (std::size_t i = 0; i < count; ++i) store(items[i], a[i]);
    used = at;
    return true;
  }
  simple_token t;
  if (!read_simple_token(text, at, t)) return false;
  skip_space();
  store(t, out);
  used = at;
  return true;
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
