#include <roost/auth/jwt_signer.hpp>

#include <roost/auth/detail/base64url.hpp>

#include "test_keys.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace {

using namespace roost::auth;
using roost::json::object;
using test::pem_key;

TEST(jwt_signer, the_header_names_the_algorithm_and_kid) {
  const auto token =
      jwt_signer(pem_key(test::make_key("ED25519").private_pem), jwt_algorithm::eddsa, "k1")
          .sign(object{{"sub", "a"}})
          .value();
  const auto header =
      roost::json::parse(*detail::base64url_decode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header, (object{{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", "k1"}}));
}

TEST(jwt_signer, ecdsa_signatures_are_jose_r_s_of_the_curve_size) {
  for (auto [curve, alg, size] : {std::tuple{"P-256", jwt_algorithm::es256, 64u},
                                  std::tuple{"P-384", jwt_algorithm::es384, 96u},
                                  std::tuple{"P-521", jwt_algorithm::es512, 132u}}) {
    const auto token =
        jwt_signer(pem_key(test::make_key("EC", curve).private_pem), alg).sign(object{}).value();
    EXPECT_EQ(detail::base64url_decode(token.substr(token.rfind('.') + 1))->size(), size) << curve;
  }
}

TEST(jwt_verifier, the_signer_refuses_a_public_key_and_a_key_of_another_type) {
  EXPECT_EQ(jwt_signer(pem_key(test::make_key("RSA").public_pem), jwt_algorithm::rs256)
                .sign(object{})
                .error()
                .code,
            jwt_error::invalid_key);
  EXPECT_EQ(jwt_signer(pem_key(test::make_key("EC", "P-256").private_pem), jwt_algorithm::rs256)
                .sign(object{})
                .error()
                .code,
            jwt_error::invalid_key);
}

}  // namespace
