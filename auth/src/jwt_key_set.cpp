#include <roost/auth/jwt_key_set.hpp>

#include <roost/detail/json_reader.hpp>

#include <roost/auth/detail/printable.hpp>

namespace roost::auth {

void jwt_key_set::add(jwt_key key, std::string kid) {
  for (auto& [id, k] : keys_) {
    if (id == kid) {
      k = std::move(key);
      return;
    }
  }
  keys_.emplace_back(std::move(kid), std::move(key));
}

jwt_result<jwt_key_set> jwt_key_set::from_jwks(std::string_view document) {
  json::error_code ec;
  const json::value doc = roost::detail::parse_json(document, ec);
  if (ec) return jwt_failure{jwt_error::invalid_key, "JWKS is not JSON: " + ec.message()};
  if (!doc.is_object()) return jwt_failure{jwt_error::invalid_key, "JWKS is not an object"};
  return from_jwks(doc.get_object());
}

jwt_result<jwt_key_set> jwt_key_set::from_jwks(const json::object& document) {
  const auto* keys = document.if_contains("keys");
  if (!keys || !keys->is_array())
    return jwt_failure{jwt_error::invalid_key, "JWKS without a 'keys' array"};
  jwt_key_set set;
  for (const auto& entry : keys->get_array()) {
    if (!entry.is_object()) return jwt_failure{jwt_error::invalid_key, "JWKS key not an object"};
    const auto& jwk = entry.get_object();
    // Encryption keys and keys for algorithms we do not verify are not errors: providers
    // publish them beside signing keys.
    if (const auto* use = jwk.if_contains("use"); use && *use != "sig") continue;
    if (const auto* alg = jwk.if_contains("alg");
        alg && (!alg->is_string() || !parse_jwt_algorithm(alg->get_string())))
      continue;
    const auto* kty = jwk.if_contains("kty");
    if (!kty || !(*kty == "RSA" || *kty == "EC" || *kty == "OKP" || *kty == "oct")) continue;
    if (const auto* crv = jwk.if_contains("crv"); *kty == "OKP" && (!crv || *crv != "Ed25519"))
      continue;
    auto key = jwt_key::from_jwk(jwk);
    if (!key) return key.error();
    std::string kid;
    if (const auto* k = jwk.if_contains("kid"); k && k->is_string()) kid = k->get_string();
    set.add(std::move(*key), std::move(kid));
  }
  return set;
}

jwt_result<jwt_key> jwt_key_set::select(const std::string* kid) const {
  const jwt_key* unnamed = nullptr;
  for (const auto& [id, key] : keys_) {
    if (kid && id == *kid) return key;
    if (id.empty()) unnamed = &key;
  }
  if (unnamed) return *unnamed;
  if (!kid && keys_.size() == 1) return keys_.front().second;
  if (kid) return jwt_failure{jwt_error::unknown_key, "no key with kid " + detail::printable(*kid)};
  return jwt_failure{jwt_error::unknown_key, "the token has no kid and the key set has " +
                                                 std::to_string(keys_.size()) + " keys"};
}

json::object jwt_key_set::public_jwks() const {
  json::array keys;
  for (const auto& [id, key] : keys_) {
    auto jwk = key.public_jwk();
    if (jwk.empty()) continue;
    if (!id.empty()) jwk["kid"] = id;
    keys.push_back(std::move(jwk));
  }
  json::object doc;
  doc["keys"] = std::move(keys);
  return doc;
}

}  // namespace roost::auth
