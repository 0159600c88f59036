#include <roost/detail/json_reader.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

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

}  // namespace

json::value parse_json_prefix(std::string_view text, std::size_t& used, json::error_code& ec,
                              json::storage_ptr sp, json::parse_options const& options) {
  ec = {};
  json::basic_parser<precise_handler> parser(options, std::move(sp));
  used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && !parser.done()) ec = json::error::incomplete;
  if (ec) return nullptr;
  return parser.handler().release();
}

json::value parse_json(std::string_view text, json::error_code& ec, json::storage_ptr sp,
                       json::parse_options const& options) {
  std::size_t used = 0;
  json::value v = parse_json_prefix(text, used, ec, std::move(sp), options);
  if (!ec && used < text.size()) {
    ec = json::error::extra_data;
    return nullptr;
  }
  return v;
}

}  // namespace roost::detail
