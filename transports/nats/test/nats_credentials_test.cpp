// Reading .creds and seed files, and the nonce signer that stands in for nats.c's (sans I/O but
// for the temporary key files).
#include "credentials.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace roost::nats::detail {
namespace {

// A user NKey seed: 32 bytes 1, 2, ... 32, encoded.
constexpr const char* seed = "SUAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CQ";

const std::string creds =
    "-----BEGIN NATS USER JWT-----\n"
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n"
    "------END NATS USER JWT------\n"
    "\n"
    "************************* IMPORTANT *************************\n"
    "NKEY Seed printed below can be used to sign and prove identity.\n"
    "NKEYs are sensitive and should be treated as secrets.\n"
    "\n"
    "-----BEGIN USER NKEY SEED-----\n" +
    std::string(seed) +
    "\n"
    "------END USER NKEY SEED------\n"
    "\n"
    "*************************************************************\n";

TEST(nats_credentials, framed_values_of_a_creds_file) {
  EXPECT_EQ(framed_value(creds, 0), "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln");
  EXPECT_EQ(framed_value(creds, 1), seed);
  EXPECT_EQ(framed_value(creds, 2), "");
  EXPECT_EQ(user_seed(creds, 1), seed);
}

TEST(nats_credentials, line_ends_blank_lines_and_bare_seeds) {
  // Written on another system: CRLF line ends and blank lines inside the frames.
  const std::string crlf =
      "-----BEGIN NATS USER JWT-----\r\n\r\n  a.b.c  \r\n\r\n"
      "------END NATS USER JWT------\r\n"
      "-----BEGIN USER NKEY SEED-----\r\nSUXYZ\r\n"
      "------END USER NKEY SEED------\r\n";
  EXPECT_EQ(framed_value(crlf, 0), "a.b.c");
  EXPECT_EQ(framed_value(crlf, 1), "SUXYZ");
  // A seed file holds the seed alone, perhaps after a comment.
  EXPECT_EQ(user_seed("# my key\n   SUABC \n", 0), "SUABC");
  EXPECT_EQ(user_seed("nothing here\n", 0), "");
  // A lone frame line is no frame.
  EXPECT_EQ(framed_value("-----BEGIN NATS USER JWT-----\na.b.c\n", 0), "");
}

class temp_file {
 public:
  explicit temp_file(const std::string& content) {
    char tmpl[] = "/tmp/roost-nats-creds-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = tmpl;
    std::ofstream(path_) << content;
  }
  ~temp_file() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What nats.c itself would sign.
std::string library_signature(const std::string& nonce) {
  unsigned char* sig = nullptr;
  int n = 0;
  if (nats_Sign(seed, nonce.c_str(), &sig, &n) != NATS_OK) return "nats_Sign failed";
  std::string out(reinterpret_cast<const char*>(sig), static_cast<std::size_t>(n));
  std::free(sig);
  return out;
}

// Nonces whose signature by `seed` begins with a zero byte (one in 256 does; found by trying
// "nonce-0", "nonce-1", ...) and with another byte. The tests check that it is so.
constexpr const char* zero_led_nonce = "nonce-271";
constexpr const char* plain_nonce = "nonce-0";

TEST(nats_credentials, signs_the_nonce_as_the_library_does) {
  const temp_file file(std::string("  ") + seed + "\n");
  signer s(signer::kind::nkey, file.path(), true);
  const std::string nonce = plain_nonce;
  ASSERT_NE(library_signature(nonce).at(0), '\0');
  std::string sig, error;
  ASSERT_EQ(s.sign(nonce.c_str(), sig, error), NATS_OK) << error;
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_EQ(sig, library_signature(nonce));
  EXPECT_EQ(s.refused(), 0u);
  // No nonce: the server asked for no signature.
  ASSERT_EQ(s.sign(nullptr, sig, error), NATS_OK);
  EXPECT_TRUE(sig.empty());
}

TEST(nats_credentials, refuses_a_signature_the_library_would_drop) {
  const temp_file file(std::string(seed) + "\n");
  const std::string nonce = zero_led_nonce;
  ASSERT_EQ(library_signature(nonce).at(0), '\0');
  std::string sig, error;
  signer refusing(signer::kind::nkey, file.path(), true);
  EXPECT_EQ(refusing.sign(nonce.c_str(), sig, error), NATS_ERR);
  EXPECT_TRUE(sig.empty());
  EXPECT_NE(error.find("zero byte"), std::string::npos) << error;
  EXPECT_EQ(refusing.refused(), 1u);
  // A library that encodes it right gets it as it is.
  signer passing(signer::kind::nkey, file.path(), false);
  ASSERT_EQ(passing.sign(nonce.c_str(), sig, error), NATS_OK) << error;
  EXPECT_EQ(sig, library_signature(nonce));
  EXPECT_EQ(passing.refused(), 0u);
  // nats.c 3.4.1 is the one we build against: it must be known to drop them.
  if (nats_GetVersionNumber() < 0x030800) {
    EXPECT_TRUE(library_drops_zero_led_signatures());
  }
}

TEST(nats_credentials, creds_file_gives_jwt_and_seed) {
  const temp_file file(creds);
  signer s(signer::kind::creds, file.path(), true);
  std::string jwt, error;
  ASSERT_EQ(s.user_jwt(jwt, error), NATS_OK) << error;
  EXPECT_EQ(jwt, "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln");
  const std::string nonce = plain_nonce;
  std::string sig;
  ASSERT_EQ(s.sign(nonce.c_str(), sig, error), NATS_OK) << error;
  EXPECT_EQ(sig, library_signature(nonce));
}

TEST(nats_credentials, missing_and_empty_files_say_which) {
  signer missing(signer::kind::creds, "/nonexistent/roost.creds", true);
  std::string out, error;
  EXPECT_NE(missing.user_jwt(out, error), NATS_OK);
  EXPECT_NE(error.find("/nonexistent/roost.creds"), std::string::npos) << error;
  EXPECT_NE(missing.sign("n", out, error), NATS_OK);
  EXPECT_NE(error.find("/nonexistent/roost.creds"), std::string::npos) << error;
  const temp_file empty("\n");
  signer no_seed(signer::kind::nkey, empty.path(), true);
  EXPECT_NE(no_seed.sign("n", out, error), NATS_OK);
  EXPECT_NE(error.find("no user NKey seed"), std::string::npos) << error;
  signer no_jwt(signer::kind::creds, empty.path(), true);
  EXPECT_NE(no_jwt.user_jwt(out, error), NATS_OK);
  EXPECT_NE(error.find("no user JWT"), std::string::npos) << error;
}

TEST(nats_credentials, an_unframed_file_is_the_jwt_alone) {
  const temp_file file("\n  a.b.c\n");
  signer s(signer::kind::creds, file.path(), true);
  std::string jwt, error;
  ASSERT_EQ(s.user_jwt(jwt, error), NATS_OK) << error;
  EXPECT_EQ(jwt, "a.b.c");
}

}  // namespace
}  // namespace roost::nats::detail
