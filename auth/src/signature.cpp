#include "signature.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

namespace roost::auth::detail {
namespace {

const unsigned char* bytes(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

const EVP_MD* digest(jwt_algorithm alg) noexcept {
  switch (alg) {
    case jwt_algorithm::hs256:
    case jwt_algorithm::rs256:
    case jwt_algorithm::ps256:
    case jwt_algorithm::es256:
      return EVP_sha256();
    case jwt_algorithm::hs384:
    case jwt_algorithm::rs384:
    case jwt_algorithm::ps384:
    case jwt_algorithm::es384:
      return EVP_sha384();
    case jwt_algorithm::hs512:
    case jwt_algorithm::rs512:
    case jwt_algorithm::ps512:
    case jwt_algorithm::es512:
      return EVP_sha512();
    case jwt_algorithm::eddsa:
      return nullptr;  // Ed25519 hashes internally
  }
  return nullptr;
}

bool is_pss(jwt_algorithm alg) noexcept {
  return alg == jwt_algorithm::ps256 || alg == jwt_algorithm::ps384 || alg == jwt_algorithm::ps512;
}

// Bytes of r and of s in a JOSE ECDSA signature: the curve's field size.
std::size_t ec_coordinate(jwt_key_type type) noexcept {
  switch (type) {
    case jwt_key_type::ec_p256:
      return 32;
    case jwt_key_type::ec_p384:
      return 48;
    case jwt_key_type::ec_p521:
      return 66;
    default:
      return 0;
  }
}

std::optional<std::string> hmac(const jwt_key_impl& key, jwt_algorithm alg,
                                std::string_view input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(digest(alg), key.secret.data(), static_cast<int>(key.secret.size()), bytes(input),
            input.size(), out, &len))
    return std::nullopt;
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Sets up `ctx` for signing or verifying with the key's algorithm and padding.
bool init(EVP_MD_CTX* ctx, const jwt_key_impl& key, jwt_algorithm alg, bool sign) {
  EVP_PKEY_CTX* pctx = nullptr;
  const int ok = sign ? EVP_DigestSignInit(ctx, &pctx, digest(alg), nullptr, key.pkey.get())
                      : EVP_DigestVerifyInit(ctx, &pctx, digest(alg), nullptr, key.pkey.get());
  if (ok != 1) return false;
  if (is_pss(alg)) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest(alg)) != 1)
      return false;
  }
  return true;
}

// JOSE r||s to the DER SEQUENCE OpenSSL verifies.
std::optional<std::string> ecdsa_to_der(std::string_view jose, std::size_t half) {
  if (jose.size() != 2 * half) return std::nullopt;
  ecdsa_sig_ptr sig(ECDSA_SIG_new());
  bn_ptr r(BN_bin2bn(bytes(jose), static_cast<int>(half), nullptr));
  bn_ptr s(BN_bin2bn(bytes(jose) + half, static_cast<int>(half), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// OpenSSL's DER signature to JOSE r||s, each padded to the field size.
std::optional<std::string> der_to_ecdsa(std::string_view der, std::size_t half) {
  const unsigned char* p = bytes(der);
  ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  std::string out(2 * half, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, static_cast<int>(half)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + half, static_cast<int>(half)) < 0)
    return std::nullopt;
  return out;
}

}  // namespace

bool verify_signature(const jwt_key_impl& key, jwt_algorithm alg, std::string_view input,
                      std::string_view signature) {
  if (key.type == jwt_key_type::hmac) {
    const auto expected = hmac(key, alg, input);
    return expected && expected->size() == signature.size() &&
           CRYPTO_memcmp(expected->data(), signature.data(), signature.size()) == 0;
  }
  std::optional<std::string> der;
  if (const std::size_t half = ec_coordinate(key.type)) {
    der = ecdsa_to_der(signature, half);
    if (!der) return false;
    signature = *der;
  }
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  const bool ok = ctx && init(ctx.get(), key, alg, false) &&
                  EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(input),
                                   input.size()) == 1;
  // A failed verification leaves reasons on OpenSSL's per-thread queue; nobody reads them.
  ERR_clear_error();
  return ok;
}

std::optional<std::string> create_signature(const jwt_key_impl& key, jwt_algorithm alg,
                                            std::string_view input) {
  if (key.type == jwt_key_type::hmac) return hmac(key, alg, input);
  if (!key.has_private) return std::nullopt;
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || !init(ctx.get(), key, alg, true) ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes(input), input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string out(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, bytes(input),
                     input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  out.resize(len);
  if (const std::size_t half = ec_coordinate(key.type)) return der_to_ecdsa(out, half);
  return out;
}

}  // namespace roost::auth::detail
