#include <roost/auth/detail/base64url.hpp>

#include <array>
#include <cstdint>

namespace roost::auth::detail {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_values() {
  std::array<std::int8_t, 256> v{};
  for (auto& x : v) x = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    v[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return v;
}
constexpr auto values = make_values();

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int held = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out += alphabet[(acc >> held) & 0x3F];
    }
  }
  if (held > 0) out += alphabet[(acc << (6 - held)) & 0x3F];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // A length of 1 mod 4 cannot come from whole bytes.
  const std::size_t tail = text.size() % 4;
  if (tail == 1) return std::nullopt;
  std::string out(text.size() / 4 * 3 + (tail ? tail - 1 : 0), '\0');
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  char* o = out.data();
  // Whole groups of four characters (three bytes) first; an invalid character makes the OR of
  // the group's values negative.
  const std::size_t whole = text.size() - tail;
  for (std::size_t i = 0; i < whole; i += 4, o += 3) {
    const int a = values[in[i]], b = values[in[i + 1]], c = values[in[i + 2]],
              d = values[in[i + 3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    const auto v = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
    o[0] = static_cast<char>(v >> 16);
    o[1] = static_cast<char>(v >> 8);
    o[2] = static_cast<char>(v);
  }
  if (tail) {
    const int a = values[in[whole]], b = values[in[whole + 1]],
              c = tail == 3 ? values[in[whole + 2]] : 0;
    if ((a | b | c) < 0) return std::nullopt;
    const auto v = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6);
    // Bits past the last whole byte must be zero: otherwise several texts would decode to the
    // same bytes.
    if ((tail == 2 ? v & 0xFFFF : v & 0xFF) != 0) return std::nullopt;
    o[0] = static_cast<char>(v >> 16);
    if (tail == 3) o[1] = static_cast<char>(v >> 8);
  }
  return out;
}

}  // namespace roost::auth::detail
