#include <roost/detail/json_writer.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace roost::detail {
namespace {

// What follows the backslash for each byte JSON.stringify escapes; 'u' means \u00xx and 0 means
// the byte is copied as is.
constexpr std::array<char, 256> escape_table = [] {
  std::array<char, 256> t{};
  for (std::size_t c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}();

constexpr char hex_digits[] = "0123456789abcdef";

// Output goes through a small local buffer: std::string's push_back and append are out-of-line
// calls, and a document is mostly short pieces. Long runs bypass the buffer.
class sink {
 public:
  explicit sink(std::string& out) : out_(out) {}
  sink(sink const&) = delete;
  sink& operator=(sink const&) = delete;

  void put(char c) {
    if (pos_ == buf_.size()) flush();
    buf_[pos_++] = c;
  }
  void write(char const* p, std::size_t n) {
    if (n > buf_.size() - pos_) {
      flush();
      if (n > buf_.size()) {
        out_.append(p, n);
        return;
      }
    }
    std::memcpy(buf_.data() + pos_, p, n);
    pos_ += n;
  }
  void flush() {
    out_.append(buf_.data(), pos_);
    pos_ = 0;
  }

 private:
  std::string& out_;
  std::array<char, 1024> buf_;
  std::size_t pos_ = 0;
};

template <class Out>
void write_string(std::string_view s, Out& out) {
  out.put('"');
  char const* run = s.data();
  char const* const end = run + s.size();
  for (char const* p = run; p != end; ++p) {
    char const e = escape_table[static_cast<unsigned char>(*p)];
    if (e == 0) continue;
    out.write(run, static_cast<std::size_t>(p - run));
    if (e == 'u') {
      auto const c = static_cast<unsigned char>(*p);
      char const esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xf]};
      out.write(esc, sizeof esc);
    } else {
      char const esc[2] = {'\\', e};
      out.write(esc, sizeof esc);
    }
    run = p + 1;
  }
  out.write(run, static_cast<std::size_t>(end - run));
  out.put('"');
}

// Longest String(n): "-" + 17 digits + "e-324" or "0.000000" + 17 digits.
constexpr std::size_t js_number_max = 32;

// JavaScript's String(d) into `buf` (js_number_max bytes); returns the end.
char* format_js_number(double d, char* buf) {
  char* o = buf;
  if (std::isnan(d)) return std::copy_n("NaN", 3, o);
  if (d == 0) {
    *o++ = '0';  // -0 too
    return o;
  }
  if (std::isinf(d)) return d < 0 ? std::copy_n("-Infinity", 9, o) : std::copy_n("Infinity", 8, o);

  // Integral values below 2^53 print as integers in every notation rule that applies to them,
  // and integer formatting is several times cheaper than the shortest-digits search.
  if (std::fabs(d) < 9007199254740992.0 && d == std::trunc(d))
    return std::to_chars(o, buf + js_number_max, static_cast<std::int64_t>(d)).ptr;

  // Shortest round-trip digits (ties broken towards the closer value, as ECMAScript asks),
  // taken from the scientific form "d[.ddd]e±xx".
  char sci[32];
  auto const r = std::to_chars(sci, sci + sizeof sci, std::fabs(d), std::chars_format::scientific);
  char digits[20];
  int k = 0;
  char const* p = sci;
  digits[k++] = *p++;
  if (*p == '.') {
    for (++p; *p != 'e'; ++p) digits[k++] = *p;
  }
  ++p;  // 'e'
  bool const negative_exponent = *p++ == '-';
  int exponent = 0;
  for (; p != r.ptr; ++p) exponent = exponent * 10 + (*p - '0');
  if (negative_exponent) exponent = -exponent;
  // ECMAScript's n: the value is 0.digits * 10^n.
  int const n = exponent + 1;

  if (d < 0) *o++ = '-';
  if (k <= n && n <= 21) {
    o = std::copy_n(digits, k, o);
    o = std::fill_n(o, n - k, '0');
  } else if (0 < n && n <= 21) {
    o = std::copy_n(digits, n, o);
    *o++ = '.';
    o = std::copy_n(digits + n, k - n, o);
  } else if (-6 < n && n <= 0) {
    *o++ = '0';
    *o++ = '.';
    o = std::fill_n(o, -n, '0');
    o = std::copy_n(digits, k, o);
  } else {
    *o++ = digits[0];
    if (k > 1) {
      *o++ = '.';
      o = std::copy_n(digits + 1, k - 1, o);
    }
    *o++ = 'e';
    *o++ = n - 1 < 0 ? '-' : '+';
    o = std::to_chars(o, buf + js_number_max, n - 1 < 0 ? 1 - n : n - 1).ptr;
  }
  return o;
}

template <class Int, class Out>
void write_integer(Int i, Out& out) {
  char buf[24];
  auto const r = std::to_chars(buf, buf + sizeof buf, i);
  out.write(buf, static_cast<std::size_t>(r.ptr - buf));
}

template <class Out>
void write_scalar(json::value const& v, Out& out) {
  switch (v.kind()) {
    case json::kind::null:
      out.write("null", 4);
      break;
    case json::kind::bool_:
      if (v.get_bool())
        out.write("true", 4);
      else
        out.write("false", 5);
      break;
    case json::kind::int64:
      write_integer(v.get_int64(), out);
      break;
    case json::kind::uint64:
      write_integer(v.get_uint64(), out);
      break;
    case json::kind::double_:
      if (std::isfinite(v.get_double())) {
        char buf[js_number_max];
        char* const end = format_js_number(v.get_double(), buf);
        out.write(buf, static_cast<std::size_t>(end - buf));
      } else {
        out.write("null", 4);
      }
      break;
    case json::kind::string:
      write_string(v.get_string(), out);
      break;
    case json::kind::array:
    case json::kind::object:
      break;
  }
}

// Output straight into the string, for a lone scalar (a reply's value or id, most often): a few
// pieces, where the buffer would only add a copy.
class direct_sink {
 public:
  explicit direct_sink(std::string& out) : out_(out) {}
  void put(char c) { out_.push_back(c); }
  void write(char const* p, std::size_t n) { out_.append(p, n); }

 private:
  std::string& out_;
};

constexpr std::size_t short_string_max = 62;

// An open array or object of the explicit stack that replaces recursion, so a hostile depth
// cannot overflow the call stack.
struct frame {
  json::value const* container;
  std::size_t next;
};

// Typical documents nest a few levels: keep those frames on the call stack and only allocate
// for deeper ones.
class frame_stack {
 public:
  bool empty() const { return size_ == 0; }
  void push(frame f) {
    if (size_ < inline_.size())
      inline_[size_] = f;
    else
      overflow_.push_back(f);
    ++size_;
  }
  frame& top() { return size_ <= inline_.size() ? inline_[size_ - 1] : overflow_.back(); }
  void pop() {
    if (size_ > inline_.size()) overflow_.pop_back();
    --size_;
  }

 private:
  std::array<frame, 32> inline_;
  std::vector<frame> overflow_;
  std::size_t size_ = 0;
};

}  // namespace

void write_js_number(double d, std::string& out) {
  char buf[js_number_max];
  char* const end = format_js_number(d, buf);
  out.append(buf, end);
}

void write_json_number(double d, std::string& out) {
  // Most results are integral: written as the integer they are (String(n) writes them so,
  // -0 as 0), without the general formatting's tests. NaN and infinities fail the first test.
  if (std::fabs(d) < 9007199254740992.0) {
    const auto i = static_cast<std::int64_t>(d);
    if (static_cast<double>(i) == d) {
      write_json_integer(i, out);
      return;
    }
  } else if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  write_js_number(d, out);
}

void write_json_integer(std::int64_t i, std::string& out) {
  direct_sink s(out);
  write_integer(i, s);
}

void write_json_integer(std::uint64_t u, std::string& out) {
  direct_sink s(out);
  write_integer(u, s);
}

void write_json_string(std::string_view s, std::string& str) {
  if (s.size() <= short_string_max && std::none_of(s.begin(), s.end(), [](char c) {
        return escape_table[static_cast<unsigned char>(c)] != 0;
      })) {
    // A short string without escapes (an id, most often) in one append.
    std::array<char, short_string_max + 2> buf;
    buf[0] = '"';
    std::memcpy(buf.data() + 1, s.data(), s.size());
    buf[s.size() + 1] = '"';
    str.append(buf.data(), s.size() + 2);
    return;
  }
  direct_sink out(str);
  write_string(s, out);
}

void write_json(json::value const& v, std::string& str) {
  if (!v.is_structured()) {
    if (v.is_string()) {
      write_json_string(v.get_string(), str);
      return;
    }
    direct_sink out(str);
    write_scalar(v, out);
    return;
  }
  sink out(str);
  frame_stack stack;
  json::value const* cur = &v;
  for (;;) {
    // Write `cur`, or open it and descend into its first element.
    if (cur->is_object() && !cur->get_object().empty()) {
      auto const& first = *cur->get_object().begin();
      out.put('{');
      write_string(first.key(), out);
      out.put(':');
      stack.push({cur, 1});
      cur = &first.value();
      continue;
    }
    if (cur->is_array() && !cur->get_array().empty()) {
      out.put('[');
      stack.push({cur, 1});
      cur = &cur->get_array()[0];
      continue;
    }
    if (cur->is_object()) {
      out.write("{}", 2);
    } else if (cur->is_array()) {
      out.write("[]", 2);
    } else {
      write_scalar(*cur, out);
    }

    // `cur` is complete: move to the next sibling, closing finished containers on the way.
    for (;;) {
      if (stack.empty()) {
        out.flush();
        return;
      }
      frame& f = stack.top();
      if (f.container->is_object()) {
        auto const& obj = f.container->get_object();
        if (f.next < obj.size()) {
          auto const& member = obj.begin()[f.next++];
          out.put(',');
          write_string(member.key(), out);
          out.put(':');
          cur = &member.value();
          break;
        }
        out.put('}');
      } else {
        auto const& arr = f.container->get_array();
        if (f.next < arr.size()) {
          out.put(',');
          cur = &arr[f.next++];
          break;
        }
        out.put(']');
      }
      stack.pop();
    }
  }
}

std::string to_json(json::value const& v) {
  std::string out;
  write_json(v, out);
  return out;
}

}  // namespace roost::detail
