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
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int held = 0;
  for (unsigned char c : text) {
    const int v = values[c];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out += static_cast<char>((acc >> held) & 0xFF);
    }
  }
  // Leftover bits must be zero: otherwise several texts would decode to the same bytes.
  if (held > 0 && (acc & ((1u << held) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace roost::auth::detail
