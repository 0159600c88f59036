// libFuzzer target for roost::auth::jwt_verifier::verify: the input is the token. The verifier
// holds an HMAC, an EC P-256 and an Ed25519 key by kid, and allows every algorithm, so that
// inputs reach each signature path and, for tokens that verify (the corpus has some), the claim
// checks. Checked, besides the sanitizers: verify returns a result for any bytes, and a token it
// accepts names an allowed, known algorithm in a header of canonical base64url, whose key has
// the algorithm's type.
#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/jwt_verifier.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace roost::auth;

// The public keys of the corpus's tokens (fuzz/corpus/jwks/three_keys).
constexpr std::string_view jwks = R"({"keys": [
  {"kty": "EC", "crv": "P-256", "kid": "e", "use": "sig",
   "x": "7IC2gPgTnC8skSTkclsAMGdMejI7_v5f9zoxSRA3i7Y",
   "y": "4EOPzw3ZlAHdZCtmtsd9bpDSCpQfQzom2J1DiK_tJmw"},
  {"kty": "OKP", "crv": "Ed25519", "kid": "d", "alg": "EdDSA",
   "x": "WOj79NbMhYFt6pI8Nz9J7PX1qBulcnDkyif6OQMo46Q"},
  {"kty": "oct", "kid": "h",
   "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}
]})";

const jwt_verifier& verifier() {
  // One verifier for the whole run; libFuzzer calls the entry point many times.
  static const jwt_verifier v = [] {
    jwt_rules rules;
    rules.algorithms = {jwt_algorithm::hs256, jwt_algorithm::hs384, jwt_algorithm::hs512,
                        jwt_algorithm::rs256, jwt_algorithm::ps256, jwt_algorithm::es256,
                        jwt_algorithm::es384, jwt_algorithm::eddsa};
    rules.issuers = {"joe"};
    rules.audiences = {"svc"};
    rules.leeway = std::chrono::seconds(60);
    rules.clock = [] { return std::chrono::system_clock::time_point(std::chrono::hours(500'000)); };
    auto keys = jwt_key_set::from_jwks(jwks);
    if (!keys) std::abort();
    return jwt_verifier(rules, *keys);
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auto claims = verifier().verify(token);
  if (!claims) return 0;
  const auto header_text = detail::base64url_decode(token.substr(0, token.find('.')));
  if (!header_text || detail::base64url_encode(*header_text) != token.substr(0, token.find('.')))
    std::abort();
  const auto header = boost::json::parse(*header_text).as_object();
  const auto alg = parse_jwt_algorithm(header.at("alg").as_string());
  if (!alg) std::abort();
  const auto& kid = header.at("kid").as_string();
  const std::string kid_text(kid.data(), kid.size());
  auto key = verifier().keys()->select(&kid_text);
  if (!key || !key->accepts(*alg)) std::abort();
  return 0;
}
