#include <roost/trace_context.hpp>

namespace roost {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// The value of each character as a lowercase hex digit, -1 for any other (uppercase too: the
// Recommendation allows lowercase only). A table: a traced message reads 50 of them.
constexpr std::array<signed char, 256> hex_values = [] {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<signed char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<signed char>(c - 'a' + 10);
  return t;
}();

// Reads 2 * N hex characters from `p` into `out`; false on any other character.
template <std::size_t N>
bool read_hex(const char* p, std::array<std::uint8_t, N>& out) noexcept {
  int bad = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_values[static_cast<unsigned char>(p[2 * i])];
    const int lo = hex_values[static_cast<unsigned char>(p[2 * i + 1])];
    bad |= hi | lo;  // negative once any is -1
    out[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0xF));
  }
  return bad >= 0;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) noexcept {
  std::uint8_t any = 0;
  for (const auto b : a) any |= b;
  return any == 0;
}

// Writes the 2 * N hex characters of `a` at `p`; returns the end.
template <std::size_t N>
char* write_hex(char* p, const std::array<std::uint8_t, N>& a) noexcept {
  for (const auto b : a) {
    *p++ = hex_digits[b >> 4];
    *p++ = hex_digits[b & 0xF];
  }
  return p;
}

}  // namespace

std::optional<trace_context> parse_traceparent(std::string_view text) noexcept {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  constexpr std::size_t length = 55;
  if (text.size() < length) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!read_hex(text.data(), version) || version[0] == 0xFF) return std::nullopt;
  if (version[0] == 0 ? text.size() != length : text.size() > length && text[length] != '-') {
    return std::nullopt;
  }
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  trace_context c;
  std::array<std::uint8_t, 1> flags{};
  if (!read_hex(text.data() + 3, c.trace) || !read_hex(text.data() + 36, c.span) ||
      !read_hex(text.data() + 53, flags)) {
    return std::nullopt;
  }
  if (all_zero(c.trace) || all_zero(c.span)) return std::nullopt;
  c.flags = flags[0];
  return c;
}

std::string format_traceparent(const trace_context& c) {
  std::string out(55, '-');
  out[0] = '0';
  out[1] = '0';
  write_hex(out.data() + 3, c.trace);
  write_hex(out.data() + 36, c.span);
  write_hex(out.data() + 53, std::array<std::uint8_t, 1>{c.flags});
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
  std::string out(32, '0');
  write_hex(out.data(), id);
  return out;
}

std::string to_hex(const roost::span_id& id) {
  std::string out(16, '0');
  write_hex(out.data(), id);
  return out;
}

}  // namespace roost
