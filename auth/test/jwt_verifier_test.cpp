#include <roost/auth/jwt_verifier.hpp>

#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/jwt_signer.hpp>

#include "test_keys.hpp"

#include <openssl/hmac.h>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace {

using namespace roost::auth;
using roost::auth::detail::base64url_decode;
using roost::auth::detail::base64url_encode;
using roost::json::object;

constexpr std::int64_t now_s = 1'700'000'000;

const std::vector<jwt_algorithm> all_algorithms{
    jwt_algorithm::hs256, jwt_algorithm::hs384, jwt_algorithm::hs512, jwt_algorithm::rs256,
    jwt_algorithm::rs384, jwt_algorithm::rs512, jwt_algorithm::ps256, jwt_algorithm::ps384,
    jwt_algorithm::ps512, jwt_algorithm::es256, jwt_algorithm::es384, jwt_algorithm::es512,
    jwt_algorithm::eddsa};

jwt_rules rules_at_now(std::vector<jwt_algorithm> algorithms = all_algorithms) {
  jwt_rules r;
  r.algorithms = std::move(algorithms);
  r.clock = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_s)); };
  return r;
}

object valid_claims() {
  return object{{"sub", "user-1"}, {"iat", now_s - 10}, {"exp", now_s + 60}, {"scope", "read"}};
}

template <class T>
T ok(jwt_result<T> r) {
  if (!r) ADD_FAILURE() << r.error().message();
  return std::move(r).value();
}

// Keys made once for the whole program: RSA key generation is slow.
struct key_pairs {
  test::pem_pair rsa = test::make_key("RSA");
  test::pem_pair rsa2 = test::make_key("RSA");
  test::pem_pair p256 = test::make_key("EC", "P-256");
  test::pem_pair p384 = test::make_key("EC", "P-384");
  test::pem_pair p521 = test::make_key("EC", "P-521");
  test::pem_pair ed = test::make_key("ED25519");
};
const key_pairs& keys() {
  static const key_pairs k;
  return k;
}

const std::string secret = "a secret of thirty-two bytes or more, for HS512 too!!";

// The private (signing) and public (verifying) key of an algorithm.
std::pair<jwt_key, jwt_key> keys_for(jwt_algorithm alg) {
  const test::pem_pair* pair = nullptr;
  switch (alg) {
    case jwt_algorithm::hs256:
    case jwt_algorithm::hs384:
    case jwt_algorithm::hs512: {
      auto k = ok(jwt_key::hmac(secret));
      return {k, k};
    }
    case jwt_algorithm::es256:
      pair = &keys().p256;
      break;
    case jwt_algorithm::es384:
      pair = &keys().p384;
      break;
    case jwt_algorithm::es512:
      pair = &keys().p521;
      break;
    case jwt_algorithm::eddsa:
      pair = &keys().ed;
      break;
    default:
      pair = &keys().rsa;
  }
  return {ok(jwt_key::from_pem(pair->private_pem)), ok(jwt_key::from_pem(pair->public_pem))};
}

std::string sign(jwt_algorithm alg, const object& claims = valid_claims(), std::string kid = {}) {
  return ok(jwt_signer(keys_for(alg).first, alg, std::move(kid)).sign(claims));
}

// A token made by hand: any header, any claims, any signature bytes.
std::string raw_token(std::string_view header, std::string_view claims,
                      std::string_view signature = "sig") {
  return base64url_encode(header) + "." + base64url_encode(claims) + "." +
         base64url_encode(signature);
}

jwt_error refusal(const jwt_verifier& v, std::string_view token) {
  auto r = v.verify(token);
  EXPECT_FALSE(r) << "accepted: " << token;
  return r ? jwt_error{} : r.error().code;
}

class per_algorithm : public ::testing::TestWithParam<jwt_algorithm> {};

TEST_P(per_algorithm, a_token_signed_with_the_key_verifies_and_gives_its_claims) {
  const auto alg = GetParam();
  jwt_verifier v(rules_at_now({alg}), keys_for(alg).second);
  auto claims = v.verify(sign(alg));
  ASSERT_TRUE(claims) << claims.error().message();
  EXPECT_EQ(*claims, valid_claims());
}

TEST_P(per_algorithm, one_flipped_signature_byte_is_a_bad_signature) {
  const auto alg = GetParam();
  jwt_verifier v(rules_at_now({alg}), keys_for(alg).second);
  const auto token = sign(alg);
  const auto dot = token.rfind('.');
  auto sig = *base64url_decode(token.substr(dot + 1));
  sig[sig.size() / 2] ^= 0x01;
  EXPECT_EQ(refusal(v, token.substr(0, dot + 1) + base64url_encode(sig)), jwt_error::bad_signature);
}

TEST_P(per_algorithm, changed_claims_under_the_same_signature_are_a_bad_signature) {
  const auto alg = GetParam();
  jwt_verifier v(rules_at_now({alg}), keys_for(alg).second);
  const auto token = sign(alg);
  const auto d1 = token.find('.'), d2 = token.rfind('.');
  auto claims = valid_claims();
  claims["sub"] = "admin";
  const auto forged =
      token.substr(0, d1 + 1) + base64url_encode(roost::json::serialize(claims)) + token.substr(d2);
  EXPECT_EQ(refusal(v, forged), jwt_error::bad_signature);
}

INSTANTIATE_TEST_SUITE_P(jwt, per_algorithm, ::testing::ValuesIn(all_algorithms),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(jwt_verifier, an_es256_signature_in_der_form_is_refused) {
  // JOSE wants r||s; a verifier that also took DER would accept two spellings of a signature.
  const auto token = sign(jwt_algorithm::es256);
  const auto dot = token.rfind('.');
  const auto jose = *base64url_decode(token.substr(dot + 1));
  std::string der = "\x30\x44\x02\x20" + jose.substr(0, 32) + "\x02\x20" + jose.substr(32);
  jwt_verifier v(rules_at_now(), keys_for(jwt_algorithm::es256).second);
  EXPECT_EQ(refusal(v, token.substr(0, dot + 1) + base64url_encode(der)), jwt_error::bad_signature);
}

TEST(jwt_verifier, expiry_counts_with_the_leeway) {
  auto claims = valid_claims();
  claims["exp"] = now_s - 5;
  const auto token = sign(jwt_algorithm::hs256, claims);
  jwt_verifier strict(rules_at_now(), keys_for(jwt_algorithm::hs256).second);
  EXPECT_EQ(refusal(strict, token), jwt_error::expired);
  auto lenient_rules = rules_at_now();
  lenient_rules.leeway = std::chrono::seconds(10);
  jwt_verifier lenient(lenient_rules, keys_for(jwt_algorithm::hs256).second);
  EXPECT_TRUE(lenient.verify(token));
  claims["exp"] = now_s;  // exp is the first instant the token is no longer valid
  EXPECT_EQ(refusal(strict, sign(jwt_algorithm::hs256, claims)), jwt_error::expired);
}

TEST(jwt_verifier, not_before_counts_with_the_leeway) {
  auto claims = valid_claims();
  claims["nbf"] = now_s + 5;
  const auto token = sign(jwt_algorithm::hs256, claims);
  jwt_verifier strict(rules_at_now(), keys_for(jwt_algorithm::hs256).second);
  EXPECT_EQ(refusal(strict, token), jwt_error::not_yet_valid);
  auto lenient_rules = rules_at_now();
  lenient_rules.leeway = std::chrono::seconds(10);
  EXPECT_TRUE(jwt_verifier(lenient_rules, keys_for(jwt_algorithm::hs256).second).verify(token));
}

TEST(jwt_verifier, issued_in_the_future_is_refused_beyond_the_leeway) {
  auto claims = valid_claims();
  claims["iat"] = now_s + 30;
  const auto token = sign(jwt_algorithm::hs256, claims);
  EXPECT_EQ(refusal(jwt_verifier(rules_at_now(), keys_for(jwt_algorithm::hs256).second), token),
            jwt_error::issued_in_future);
  auto lenient_rules = rules_at_now();
  lenient_rules.leeway = std::chrono::seconds(30);
  EXPECT_TRUE(jwt_verifier(lenient_rules, keys_for(jwt_algorithm::hs256).second).verify(token));
}

TEST(jwt_verifier, a_token_without_exp_is_refused_unless_the_rules_allow_it) {
  auto claims = valid_claims();
  claims.erase("exp");
  const auto token = sign(jwt_algorithm::hs256, claims);
  EXPECT_EQ(refusal(jwt_verifier(rules_at_now(), keys_for(jwt_algorithm::hs256).second), token),
            jwt_error::missing_claim);
  auto rules = rules_at_now();
  rules.require_expiry = false;
  EXPECT_TRUE(jwt_verifier(rules, keys_for(jwt_algorithm::hs256).second).verify(token));
}

TEST(jwt_verifier, time_claims_that_are_not_numbers_are_malformed) {
  auto claims = valid_claims();
  claims["exp"] = "tomorrow";
  EXPECT_EQ(refusal(jwt_verifier(rules_at_now(), keys_for(jwt_algorithm::hs256).second),
                    sign(jwt_algorithm::hs256, claims)),
            jwt_error::malformed);
}

TEST(jwt_verifier, audience_as_a_string_or_an_array_must_name_an_accepted_one) {
  auto rules = rules_at_now();
  rules.audiences = {"orders", "billing"};
  jwt_verifier v(rules, keys_for(jwt_algorithm::hs256).second);
  auto claims = valid_claims();
  claims["aud"] = "billing";
  EXPECT_TRUE(v.verify(sign(jwt_algorithm::hs256, claims)));
  claims["aud"] = roost::json::array{"web", "orders"};
  EXPECT_TRUE(v.verify(sign(jwt_algorithm::hs256, claims)));
  claims["aud"] = "web";
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::hs256, claims)), jwt_error::wrong_audience);
  claims["aud"] = roost::json::array{"web", "mobile"};
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::hs256, claims)), jwt_error::wrong_audience);
  claims.erase("aud");
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::hs256, claims)), jwt_error::wrong_audience);
}

TEST(jwt_verifier, issuer_must_be_an_accepted_one) {
  auto rules = rules_at_now();
  rules.issuers = {"https://id.example"};
  jwt_verifier v(rules, keys_for(jwt_algorithm::hs256).second);
  auto claims = valid_claims();
  claims["iss"] = "https://id.example";
  EXPECT_TRUE(v.verify(sign(jwt_algorithm::hs256, claims)));
  claims["iss"] = "https://evil.example";
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::hs256, claims)), jwt_error::wrong_issuer);
  claims.erase("iss");
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::hs256, claims)), jwt_error::wrong_issuer);
}

TEST(jwt_verifier, truncated_tokens_are_refused) {
  jwt_verifier v(rules_at_now(), keys_for(jwt_algorithm::rs256).second);
  const auto token = sign(jwt_algorithm::rs256);
  const auto dot = token.rfind('.');
  EXPECT_EQ(refusal(v, token.substr(0, dot)), jwt_error::malformed);          // no signature part
  EXPECT_EQ(refusal(v, token.substr(0, dot + 1)), jwt_error::bad_signature);  // empty signature
  const auto signature = *base64url_decode(token.substr(dot + 1));
  EXPECT_EQ(refusal(v, token.substr(0, dot + 1) + base64url_encode(signature.substr(0, 250))),
            jwt_error::bad_signature);
  EXPECT_FALSE(v.verify(token.substr(0, token.size() - 4)));  // malformed or a bad signature
  EXPECT_EQ(refusal(v, token.substr(0, token.find('.'))), jwt_error::malformed);
  EXPECT_EQ(refusal(v, ""), jwt_error::malformed);
  EXPECT_EQ(refusal(v, token + ".x"), jwt_error::malformed);
}

TEST(jwt_verifier, bad_base64url_and_non_object_headers_are_malformed) {
  jwt_verifier v(rules_at_now(), keys_for(jwt_algorithm::hs256).second);
  const auto token = sign(jwt_algorithm::hs256);
  EXPECT_EQ(refusal(v, "*" + token), jwt_error::malformed);
  EXPECT_EQ(refusal(v, raw_token(R"(["HS256"])", "{}")), jwt_error::malformed);
  EXPECT_EQ(refusal(v, raw_token("not json", "{}")), jwt_error::malformed);
  EXPECT_EQ(refusal(v, raw_token(R"({"typ":"JWT"})", "{}")), jwt_error::malformed);  // no alg
  EXPECT_EQ(refusal(v, token + "=="), jwt_error::malformed);  // padded signature
}

TEST(jwt_verifier, claims_that_are_not_an_object_are_malformed_even_when_signed) {
  const auto key = keys_for(jwt_algorithm::hs256).first;
  // Sign an array as claims by hand: the signer only takes objects.
  const auto input = base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode(R"(["sub"])");
  const auto good = ok(jwt_signer(key, jwt_algorithm::hs256).sign(valid_claims()));
  jwt_verifier v(rules_at_now(), key);
  EXPECT_EQ(refusal(v, input + "." + good.substr(good.rfind('.') + 1)), jwt_error::bad_signature);
}

TEST(jwt_verifier, alg_none_is_refused_even_if_listed_nowhere) {
  jwt_verifier v(rules_at_now(), keys_for(jwt_algorithm::hs256).second);
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
    auto r = v.verify(raw_token(header, roost::json::serialize(valid_claims()), ""));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, jwt_error::algorithm_not_allowed);
    EXPECT_NE(r.error().detail.find("none"), std::string::npos) << r.error().detail;
  }
}

TEST(jwt_verifier, a_repeated_header_member_counts_by_its_last_value) {
  // RFC 7515 §5.2: reject duplicates or take the lexically last; roost's JSON reader takes the
  // last, so the `alg` checked is the one after any earlier copy. Signed here with OpenSSL's
  // HMAC directly, as jwt_signer writes its own header.
  auto signed_token = [](std::string_view header) {
    const auto input =
        base64url_encode(header) + "." + base64url_encode(roost::json::serialize(valid_claims()));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return input + "." + base64url_encode({reinterpret_cast<const char*>(mac), len});
  };
  jwt_verifier v(rules_at_now({jwt_algorithm::hs256}), keys_for(jwt_algorithm::hs256).second);
  EXPECT_TRUE(v.verify(signed_token(R"({"alg":"none","alg":"HS256"})")));
  EXPECT_EQ(refusal(v, signed_token(R"({"alg":"HS256","alg":"none"})")),
            jwt_error::algorithm_not_allowed);
}

TEST(jwt_verifier, an_algorithm_outside_the_allowed_list_is_refused) {
  jwt_verifier v(rules_at_now({jwt_algorithm::rs256}), keys_for(jwt_algorithm::rs384).second);
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::rs384)), jwt_error::algorithm_not_allowed);
  EXPECT_EQ(refusal(v, raw_token(R"({"alg":"XX999"})", "{}")), jwt_error::algorithm_not_allowed);
  jwt_verifier none_allowed(rules_at_now({}), keys_for(jwt_algorithm::rs256).second);
  EXPECT_EQ(refusal(none_allowed, sign(jwt_algorithm::rs256)), jwt_error::algorithm_not_allowed);
}

TEST(jwt_verifier, an_rsa_public_key_is_never_used_as_an_hmac_secret) {
  // The classic confusion attack: HS256 "signed" with the server's public key PEM as the secret.
  const auto& pem = keys().rsa.public_pem;
  const auto forged =
      ok(jwt_signer(ok(jwt_key::hmac(pem)), jwt_algorithm::hs256).sign(valid_claims()));
  jwt_verifier v(rules_at_now({jwt_algorithm::hs256, jwt_algorithm::rs256}),
                 ok(jwt_key::from_pem(pem)));
  EXPECT_EQ(refusal(v, forged), jwt_error::key_mismatch);
  EXPECT_TRUE(v.verify(sign(jwt_algorithm::rs256)));
}

TEST(jwt_verifier, a_key_verifies_only_its_own_curve) {
  jwt_verifier v(rules_at_now(), keys_for(jwt_algorithm::es256).second);
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::es384)), jwt_error::key_mismatch);
  EXPECT_EQ(refusal(v, sign(jwt_algorithm::eddsa)), jwt_error::key_mismatch);
}

TEST(jwt_verifier, crit_headers_are_refused) {
  const auto key = keys_for(jwt_algorithm::hs256).first;
  object header{{"crit", roost::json::array{"exp"}}};
  const auto token = ok(jwt_signer(key, jwt_algorithm::hs256).sign(valid_claims(), header));
  EXPECT_EQ(refusal(jwt_verifier(rules_at_now(), key), token), jwt_error::malformed);
}

TEST(jwt_verifier, oversized_tokens_are_refused_before_decoding) {
  auto rules = rules_at_now();
  rules.max_token_size = 64;
  EXPECT_EQ(refusal(jwt_verifier(rules, keys_for(jwt_algorithm::hs256).second),
                    sign(jwt_algorithm::hs256)),
            jwt_error::malformed);
}

jwt_key_set jwks_of(std::initializer_list<std::pair<const char*, const test::pem_pair*>> keys) {
  jwt_key_set set;
  for (const auto& [kid, pair] : keys) set.add(ok(jwt_key::from_pem(pair->public_pem)), kid);
  // Through a JWKS document, as a provider publishes it.
  return ok(jwt_key_set::from_jwks(roost::json::serialize(set.public_jwks())));
}

std::string sign_with(const test::pem_pair& pair, jwt_algorithm alg, std::string kid) {
  return ok(jwt_signer(ok(jwt_key::from_pem(pair.private_pem)), alg, std::move(kid))
                .sign(valid_claims()));
}

TEST(jwt_verifier, failure_texts_quote_token_text_safely_for_logs) {
  jwt_verifier v(rules_at_now(), jwks_of({{"a", &keys().p256}}));
  const std::string forged_log_line = "X\nlevel=info msg=\"login ok\" " + std::string(200, 'y');
  auto r = v.verify(raw_token(R"({"alg":")" + std::string("X\\nlevel=info") + R"("})", "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "unknown alg 'X\\x0alevel=info'");
  roost::json::object header{{"alg", "ES256"}, {"kid", forged_log_line}};
  r = v.verify(raw_token(roost::json::serialize(header), "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, jwt_error::unknown_key);
  EXPECT_EQ(r.error().detail.find('\n'), std::string::npos) << r.error().detail;
  EXPECT_LT(r.error().detail.size(), 120u) << r.error().detail;
}

TEST(jwt_verifier, kid_selects_the_key_and_an_unknown_kid_is_refused) {
  jwt_verifier v(rules_at_now(), jwks_of({{"r1", &keys().rsa}, {"e1", &keys().p256}}));
  EXPECT_TRUE(v.verify(sign_with(keys().rsa, jwt_algorithm::rs256, "r1")));
  EXPECT_TRUE(v.verify(sign_with(keys().p256, jwt_algorithm::es256, "e1")));
  EXPECT_EQ(refusal(v, sign_with(keys().rsa, jwt_algorithm::rs256, "r9")), jwt_error::unknown_key);
  EXPECT_EQ(refusal(v, sign_with(keys().rsa, jwt_algorithm::rs256, "")), jwt_error::unknown_key);
  // Right kid, wrong key: the signature decides.
  EXPECT_EQ(refusal(v, sign_with(keys().rsa2, jwt_algorithm::rs256, "r1")),
            jwt_error::bad_signature);
}

TEST(jwt_verifier, after_a_jwks_rotation_the_old_kid_is_refused_and_the_new_accepted) {
  jwt_verifier v(rules_at_now(), jwks_of({{"2024", &keys().rsa}}));
  const auto old_token = sign_with(keys().rsa, jwt_algorithm::rs256, "2024");
  const auto new_token = sign_with(keys().rsa2, jwt_algorithm::rs256, "2025");
  EXPECT_TRUE(v.verify(old_token));
  EXPECT_EQ(refusal(v, new_token), jwt_error::unknown_key);
  v.replace_keys(jwks_of({{"2025", &keys().rsa2}}));
  EXPECT_EQ(refusal(v, old_token), jwt_error::unknown_key);
  EXPECT_TRUE(v.verify(new_token));
}

TEST(jwt_verifier, verifications_during_rotations_use_one_whole_key_set) {
  // Run under ThreadSanitizer to check the swap; here each result must be one of the two sets'.
  jwt_verifier v(rules_at_now(), jwks_of({{"a", &keys().p256}}));
  const auto token_a = sign_with(keys().p256, jwt_algorithm::es256, "a");
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0}, refused_unknown{0}, other{0};
  std::thread verifier_thread([&] {
    while (!stop) {
      auto r = v.verify(token_a);
      if (r)
        ++accepted;
      else if (r.error().code == jwt_error::unknown_key)
        ++refused_unknown;
      else
        ++other;
    }
  });
  const auto set_a = jwks_of({{"a", &keys().p256}});
  const auto set_b = jwks_of({{"b", &keys().p384}});
  // Rotate until the other thread has verified often enough to have raced with the swaps.
  for (int i = 0; i < 200 || accepted + refused_unknown < 100; ++i)
    v.replace_keys(i % 2 ? set_a : set_b);
  stop = true;
  verifier_thread.join();
  EXPECT_EQ(other, 0);
  EXPECT_GE(accepted + refused_unknown, 100);
}

TEST(jwt_verifier, a_token_verified_before_is_still_checked_for_time_and_keys) {
  // The second verify of the same bytes finds the token kept: its time claims still count.
  auto now = std::make_shared<std::int64_t>(now_s);
  auto rules = rules_at_now();
  rules.clock = [now] { return std::chrono::system_clock::time_point(std::chrono::seconds(*now)); };
  jwt_verifier v(rules, jwks_of({{"a", &keys().p256}}));
  const auto token = sign_with(keys().p256, jwt_algorithm::es256, "a");
  auto first = v.verify(token);
  auto second = v.verify(token);
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  *now = now_s + 61;  // past exp (now + 60)
  EXPECT_EQ(refusal(v, token), jwt_error::expired);
  *now = now_s;
  EXPECT_TRUE(v.verify(token));
  v.replace_keys(jwks_of({{"a", &keys().p384}}));
  EXPECT_EQ(refusal(v, token), jwt_error::key_mismatch);
}

TEST(jwt_verifier, keeps_working_past_its_verified_token_capacity_or_without_one) {
  for (std::size_t capacity : {0u, 2u}) {
    auto rules = rules_at_now();
    rules.verified_cache_size = capacity;
    jwt_verifier v(rules, keys_for(jwt_algorithm::hs256).second);
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 5; ++i) {
        auto claims = valid_claims();
        claims["n"] = i;
        auto verified = v.verify(sign(jwt_algorithm::hs256, claims));
        ASSERT_TRUE(verified) << capacity << ": " << verified.error().message();
        EXPECT_EQ(verified->at("n"), i);
      }
    }
  }
}

TEST(jwt_verifier, hmac_secrets_come_from_files_and_the_environment) {
  const auto file =
      std::filesystem::temp_directory_path() / ("roost-jwt-secret-" + std::to_string(::getpid()));
  std::ofstream(file, std::ios::binary) << secret;
  jwt_verifier from_file(rules_at_now(), ok(jwt_key::hmac_from_file(file)));
  std::filesystem::remove(file);
  EXPECT_TRUE(from_file.verify(sign(jwt_algorithm::hs512)));

  ::setenv("ROOST_AUTH_TEST_SECRET", secret.c_str(), 1);
  jwt_verifier from_env(rules_at_now(), ok(jwt_key::hmac_from_env("ROOST_AUTH_TEST_SECRET")));
  ::unsetenv("ROOST_AUTH_TEST_SECRET");
  EXPECT_TRUE(from_env.verify(sign(jwt_algorithm::hs256)));

  EXPECT_EQ(jwt_key::hmac_from_env("ROOST_AUTH_TEST_UNSET").error().code, jwt_error::invalid_key);
  EXPECT_EQ(jwt_key::hmac_from_file(file).error().code, jwt_error::invalid_key);
  EXPECT_EQ(jwt_key::hmac("").error().code, jwt_error::invalid_key);
}

TEST(jwt_verifier, tokens_signed_outside_roost_verify) {
  // Signed with a plain HMAC and with OpenSSL's command line (ECDSA converted to r||s), not
  // with jwt_signer; the same tokens seed the jwt_verify fuzzer (fuzz/corpus/jwt_verify).
  const auto keys = ok(jwt_key_set::from_jwks(R"({"keys": [
    {"kty": "EC", "crv": "P-256", "kid": "e", "use": "sig",
     "x": "7IC2gPgTnC8skSTkclsAMGdMejI7_v5f9zoxSRA3i7Y",
     "y": "4EOPzw3ZlAHdZCtmtsd9bpDSCpQfQzom2J1DiK_tJmw"},
    {"kty": "OKP", "crv": "Ed25519", "kid": "d", "alg": "EdDSA",
     "x": "WOj79NbMhYFt6pI8Nz9J7PX1qBulcnDkyif6OQMo46Q"},
    {"kty": "oct", "kid": "h",
     "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}
  ]})"));
  auto rules = rules_at_now();
  rules.issuers = {"joe"};
  rules.audiences = {"svc"};
  jwt_verifier v(rules, keys);
  const std::string claims_part =
      "eyJpc3MiOiJqb2UiLCJleHAiOjQxMDI0NDQ4MDAsImF1ZCI6WyJzdmMiLCJvdGhlciJdLCJuYmYiOjEwMDAsImlhdCI6"
      "MTAwMCwic3ViIjoidSJ9";
  for (const auto& [header, signature] : std::vector<std::pair<std::string, std::string>>{
           {"eyJhbGciOiJIUzI1NiIsImtpZCI6ImgifQ", "IFZRvYZWhRMGzhiU6Sj--8YubsXI58K2znSZ1vUcUAI"},
           {"eyJhbGciOiJFUzI1NiIsImtpZCI6ImUifQ",
            "kaqQ9cpr7ZIkkdXJHaOi0tZ7EUdBlHih0TYdQ7lukBobvRITIiHvVMD4rp5_ls6fZJ1l1bHBVotKKv2_"
            "ITTNYQ"},
           {"eyJhbGciOiJFZERTQSIsImtpZCI6ImQifQ",
            "OJDr0JQFTl_JwbBYQES_EfIKIw4vE3i_4r3aSZ97i5myK4K_"
            "p9R9xZagtRBceFszqVYmpxskFkivLOSeZ44nCg"},
       }) {
    auto claims = v.verify(header + "." + claims_part + "." + signature);
    ASSERT_TRUE(claims) << header << ": " << claims.error().message();
    EXPECT_EQ(claims->at("sub"), "u");
  }
}

TEST(jwt_verifier, verifies_the_hs256_example_of_rfc_7515) {
  // RFC 7515 appendix A.1: its key, its token (with CRLFs inside the JSON), valid until
  // 1300819380.
  const auto key = ok(jwt_key::from_jwk(
      object{{"kty", "oct"},
             {"k",
              "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9"
              "CAow"}}));
  jwt_rules rules;
  rules.algorithms = {jwt_algorithm::hs256};
  rules.issuers = {"joe"};
  rules.clock = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1300819000));
  };
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto claims = jwt_verifier(rules, key).verify(token);
  ASSERT_TRUE(claims) << claims.error().message();
  EXPECT_EQ(claims->at("http://example.com/is_root"), true);
  rules.clock = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1300819380));
  };
  EXPECT_EQ(refusal(jwt_verifier(rules, key), token), jwt_error::expired);
}

}  // namespace
