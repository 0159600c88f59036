#include <roost/auth/jwt_key.hpp>

#include "test_keys.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

using namespace roost::auth;
using test::pem_key;

TEST(jwt_key, pem_keys_have_the_type_of_their_algorithm_family) {
  EXPECT_EQ(pem_key(test::make_key("RSA").public_pem).type(), jwt_key_type::rsa);
  EXPECT_EQ(pem_key(test::make_key("EC", "P-256").public_pem).type(), jwt_key_type::ec_p256);
  EXPECT_EQ(pem_key(test::make_key("EC", "P-384").private_pem).type(), jwt_key_type::ec_p384);
  EXPECT_EQ(pem_key(test::make_key("ED25519").public_pem).type(), jwt_key_type::ed25519);
  EXPECT_FALSE(pem_key(test::make_key("ED25519").public_pem).can_sign());
  EXPECT_TRUE(pem_key(test::make_key("ED25519").private_pem).can_sign());
}

TEST(jwt_key, refuses_garbage_short_rsa_keys_and_other_curves) {
  EXPECT_EQ(jwt_key::from_pem("not a key").error().code, jwt_error::invalid_key);
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), small);
  EVP_PKEY_free(small);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  auto r = jwt_key::from_pem(std::string(data, static_cast<std::size_t>(len)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("2048"), std::string::npos) << r.error().detail;
  EXPECT_FALSE(jwt_key::from_pem(test::make_key("EC", "secp256k1").public_pem));
}

TEST(jwt_key, reads_a_pem_file) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("roost-jwt-key-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(file) << test::make_key("EC", "P-384").public_pem;
  auto key = jwt_key::from_pem_file(file);
  std::filesystem::remove(file);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->type(), jwt_key_type::ec_p384);
  EXPECT_EQ(jwt_key::from_pem_file(file).error().code, jwt_error::invalid_key);
}

TEST(jwt_key, an_hmac_secret_is_never_published_as_a_jwk) {
  EXPECT_TRUE(jwt_key::hmac("secret")->public_jwk().empty());
}

}  // namespace
