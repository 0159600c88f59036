#pragma once
// Keys made at test time with OpenSSL, as PEM text (the form applications configure).

#include <roost/auth/jwt_key.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace roost::auth::test {

struct pem_pair {
  std::string private_pem;
  std::string public_pem;
};

// `type` "RSA" (2048 bits), "EC" (with `curve` P-256/P-384/P-521) or "ED25519".
inline pem_pair make_key(const char* type, const char* curve = nullptr) {
  EVP_PKEY* raw = nullptr;
  if (std::string(type) == "RSA")
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  else if (curve)
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  else
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  if (!key) throw std::runtime_error(std::string("keygen failed: ") + type);
  auto write = [&](bool priv) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (priv)
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    else
      PEM_write_bio_PUBKEY(bio.get(), key.get());
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  };
  return {write(true), write(false)};
}

// The key of a PEM text, which the test expects to be valid.
inline jwt_key pem_key(const std::string& pem) {
  auto k = jwt_key::from_pem(pem);
  if (!k) ADD_FAILURE() << k.error().message();
  return *k;
}

}  // namespace roost::auth::test
