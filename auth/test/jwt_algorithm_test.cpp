#include <roost/auth/jwt_algorithm.hpp>

#include <gtest/gtest.h>

namespace {

using namespace roost::auth;

TEST(jwt_algorithm, names_round_trip_exactly_as_jose_spells_them) {
  for (auto name : {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                    "ES256", "ES384", "ES512", "EdDSA"}) {
    const auto alg = parse_jwt_algorithm(name);
    ASSERT_TRUE(alg) << name;
    EXPECT_EQ(to_string(*alg), name);
  }
}

TEST(jwt_algorithm, none_and_other_spellings_are_not_algorithms) {
  for (auto name : {"none", "None", "hs256", "EDDSA", "ES256K", "RS256 ", ""})
    EXPECT_FALSE(parse_jwt_algorithm(name)) << name;
}

}  // namespace
