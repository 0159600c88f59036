#include <roost/auth/detail/base64url.hpp>

#include <gtest/gtest.h>

namespace {

using roost::auth::detail::base64url_decode;
using roost::auth::detail::base64url_encode;

TEST(base64url, round_trips_every_length_and_byte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes += static_cast<char>(255 - i);
    const auto text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(text), bytes) << i;
  }
}

TEST(base64url, matches_rfc_4648_vectors_without_padding) {
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("Zm9vYg"), "foob");
}

TEST(base64url, refuses_padding_standard_alphabet_whitespace_and_bad_lengths) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("+/8"));
  EXPECT_FALSE(base64url_decode("Zm 9v"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));  // 1 mod 4
}

TEST(base64url, refuses_non_canonical_trailing_bits) {
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_FALSE(base64url_decode("Zh"));  // same byte, a trailing bit set
  EXPECT_TRUE(base64url_decode("Zm8"));
  EXPECT_FALSE(base64url_decode("Zm9"));  // "fo" with a trailing bit set
}

TEST(base64url, refuses_a_bad_character_in_any_position) {
  const std::string good = "Zm9vYmFy";  // "foobar"
  for (std::size_t n : {good.size(), good.size() - 1, good.size() - 2}) {
    for (std::size_t i = 0; i < n; ++i) {
      auto bad = good.substr(0, n);
      bad[i] = '.';
      EXPECT_FALSE(base64url_decode(bad)) << bad;
    }
  }
}

}  // namespace
