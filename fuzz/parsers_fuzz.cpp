// One libFuzzer target for the small parsers of roost::codec, the first input byte choosing
// which (one binary instead of one each: the fuzz tier's build stays small). The rest of the
// input is the text each reads. Checked, besides the sanitizers:
//   0 routes: a string pattern routes as itself, a route does not depend on the copy it is made
//     from, lookup_route of a string that is not JSON is the string, and comparing object keys
//     is antisymmetric (the text split at its first NUL into the two keys);
//   1 URLs: url::parse gives a URL or invalid_argument, a URL has a lower-case scheme and a
//     first host that is not empty, and every parameter reader answers for every key it holds;
//   2 headers: a JSON object read as message metadata gives headers that write back to
//     metadata that reads back to the same headers;
//   3 the JSON reader: a prefix parse agrees with a whole parse, the fast readers with the
//     general parser, and what is read writes back to JSON that reads back the same.
//   4 W3C trace context: a `traceparent` that reads has non-zero ids and writes back as
//     version 00 that reads back the same; headers (the text split at NULs: a traceparent, then
//     tracestate values) whose trace context reads write it back to headers that read the same.
#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/headers.hpp>
#include <roost/route.hpp>
#include <roost/trace_context.hpp>
#include <roost/url.hpp>

#include <boost/json/value_to.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const roost::route_normalizer& routes() {
  // One collator for the whole run; libFuzzer calls the entry point many times.
  static const roost::route_normalizer r;
  return r;
}

int sign(int v) {
  return (v > 0) - (v < 0);
}

void fuzz_routes(std::string_view text) {
  const roost::json::value as_string(text);
  check(routes().route(as_string) == text);
  roost::json::error_code ec;
  const auto parsed = roost::detail::parse_json(text, ec);
  if (ec) {
    check(routes().lookup_route(as_string) == text);
  } else {
    const auto copy = parsed;
    check(routes().route(parsed) == routes().route(copy));
    (void)routes().lookup_route(parsed);
    (void)routes().lookup_route(as_string);
  }
  const auto nul = text.find('\0');
  const auto a = text.substr(0, nul);
  const auto b = nul == std::string_view::npos ? std::string_view{} : text.substr(nul + 1);
  check(sign(routes().compare_keys(a, b)) == -sign(routes().compare_keys(b, a)));
  check(routes().compare_keys(a, a) == 0);
}

void fuzz_url(std::string_view text) {
  const auto u = roost::url::parse(text);
  if (!u) return;
  for (char c : u->scheme) check(!(c >= 'A' && c <= 'Z'));
  check(!u->host.empty() && !u->hosts.empty());
  for (const auto& [key, value] : u->query) {
    check(u->param(key).has_value());
    std::uint64_t un = 0;
    std::int64_t sn = 0;
    std::chrono::milliseconds ms{0};
    (void)u->param_number(key, un);
    (void)u->param_number(key, sn);
    (void)u->param_millis(key, ms);
  }
  std::optional<roost::tls_options> tls;
  u->param_tls(false, tls);
  roost::limits l;
  (void)u->param_limits(l);
}

void fuzz_headers(std::string_view text) {
  roost::json::error_code ec;
  const auto v = roost::detail::parse_json(text, ec);
  if (ec || !v.is_object()) return;
  const auto h = roost::headers::from_metadata(v.get_object());
  const auto again = roost::headers::from_metadata(h.to_metadata());
  check(again == h);
}

template <class T>
void check_simple_as(std::string_view text, const roost::json::value& general) {
  T fast{};
  if (!roost::detail::read_simple_as(text, fast)) return;
  // What the fast reader took, the general path converts to the same value.
  auto slow = boost::json::try_value_to<T>(general);
  check(slow.has_value() && *slow == fast);
}

void fuzz_json(std::string_view text) {
  roost::json::error_code ec;
  const auto whole = roost::detail::parse_json(text, ec);
  std::size_t used = 0;
  roost::json::error_code prefix_ec;
  const auto prefix = roost::detail::parse_json_prefix(text, used, prefix_ec);
  if (!ec) {
    // A whole document is a prefix of itself, all of it used.
    check(!prefix_ec && used == text.size());
    check(roost::detail::to_json(prefix) == roost::detail::to_json(whole));
    const std::string out = roost::detail::to_json(whole);
    roost::json::error_code back_ec;
    const auto back = roost::detail::parse_json(out, back_ec);
    check(!back_ec && roost::detail::to_json(back) == out);
    check_simple_as<long long>(text, whole);
    check_simple_as<bool>(text, whole);
    check_simple_as<std::string>(text, whole);
    check_simple_as<std::vector<long long>>(text, whole);
    check_simple_as<std::vector<std::string>>(text, whole);
  }
  if (!prefix_ec) check(used <= text.size());
  roost::json::value simple;
  std::size_t simple_used = 0;
  if (roost::detail::read_simple_json(text, simple_used, simple)) {
    check(!prefix_ec && simple_used == used);
    check(roost::detail::to_json(simple) == roost::detail::to_json(prefix));
    std::size_t checked_used = 0;
    check(roost::detail::is_simple_json(text, checked_used) && checked_used == used);
  }
}

void fuzz_trace_context(std::string_view text) {
  if (const auto c = roost::parse_traceparent(text)) {
    check(c->trace != roost::trace_id{} && c->span != roost::span_id{});
    const std::string written = roost::format_traceparent(*c);
    check(written.size() == 55);
    const auto again = roost::parse_traceparent(written);
    check(again && *again == *c);
  }
  roost::headers h;
  std::size_t from = 0;
  for (bool first = true;; first = false) {
    const auto nul = text.find('\0', from);
    const auto part = text.substr(from, nul == std::string_view::npos ? nul : nul - from);
    h.add(std::string(first ? roost::traceparent_header : roost::tracestate_header),
          std::string(part));
    if (nul == std::string_view::npos) break;
    from = nul + 1;
  }
  if (const auto c = roost::read_trace_context(h)) {
    roost::headers out;
    roost::write_trace_context(out, *c);
    const auto again = roost::read_trace_context(out);
    check(again && *again == *c);
  }
}

}  // namespace

// ICU is loaded on the first key that is not printable ASCII and keeps caches for the life of
// the process: open it before the run, so that they are not taken for one input's leak.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)routes().compare_keys("\u00e9", "f");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      fuzz_routes(text);
      break;
    case 1:
      fuzz_url(text);
      break;
    case 2:
      fuzz_headers(text);
      break;
    case 3:
      fuzz_json(text);
      break;
    default:
      fuzz_trace_context(text);
      break;
  }
  return 0;
}
