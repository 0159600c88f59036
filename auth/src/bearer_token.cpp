#include <roost/auth/bearer_token.hpp>

#include <cctype>

namespace roost::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() ||
      !iequals(authorization.substr(0, scheme.size()), scheme) ||
      authorization[scheme.size()] != ' ')
    return std::nullopt;
  auto token = authorization.substr(scheme.size());
  const auto first = token.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  token.remove_prefix(first);
  const auto last = token.find_last_not_of(" \t\r\n");
  token = token.substr(0, last + 1);
  // One token: no space inside it (RFC 6750's b64token has none).
  if (token.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  return token;
}

std::optional<std::string_view> bearer_token(const roost::headers& h) noexcept {
  for (const auto& [name, value] : h) {
    if (!iequals(name, "authorization")) continue;
    if (auto token = bearer_token(std::string_view(value))) return token;
  }
  return std::nullopt;
}

}  // namespace roost::auth
