#include <roost/auth/detail/printable.hpp>

namespace roost::auth::detail {

std::string printable(std::string_view s) {
  constexpr std::size_t limit = 64;
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  out += s.size() > limit ? "'..." : "'";
  return out;
}

}  // namespace roost::auth::detail
