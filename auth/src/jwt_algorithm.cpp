#include <roost/auth/jwt_algorithm.hpp>

#include <array>
#include <utility>

namespace roost::auth {
namespace {

constexpr std::array<std::pair<jwt_algorithm, std::string_view>, 13> names{{
    {jwt_algorithm::hs256, "HS256"},
    {jwt_algorithm::hs384, "HS384"},
    {jwt_algorithm::hs512, "HS512"},
    {jwt_algorithm::rs256, "RS256"},
    {jwt_algorithm::rs384, "RS384"},
    {jwt_algorithm::rs512, "RS512"},
    {jwt_algorithm::ps256, "PS256"},
    {jwt_algorithm::ps384, "PS384"},
    {jwt_algorithm::ps512, "PS512"},
    {jwt_algorithm::es256, "ES256"},
    {jwt_algorithm::es384, "ES384"},
    {jwt_algorithm::es512, "ES512"},
    {jwt_algorithm::eddsa, "EdDSA"},
}};

}  // namespace

std::string_view to_string(jwt_algorithm alg) noexcept {
  for (const auto& [a, name] : names)
    if (a == alg) return name;
  return {};
}

std::optional<jwt_algorithm> parse_jwt_algorithm(std::string_view name) noexcept {
  for (const auto& [a, n] : names)
    if (n == name) return a;
  return std::nullopt;
}

}  // namespace roost::auth
