#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/jwt_signer.hpp>

#include <roost/detail/json_writer.hpp>

#include "signature.hpp"

namespace roost::auth {

jwt_signer::jwt_signer(jwt_key key, jwt_algorithm alg, std::string kid)
    : key_(std::move(key)), alg_(alg), kid_(std::move(kid)) {}

jwt_result<std::string> jwt_signer::sign(const json::object& claims) const {
  return sign(claims, json::object{});
}

jwt_result<std::string> jwt_signer::sign(const json::object& claims, json::object header) const {
  if (!key_.accepts(alg_) || !key_.can_sign())
    return jwt_failure{jwt_error::invalid_key,
                       "this key cannot sign " + std::string(to_string(alg_))};
  if (!header.contains("alg")) header["alg"] = to_string(alg_);
  if (!header.contains("typ")) header["typ"] = "JWT";
  if (!kid_.empty() && !header.contains("kid")) header["kid"] = kid_;
  std::string token = detail::base64url_encode(roost::detail::to_json(header)) + "." +
                      detail::base64url_encode(roost::detail::to_json(claims));
  auto signature = detail::create_signature(key_.impl(), alg_, token);
  if (!signature) return jwt_failure{jwt_error::invalid_key, "OpenSSL could not sign"};
  token += '.';
  token += detail::base64url_encode(*signature);
  return token;
}

}  // namespace roost::auth
