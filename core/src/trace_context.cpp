#include <roost/trace_context.hpp>

#include <algorithm>

namespace roost {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// The value of a lowercase hex digit, -1 for any other character (uppercase too: the
// Recommendation allows lowercase only).
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads 2 * N hex characters into `out`; false on any other character.
template <std::size_t N>
bool read_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) noexcept {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

template <std::size_t N>
void append_hex(std::string& out, const std::array<std::uint8_t, N>& a) {
  for (const auto b : a) {
    out += hex_digits[b >> 4];
    out += hex_digits[b & 0xF];
  }
}

}  // namespace

std::optional<trace_context> parse_traceparent(std::string_view text) noexcept {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  constexpr std::size_t length = 55;
  if (text.size() < length) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!read_hex(text.substr(0, 2), version) || version[0] == 0xFF) return std::nullopt;
  if (version[0] == 0 ? text.size() != length : text.size() > length && text[length] != '-') {
    return std::nullopt;
  }
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  trace_context c;
  std::array<std::uint8_t, 1> flags{};
  if (!read_hex(text.substr(3, 32), c.trace) || !read_hex(text.substr(36, 16), c.span) ||
      !read_hex(text.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (all_zero(c.trace) || all_zero(c.span)) return std::nullopt;
  c.flags = flags[0];
  return c;
}

std::string format_traceparent(const trace_context& c) {
  std::string out;
  out.reserve(55);
  out += "00-";
  append_hex(out, c.trace);
  out += '-';
  append_hex(out, c.span);
  out += '-';
  append_hex(out, std::array<std::uint8_t, 1>{c.flags});
  return out;
}

std::optional<trace_context> read_trace_context(const headers& h) {
  const auto parents = h.get_all(traceparent_header);
  // Two traceparents cannot both be the parent: neither is.
  if (parents.size() != 1) return std::nullopt;
  auto c = parse_traceparent(parents.front());
  if (!c) return std::nullopt;
  for (const auto s : h.get_all(tracestate_header)) {
    if (s.empty()) continue;
    if (!c->state.empty()) c->state += ',';
    c->state += s;
  }
  return c;
}

void write_trace_context(headers& h, const trace_context& c) {
  h.set(traceparent_header, format_traceparent(c));
  if (!c.state.empty()) {
    h.set(tracestate_header, c.state);
  } else {
    h.erase(tracestate_header);
  }
}

std::string to_hex(const roost::trace_id& id) {
  std::string out;
  out.reserve(32);
  append_hex(out, id);
  return out;
}

std::string to_hex(const roost::span_id& id) {
  std::string out;
  out.reserve(16);
  append_hex(out, id);
  return out;
}

}  // namespace roost
