#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/jwt_key.hpp>

#include <roost/auth/detail/printable.hpp>
#include "jwt_key_impl.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace roost::auth {
namespace detail {

jwt_key_impl::~jwt_key_impl() {
  OPENSSL_cleanse(secret.data(), secret.size());
}

jwt_key_type key_type_for(jwt_algorithm alg) noexcept {
  switch (alg) {
    case jwt_algorithm::hs256:
    case jwt_algorithm::hs384:
    case jwt_algorithm::hs512:
      return jwt_key_type::hmac;
    case jwt_algorithm::rs256:
    case jwt_algorithm::rs384:
    case jwt_algorithm::rs512:
    case jwt_algorithm::ps256:
    case jwt_algorithm::ps384:
    case jwt_algorithm::ps512:
      return jwt_key_type::rsa;
    case jwt_algorithm::es256:
      return jwt_key_type::ec_p256;
    case jwt_algorithm::es384:
      return jwt_key_type::ec_p384;
    case jwt_algorithm::es512:
      return jwt_key_type::ec_p521;
    case jwt_algorithm::eddsa:
      return jwt_key_type::ed25519;
  }
  return jwt_key_type::hmac;
}

}  // namespace detail

namespace {

using detail::jwt_key_impl;
using detail::pkey_ptr;

// RSA keys below this size are refused, as jsonwebtoken 9 (NestJS's JwtModule) does.
constexpr int min_rsa_bits = 2048;

struct curve {
  jwt_key_type type;
  std::string_view jose;   // JWK `crv`
  const char* openssl;     // group name
  std::size_t coordinate;  // bytes of x, y, r and s
};
constexpr curve curves[] = {
    {jwt_key_type::ec_p256, "P-256", "prime256v1", 32},
    {jwt_key_type::ec_p384, "P-384", "secp384r1", 48},
    {jwt_key_type::ec_p521, "P-521", "secp521r1", 66},
};

jwt_failure invalid(std::string detail) {
  return {jwt_error::invalid_key, std::move(detail)};
}

// OpenSSL leaves its reasons on a per-thread queue; a failed parse must not leave them for the
// next unrelated call to find.
std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(" (") + buf + ")";
}

jwt_result<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return invalid("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The type of an OpenSSL key, or a failure for kinds and sizes roost does not verify with.
jwt_result<jwt_key_type> classify(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < min_rsa_bits)
        return invalid("RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey)) +
                       " bits; at least 2048 are needed");
      return jwt_key_type::rsa;
    case EVP_PKEY_ED25519:
      return jwt_key_type::ed25519;
    case EVP_PKEY_EC: {
      char group[64] = {};
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         nullptr) == 1) {
        for (const auto& c : curves)
          if (std::string_view(group) == c.openssl) return c.type;
      }
      return invalid(std::string("EC key on curve '") + group +
                     "'; P-256, P-384 and P-521 are supported");
    }
  }
  return invalid("key type not supported (RSA, EC, Ed25519 are)");
}

int no_password(char*, int, int, void*) {
  return -1;
}

const curve* find_curve(jwt_key_type type) {
  for (const auto& c : curves)
    if (c.type == type) return &c;
  return nullptr;
}

jwt_result<std::string> member_bytes(const json::object& jwk, std::string_view name) {
  const auto* v = jwk.if_contains(name);
  if (!v || !v->is_string())
    return invalid("JWK without string member '" + std::string(name) + "'");
  auto bytes = detail::base64url_decode(v->get_string());
  if (!bytes || bytes->empty())
    return invalid("JWK member '" + std::string(name) + "' is not base64url");
  return std::move(*bytes);
}

jwt_result<pkey_ptr> pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  detail::params_ptr params(OSSL_PARAM_BLD_to_param(bld));
  detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return invalid(std::string("JWK does not make a ") + type + " key" + openssl_reason());
  pkey_ptr pkey(raw);
  // fromdata takes the numbers as given; a point off its curve would make verification
  // meaningless (invalid-curve attacks), so the key is checked here once.
  detail::pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return invalid(std::string("JWK is not a valid ") + type + " public key" + openssl_reason());
  return pkey;
}

jwt_result<pkey_ptr> rsa_from_jwk(const json::object& jwk) {
  auto n = member_bytes(jwk, "n");
  if (!n) return n.error();
  auto e = member_bytes(jwk, "e");
  if (!e) return e.error();
  detail::bn_ptr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                                static_cast<int>(n->size()), nullptr));
  detail::bn_ptr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                                static_cast<int>(e->size()), nullptr));
  detail::param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
    return invalid("RSA JWK" + openssl_reason());
  return pkey_from_params("RSA", bld.get());
}

jwt_result<pkey_ptr> ec_from_jwk(const json::object& jwk, const curve& c) {
  auto x = member_bytes(jwk, "x");
  if (!x) return x.error();
  auto y = member_bytes(jwk, "y");
  if (!y) return y.error();
  if (x->size() != c.coordinate || y->size() != c.coordinate)
    return invalid("EC JWK coordinates must be " + std::to_string(c.coordinate) + " bytes on " +
                   std::string(c.jose));
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  detail::param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, c.openssl, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size()))
    return invalid("EC JWK" + openssl_reason());
  return pkey_from_params("EC", bld.get());
}

jwt_result<pkey_ptr> ed25519_from_jwk(const json::object& jwk) {
  auto x = member_bytes(jwk, "x");
  if (!x) return x.error();
  if (x->size() != 32) return invalid("Ed25519 JWK 'x' must be 32 bytes");
  pkey_ptr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  if (!pkey) return invalid("Ed25519 JWK" + openssl_reason());
  return pkey;
}

std::string bn_param(EVP_PKEY* pkey, const char* name, std::size_t pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  detail::bn_ptr bn(raw);
  std::string out(pad ? pad : static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
               static_cast<int>(out.size()));
  return detail::base64url_encode(out);
}

}  // namespace

jwt_result<jwt_key> jwt_key::hmac(std::string_view secret) {
  if (secret.empty()) return invalid("empty HMAC secret");
  auto impl = std::make_shared<jwt_key_impl>();
  impl->type = jwt_key_type::hmac;
  impl->secret.assign(secret);
  impl->has_private = true;
  return jwt_key(std::move(impl));
}

jwt_result<jwt_key> jwt_key::hmac_from_file(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return text.error();
  auto key = hmac(*text);
  OPENSSL_cleanse(text->data(), text->size());
  return key;
}

jwt_result<jwt_key> jwt_key::hmac_from_env(const char* variable) {
  const char* value = std::getenv(variable);
  if (!value) return invalid(std::string("environment variable ") + variable + " is not set");
  return hmac(value);
}

jwt_result<jwt_key> jwt_key::from_pem(std::string_view pem) {
  auto load = [&](bool private_key) -> pkey_ptr {
    detail::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return nullptr;
    // Never the default password callback, which would prompt on a terminal.
    return pkey_ptr(private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr)
                                : PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr));
  };
  bool has_private = false;
  pkey_ptr pkey = load(false);
  if (!pkey) {
    ERR_clear_error();
    pkey = load(true);
    has_private = true;
  }
  if (!pkey) return invalid("not a PEM public or private key" + openssl_reason());
  ERR_clear_error();
  auto type = classify(pkey.get());
  if (!type) return type.error();
  auto impl = std::make_shared<jwt_key_impl>();
  impl->type = *type;
  impl->pkey = std::move(pkey);
  impl->has_private = has_private;
  return jwt_key(std::move(impl));
}

jwt_result<jwt_key> jwt_key::from_pem_file(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return text.error();
  return from_pem(*text);
}

jwt_result<jwt_key> jwt_key::from_jwk(const json::object& jwk) {
  const auto* kty = jwk.if_contains("kty");
  if (!kty || !kty->is_string()) return invalid("JWK without 'kty'");
  const std::string_view type = kty->get_string();
  std::optional<jwt_algorithm> only;
  if (const auto* alg = jwk.if_contains("alg")) {
    if (alg->is_string()) only = parse_jwt_algorithm(alg->get_string());
    if (!only) return invalid("JWK 'alg' is not a signature algorithm roost verifies");
  }
  auto impl = std::make_shared<jwt_key_impl>();
  if (type == "oct") {
    auto k = member_bytes(jwk, "k");
    if (!k) return k.error();
    impl->type = jwt_key_type::hmac;
    impl->secret = std::move(*k);
    impl->has_private = true;
  } else {
    jwt_result<pkey_ptr> pkey = invalid("JWK 'kty' " + detail::printable(type) + " not supported");
    if (type == "RSA") {
      pkey = rsa_from_jwk(jwk);
    } else if (type == "EC" || type == "OKP") {
      const auto* crv = jwk.if_contains("crv");
      const std::string_view name =
          crv && crv->is_string() ? std::string_view(crv->get_string()) : "";
      if (type == "OKP" && name == "Ed25519") {
        pkey = ed25519_from_jwk(jwk);
      } else if (type == "EC") {
        pkey = invalid("EC JWK 'crv' " + detail::printable(name) + " not supported");
        for (const auto& c : curves)
          if (c.jose == name) pkey = ec_from_jwk(jwk, c);
      } else {
        pkey = invalid("OKP JWK 'crv' " + detail::printable(name) + " not supported (Ed25519 is)");
      }
    }
    if (!pkey) return pkey.error();
    auto kind = classify(pkey->get());
    if (!kind) return kind.error();
    impl->type = *kind;
    impl->pkey = std::move(*pkey);
  }
  if (only && detail::key_type_for(*only) != impl->type)
    return invalid("JWK 'alg' " + std::string(to_string(*only)) + " does not fit its 'kty'");
  impl->only = only;
  return jwt_key(std::move(impl));
}

jwt_key_type jwt_key::type() const noexcept {
  return impl_->type;
}

bool jwt_key::accepts(jwt_algorithm alg) const noexcept {
  return detail::key_type_for(alg) == impl_->type && (!impl_->only || *impl_->only == alg);
}

bool jwt_key::can_sign() const noexcept {
  return impl_->has_private;
}

json::object jwt_key::public_jwk() const {
  json::object jwk;
  EVP_PKEY* pkey = impl_->pkey.get();
  switch (impl_->type) {
    case jwt_key_type::hmac:
      return jwk;
    case jwt_key_type::rsa:
      jwk["kty"] = "RSA";
      jwk["n"] = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
      jwk["e"] = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
      break;
    case jwt_key_type::ec_p256:
    case jwt_key_type::ec_p384:
    case jwt_key_type::ec_p521: {
      const curve& c = *find_curve(impl_->type);
      jwk["kty"] = "EC";
      jwk["crv"] = c.jose;
      jwk["x"] = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, c.coordinate);
      jwk["y"] = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, c.coordinate);
      break;
    }
    case jwt_key_type::ed25519: {
      unsigned char raw[32];
      std::size_t len = sizeof raw;
      EVP_PKEY_get_raw_public_key(pkey, raw, &len);
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = detail::base64url_encode({reinterpret_cast<const char*>(raw), len});
      break;
    }
  }
  jwk["use"] = "sig";
  if (impl_->only) jwk["alg"] = to_string(*impl_->only);
  return jwk;
}

}  // namespace roost::auth
