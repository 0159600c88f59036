#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/jwt_verifier.hpp>

#include <roost/detail/json_reader.hpp>

#include <roost/auth/detail/printable.hpp>
#include "signature.hpp"
#include "verified_tokens.hpp"

#include <algorithm>
#include <cmath>

namespace roost::auth {
namespace {

jwt_failure fail(jwt_error code, std::string detail) {
  return {code, std::move(detail)};
}

// A base64url part holding a JSON object (the header or the claims).
jwt_result<json::object> decode_object(std::string_view part, const char* what) {
  auto text = detail::base64url_decode(part);
  if (!text) return fail(jwt_error::malformed, std::string(what) + " is not base64url");
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  json::value v = roost::detail::parse_json(*text, ec, {}, options);
  if (ec) return fail(jwt_error::malformed, std::string(what) + " is not JSON: " + ec.message());
  if (!v.is_object()) return fail(jwt_error::malformed, std::string(what) + " is not an object");
  return std::move(v.get_object());
}

// A NumericDate claim (seconds since the epoch, RFC 7519 §2) as seconds; nullopt when absent;
// a failure when it is not a finite number.
jwt_result<std::optional<double>> numeric_date(const json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  if (!v) return std::optional<double>();
  if (!v->is_number() || !std::isfinite(v->to_number<double>()))
    return fail(jwt_error::malformed, "'" + std::string(name) + "' is not a number");
  return std::optional<double>(v->to_number<double>());
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

jwt_verifier::jwt_verifier(jwt_rules rules, jwt_key_set keys)
    : rules_(std::move(rules)),
      keys_(std::make_shared<const jwt_key_set>(std::move(keys))),
      verified_(std::make_unique<detail::verified_tokens>(rules_.verified_cache_size)) {}

jwt_verifier::~jwt_verifier() = default;

jwt_verifier::jwt_verifier(jwt_rules rules, jwt_key key)
    : jwt_verifier(std::move(rules), jwt_key_set(std::move(key))) {}

void jwt_verifier::replace_keys(jwt_key_set keys) {
  auto next = std::make_shared<const jwt_key_set>(std::move(keys));
  std::lock_guard lock(keys_mutex_);
  keys_.swap(next);
  ++key_generation_;
  // The old set is released outside the lock (by `next`), or later by verifications using it.
}

std::shared_ptr<const jwt_key_set> jwt_verifier::keys() const {
  std::lock_guard lock(keys_mutex_);
  return keys_;
}

jwt_result<json::object> jwt_verifier::verify(std::string_view token) const {
  if (token.size() > rules_.max_token_size)
    return fail(jwt_error::malformed,
                "token longer than " + std::to_string(rules_.max_token_size) + " bytes");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == token.npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos)
    return fail(jwt_error::malformed, "not three dot-separated parts (JWS compact form)");
  const std::string_view signing_input = token.substr(0, dot2);
  const std::string_view header_part = token.substr(0, dot1);
  const std::string_view claims_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_part = token.substr(dot2 + 1);

  std::shared_ptr<const jwt_key_set> keys;
  std::uint64_t generation;
  {
    std::lock_guard lock(keys_mutex_);
    keys = keys_;
    generation = key_generation_;
  }
  if (auto claims = verified_->find(token, generation)) return check_claims(std::move(*claims));

  auto header = decode_object(header_part, "header");
  if (!header) return header.error();
  const auto* alg_value = header->if_contains("alg");
  if (!alg_value || !alg_value->is_string())
    return fail(jwt_error::malformed, "header without a string 'alg'");
  const std::string_view alg_name = alg_value->get_string();
  const auto alg = parse_jwt_algorithm(alg_name);
  if (!alg) {
    return fail(jwt_error::algorithm_not_allowed,
                alg_name == "none" || alg_name == "None" || alg_name == "NONE"
                    ? "alg 'none' (unsecured token) is never accepted"
                    : "unknown alg " + detail::printable(alg_name));
  }
  if (std::find(rules_.algorithms.begin(), rules_.algorithms.end(), *alg) ==
      rules_.algorithms.end())
    return fail(jwt_error::algorithm_not_allowed, "alg " + std::string(alg_name) + " not allowed");
  // RFC 7515 §4.1.11: extensions marked critical must be understood; roost understands none.
  if (header->contains("crit"))
    return fail(jwt_error::malformed, "'crit' header extensions are not supported");

  const std::string* kid = nullptr;
  std::string kid_text;
  if (const auto* k = header->if_contains("kid")) {
    if (!k->is_string()) return fail(jwt_error::malformed, "'kid' is not a string");
    kid_text = k->get_string();
    kid = &kid_text;
  }
  auto key = keys->select(kid);
  if (!key) return key.error();
  if (!key->accepts(*alg))
    return fail(jwt_error::key_mismatch, "the key for this token does not verify " +
                                             std::string(alg_name) +
                                             " (an algorithm other than the key's)");

  auto signature = detail::base64url_decode(signature_part);
  if (!signature) return fail(jwt_error::malformed, "signature is not base64url");
  if (!detail::verify_signature(key->impl(), *alg, signing_input, *signature))
    return fail(jwt_error::bad_signature, "signature does not verify");

  // Claims are decoded only once the signature holds: nothing unauthenticated is parsed beyond
  // the header.
  auto claims = decode_object(claims_part, "claims");
  if (!claims) return claims.error();
  auto checked = check_claims(std::move(*claims));
  // Kept only once valid: a token refused for its time (nbf) is verified again when it comes.
  if (checked) verified_->insert(token, generation, *checked);
  return checked;
}

jwt_result<json::object> jwt_verifier::check_claims(json::object claims) const {
  const auto now_point = rules_.clock ? rules_.clock() : std::chrono::system_clock::now();
  const double now = std::chrono::duration<double>(now_point.time_since_epoch()).count();
  const double leeway = static_cast<double>(rules_.leeway.count());

  auto exp = numeric_date(claims, "exp");
  if (!exp) return exp.error();
  if (!*exp && rules_.require_expiry) return fail(jwt_error::missing_claim, "no 'exp' claim");
  if (*exp && now >= **exp + leeway) return fail(jwt_error::expired, "'exp' has passed");

  auto nbf = numeric_date(claims, "nbf");
  if (!nbf) return nbf.error();
  if (*nbf && now + leeway < **nbf) return fail(jwt_error::not_yet_valid, "'nbf' has not come");

  auto iat = numeric_date(claims, "iat");
  if (!iat) return iat.error();
  if (*iat && now + leeway < **iat)
    return fail(jwt_error::issued_in_future, "'iat' is in the future");

  if (!rules_.issuers.empty()) {
    const auto* iss = claims.if_contains("iss");
    if (!iss || !iss->is_string() || !contains(rules_.issuers, iss->get_string()))
      return fail(jwt_error::wrong_issuer, iss ? "'iss' is not an accepted issuer" : "no 'iss'");
  }

  if (!rules_.audiences.empty()) {
    const auto* aud = claims.if_contains("aud");
    bool found = false;
    if (aud && aud->is_string()) {
      found = contains(rules_.audiences, aud->get_string());
    } else if (aud && aud->is_array()) {
      for (const auto& a : aud->get_array())
        if (a.is_string() && contains(rules_.audiences, a.get_string())) found = true;
    }
    if (!found)
      return fail(jwt_error::wrong_audience, aud ? "'aud' names no accepted audience" : "no 'aud'");
  }
  return claims;
}

}  // namespace roost::auth
