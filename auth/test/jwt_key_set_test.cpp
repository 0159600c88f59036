#include <roost/auth/jwt_key_set.hpp>

#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/jwt_signer.hpp>
#include <roost/auth/jwt_verifier.hpp>

#include "test_keys.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace {

using namespace roost::auth;
using roost::json::object;
using test::pem_key;

TEST(jwt_key_set, a_jwks_document_round_trips_every_key_type) {
  jwt_key_set set;
  set.add(pem_key(test::make_key("RSA").public_pem), "rsa");
  set.add(pem_key(test::make_key("EC", "P-256").public_pem), "p256");
  set.add(pem_key(test::make_key("EC", "P-384").public_pem), "p384");
  set.add(pem_key(test::make_key("EC", "P-521").public_pem), "p521");
  set.add(pem_key(test::make_key("ED25519").public_pem), "ed");
  const auto jwks = set.public_jwks();
  auto parsed = jwt_key_set::from_jwks(roost::json::serialize(jwks));
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->size(), 5u);
  EXPECT_EQ(parsed->public_jwks(), jwks);
  const std::string kid = "p384";
  EXPECT_EQ(parsed->select(&kid)->type(), jwt_key_type::ec_p384);
}

TEST(jwt_key_set, reads_an_oct_key_and_verifies_with_it) {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  object jwk{{"kty", "oct"}, {"kid", "s1"}, {"k", detail::base64url_encode(secret)}};
  auto set = jwt_key_set::from_jwks(object{{"keys", roost::json::array{jwk}}});
  ASSERT_TRUE(set) << set.error().message();
  const auto token = jwt_signer(*jwt_key::hmac(secret), jwt_algorithm::hs256, "s1")
                         .sign(object{{"exp", 4102444800}})
                         .value();
  jwt_rules rules;
  rules.algorithms = {jwt_algorithm::hs256};
  EXPECT_TRUE(jwt_verifier(rules, *set).verify(token));
  // A secret is never published.
  EXPECT_TRUE(set->public_jwks().at("keys").as_array().empty());
}

TEST(jwt_key_set, leaves_out_encryption_keys_and_unknown_types) {
  auto ed = pem_key(test::make_key("ED25519").public_pem).public_jwk();
  auto enc = ed;
  enc["use"] = "enc";
  object x25519{{"kty", "OKP"}, {"crv", "X25519"}, {"x", "AAAA"}};
  object rsa_oaep{{"kty", "RSA"}, {"alg", "RSA-OAEP"}, {"n", "AQAB"}, {"e", "AQAB"}};
  object unknown{{"kty", "PQ"}};
  auto set = jwt_key_set::from_jwks(
      object{{"keys", roost::json::array{ed, enc, x25519, rsa_oaep, unknown}}});
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_EQ(set->size(), 1u);
}

TEST(jwt_key_set, refuses_a_point_off_its_curve_and_short_coordinates) {
  auto jwk = pem_key(test::make_key("EC", "P-256").public_pem).public_jwk();
  auto y = *detail::base64url_decode(jwk["y"].as_string());
  y[31] ^= 0x01;
  auto off_curve = jwk;
  off_curve["y"] = detail::base64url_encode(y);
  EXPECT_EQ(jwt_key::from_jwk(off_curve).error().code, jwt_error::invalid_key);
  auto short_x = jwk;
  short_x["x"] = detail::base64url_encode(y.substr(1));
  EXPECT_EQ(jwt_key::from_jwk(short_x).error().code, jwt_error::invalid_key);
  EXPECT_TRUE(jwt_key::from_jwk(jwk));
}

TEST(jwt_key_set, a_jwk_alg_restricts_the_key_to_that_algorithm) {
  auto jwk = pem_key(test::make_key("RSA").public_pem).public_jwk();
  jwk["alg"] = "PS256";
  auto key = jwt_key::from_jwk(jwk);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_TRUE(key->accepts(jwt_algorithm::ps256));
  EXPECT_FALSE(key->accepts(jwt_algorithm::rs256));
  jwk["alg"] = "ES256";
  EXPECT_EQ(jwt_key::from_jwk(jwk).error().code, jwt_error::invalid_key);
}

TEST(jwt_key_set, refuses_documents_that_are_not_jwks) {
  EXPECT_EQ(jwt_key_set::from_jwks("{").error().code, jwt_error::invalid_key);
  EXPECT_EQ(jwt_key_set::from_jwks("[]").error().code, jwt_error::invalid_key);
  EXPECT_EQ(jwt_key_set::from_jwks(R"({"keys":{}})").error().code, jwt_error::invalid_key);
  EXPECT_EQ(jwt_key_set::from_jwks(R"({"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]})").error().code,
            jwt_error::invalid_key);
}

TEST(jwt_key_set, selects_by_kid_then_the_key_without_one) {
  jwt_key_set set;
  set.add(pem_key(test::make_key("ED25519").public_pem), "a");
  const std::string a = "a", b = "b";
  EXPECT_TRUE(set.select(&a));
  EXPECT_EQ(set.select(&b).error().code, jwt_error::unknown_key);
  EXPECT_TRUE(set.select(nullptr));  // a set of one
  set.add(pem_key(test::make_key("ED25519").public_pem), "c");
  EXPECT_EQ(set.select(nullptr).error().code, jwt_error::unknown_key);
  set.add(pem_key(test::make_key("EC", "P-256").public_pem));
  EXPECT_EQ(set.select(nullptr)->type(), jwt_key_type::ec_p256);
  EXPECT_EQ(set.select(&b)->type(), jwt_key_type::ec_p256);
}

}  // namespace
