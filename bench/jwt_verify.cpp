// The cost of one roost::auth::jwt_verifier::verify per algorithm, for a JWT guard's budget:
//   jwt_verify ALG N [kept]   (ALG a JOSE name: HS256, RS256, PS256, ES256, ES384, EdDSA)
// Makes a key (RSA 2048, EC on the algorithm's curve, Ed25519, a 32-byte secret), signs one
// token with typical claims and verifies it N times, with the verifier's kept tokens off (every
// verification complete) or, given `kept`, on (the first verification complete, the others
// finding the token kept); prints the wall-clock time per verification. bench/jwt-instructions.sh
// runs it under callgrind, collecting inside verify() only, for instruction counts that do not
// depend on the machine's load.
#include <roost/auth/jwt_signer.hpp>
#include <roost/auth/jwt_verifier.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

using namespace roost::auth;

std::string private_pem(jwt_algorithm alg) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case jwt_algorithm::es256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case jwt_algorithm::es384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case jwt_algorithm::es512:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
      break;
    case jwt_algorithm::eddsa:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    default:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!key || !bio ||
      !PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    std::abort();
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

int main(int argc, char** argv) {
  const auto alg = argc == 3 || argc == 4 ? parse_jwt_algorithm(argv[1]) : std::nullopt;
  if (!alg) {
    std::fprintf(stderr, "usage: jwt_verify ALG N [kept]\n");
    return 2;
  }
  const long n = std::atol(argv[2]);
  const bool hmac =
      alg == jwt_algorithm::hs256 || alg == jwt_algorithm::hs384 || alg == jwt_algorithm::hs512;
  const jwt_key key = hmac ? jwt_key::hmac("0123456789abcdef0123456789abcdef").value()
                           : jwt_key::from_pem(private_pem(*alg)).value();
  const roost::json::object claims{{"sub", "user-1"},      {"iss", "https://id.example"},
                                   {"aud", "orders"},      {"iat", 1'700'000'000},
                                   {"exp", 4'102'444'800}, {"scope", "orders:read orders:write"}};
  const std::string token = jwt_signer(key, *alg, "k1").sign(claims).value();
  jwt_rules rules;
  rules.algorithms = {*alg};
  rules.issuers = {"https://id.example"};
  rules.audiences = {"orders"};
  rules.verified_cache_size = argc == 4 && std::string(argv[3]) == "kept" ? 1024 : 0;
  jwt_key_set keys;
  keys.add(key, "k1");
  const jwt_verifier verifier(rules, keys);

  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    if (!verifier.verify(token)) std::abort();
  }
  const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  std::printf("%s\t%ld\t%zu\t%.2f\n", argv[1], n, token.size(), n ? took.count() / n : 0.0);
}
