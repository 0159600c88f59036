#include <roost/auth/bearer_token.hpp>

#include <gtest/gtest.h>

namespace {

using roost::auth::bearer_token;

TEST(bearer_token, takes_the_token_after_a_bearer_scheme_in_any_case) {
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER   abc  "), "abc");
}

TEST(bearer_token, refuses_other_schemes_and_empty_tokens) {
  EXPECT_FALSE(bearer_token("Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer   "));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token("Bearer a b"));
}

TEST(bearer_token, finds_the_authorization_header_whatever_its_case) {
  roost::headers h{{"x-trace", "1"}, {"Authorization", "Bearer tok"}};
  EXPECT_EQ(bearer_token(h), "tok");
  EXPECT_FALSE(bearer_token(roost::headers{{"x-trace", "1"}}));
}

TEST(bearer_token, skips_authorization_values_of_other_schemes) {
  roost::headers h{{"authorization", "Basic x"}, {"authorization", "Bearer second"}};
  EXPECT_EQ(bearer_token(h), "second");
}

TEST(bearer_token, reads_nestjs_metadata_as_headers) {
  roost::json::object metadata{{"authorization", "Bearer from-nest"}};
  EXPECT_EQ(bearer_token(roost::headers::from_metadata(metadata)), "from-nest");
}

}  // namespace
