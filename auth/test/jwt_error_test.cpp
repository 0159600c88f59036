#include <roost/auth/jwt_error.hpp>

#include <gtest/gtest.h>

namespace {

using namespace roost::auth;

TEST(jwt_error, failures_read_as_the_reason_and_the_detail) {
  const jwt_failure f{jwt_error::expired, "'exp' has passed"};
  EXPECT_EQ(f.message(), "token expired: 'exp' has passed");
  boost::system::error_code ec = jwt_error::bad_signature;
  EXPECT_EQ(ec.message(), "bad signature");
  EXPECT_EQ(ec.category().name(), std::string("roost.jwt"));
}

TEST(jwt_error, a_result_throws_its_failure_as_a_system_error) {
  jwt_result<int> r = jwt_failure{jwt_error::unknown_key, "no key with kid 'x'"};
  try {
    (void)r.value();
    ADD_FAILURE() << "value() did not throw";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), jwt_error::unknown_key);
    EXPECT_NE(std::string(e.what()).find("no key with kid 'x'"), std::string::npos);
  }
}

}  // namespace
