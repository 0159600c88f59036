#include <roost/auth/jwt_guard.hpp>

#include <roost/auth/bearer_token.hpp>
#include <roost/auth/detail/guard_steps.hpp>

#include <boost/json/string.hpp>

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

namespace roost::auth {
namespace {

constexpr std::string_view source = "JwtGuard";
// Namespaced so that an application's own attributes do not collide with it.
constexpr std::string_view claims_attribute = "roost.jwt.claims";

std::optional<std::string_view> token_of(const context& ctx, const jwt_guard_options& o) {
  if (auto t = bearer_token(ctx.headers())) return t;
  if (o.payload_field.empty()) return std::nullopt;
  const json::value* data = ctx.guarded_data();
  const json::object* payload = data ? data->if_object() : nullptr;
  if (!payload) return std::nullopt;
  const json::value* field = payload->if_contains(o.payload_field);
  if (!field || !field->is_string()) return std::nullopt;
  return std::string_view(field->get_string());
}

bool grants(const json::object& claims, std::string_view wanted) {
  if (const json::value* scope = claims.if_contains("scope"); scope && scope->is_string()) {
    std::string_view rest = scope->get_string();
    while (!rest.empty()) {
      const auto end = rest.find(' ');
      if (rest.substr(0, end) == wanted) return true;
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  if (const json::value* scp = claims.if_contains("scp"); scp && scp->is_array()) {
    const auto& a = scp->get_array();
    return std::any_of(a.begin(), a.end(), [&](const json::value& v) {
      return v.is_string() && std::string_view(v.get_string()) == wanted;
    });
  }
  return false;
}

std::string where(const context& ctx) {
  return std::string(ctx.transport()) + " message for '" + ctx.route() + "'";
}

}  // namespace

namespace detail {

std::optional<std::string_view> guard_token(const context& ctx, const jwt_guard_options& o) {
  auto token = token_of(ctx, o);
  if (!token && o.log.enabled(log_level::debug)) {
    o.log.debug(source, "denied " + where(ctx) + ": no bearer token");
  }
  return token;
}

bool guard_admit(context& ctx, const jwt_guard_options& o, jwt_result<json::object> claims) {
  if (!claims) {
    if (o.log.enabled(log_level::warn)) {
      o.log.warn(source, "denied " + where(ctx) + ": " + claims.error().message());
    }
    return false;
  }
  for (const std::string& scope : o.required_scopes) {
    if (!grants(*claims, scope)) {
      if (o.log.enabled(log_level::warn)) {
        o.log.warn(source, "denied " + where(ctx) + ": scope '" + scope + "' not granted");
      }
      return false;
    }
  }
  ctx.attributes()[claims_attribute] = std::move(*claims);
  return true;
}

}  // namespace detail

roost::guard jwt_guard(std::shared_ptr<const jwt_verifier> verifier, jwt_guard_options options) {
  return roost::guard(
      [verifier = std::move(verifier), options = std::move(options)](context& ctx) -> bool {
        const auto token = detail::guard_token(ctx, options);
        return token && detail::guard_admit(ctx, options, verifier->verify(*token));
      });
}

const json::object* jwt_claims(const context& ctx) noexcept {
  const json::value* v = ctx.attributes().if_contains(claims_attribute);
  return v ? v->if_object() : nullptr;
}

}  // namespace roost::auth
