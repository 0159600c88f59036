#pragma once
// NKeys and JWTs made at test time with OpenSSL, for the authentication tests against nats-servers
// of the tests' own: a user NKey, and the operator -> account -> user chain a .creds file needs.
// The encodings are the NATS ones: an NKey is base32 (no padding) of a prefix byte, the 32 raw
// key bytes and a CRC-16/XMODEM, little-endian; a JWT is base64url (no padding) of a header and
// of the claims, and an Ed25519 signature of "header.claims" by the issuer's key.

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace roost::nats::test {

// NKey prefix bytes: what the first base32 letter of a public key says.
constexpr unsigned char operator_prefix = 14 << 3;  // "O..."
constexpr unsigned char account_prefix = 0;         // "A..."
constexpr unsigned char user_prefix = 20 << 3;      // "U..."
constexpr unsigned char seed_prefix = 18 << 3;      // "S..."

// Packs the bits of `in` into characters of `alphabet`, `bits` bits each, the last one padded
// with zero bits (base32 for NKeys, base64url for JWTs, both without '=' padding).
template <int bits, std::size_t n>
std::string pack_bits(std::string_view in, const char (&alphabet)[n]) {
  static_assert(n - 1 == (1u << bits));
  std::string out;
  unsigned buffer = 0;
  int held = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    held += 8;
    while (held >= bits) {
      out += alphabet[(buffer >> (held - bits)) & ((1u << bits) - 1)];
      held -= bits;
    }
  }
  if (held > 0) out += alphabet[(buffer << (bits - held)) & ((1u << bits) - 1)];
  return out;
}

inline std::string base32(const std::vector<unsigned char>& in) {
  return pack_bits<5>(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()),
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
}

inline std::string nkey_encode(std::vector<unsigned char> data) {
  unsigned crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<unsigned>(c) << 8;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
  }
  data.push_back(static_cast<unsigned char>(crc & 0xFF));
  data.push_back(static_cast<unsigned char>(crc >> 8));
  return base32(data);
}

inline std::string base64url(std::string_view in) {
  return pack_bits<6>(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

/// An Ed25519 key as an NKey of one kind (operator, account or user).
struct nkey {
  std::vector<unsigned char> seed;  ///< the 32-byte private key
  std::string public_key;           ///< "O...", "A..." or "U..."
  std::string encoded_seed;         ///< "SO...", "SA..." or "SU..."

  /// The raw 64-byte Ed25519 signature of `message`.
  std::string sign(std::string_view message) const {
    std::unique_ptr<EVP_PKEY, pkey_deleter> k(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    std::string sig(64, '\0');
    std::size_t n = sig.size();
    if (!k || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
      throw std::runtime_error("Ed25519 signing failed");
    }
    return sig;
  }
};

inline std::vector<unsigned char> random_seed() {
  std::vector<unsigned char> seed(32);
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1)
    throw std::runtime_error("no random bytes");
  return seed;
}

/// The NKey of `seed` with public-key prefix `prefix`.
inline nkey make_nkey(unsigned char prefix, std::vector<unsigned char> seed = random_seed()) {
  std::unique_ptr<EVP_PKEY, pkey_deleter> k(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  std::vector<unsigned char> pub(32);
  std::size_t n = pub.size();
  if (!k || EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &n) != 1)
    throw std::runtime_error("no Ed25519 key");
  std::vector<unsigned char> p{prefix};
  p.insert(p.end(), pub.begin(), pub.end());
  // The seed carries both prefixes: 5 bits of "seed", then the 5 bits of the key's kind.
  std::vector<unsigned char> s{static_cast<unsigned char>(seed_prefix | (prefix >> 5)),
                               static_cast<unsigned char>((prefix & 31) << 3)};
  s.insert(s.end(), seed.begin(), seed.end());
  nkey out{std::move(seed), nkey_encode(std::move(p)), nkey_encode(std::move(s))};
  return out;
}

/// A JWT of `claims` issued by `issuer`: sets `iss`, `iat` (unless given) and `jti` (an id
/// unique to the token, made as the NATS tools make theirs: base32 of a SHA-512/256; the
/// server does not check how).
inline std::string make_jwt(const nkey& issuer, boost::json::object claims) {
  claims["iss"] = issuer.public_key;
  if (!claims.contains("iat")) claims["iat"] = static_cast<std::int64_t>(std::time(nullptr));
  claims.erase("jti");
  const std::string unhashed = boost::json::serialize(claims);
  std::vector<unsigned char> hash(32);
  unsigned int hash_size = 0;
  if (EVP_Digest(unhashed.data(), unhashed.size(), hash.data(), &hash_size, EVP_sha512_256(),
                 nullptr) != 1)
    throw std::runtime_error("SHA-512/256 failed");
  claims["jti"] = base32(hash);
  const std::string signed_part = base64url(R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." +
                                  base64url(boost::json::serialize(claims));
  return signed_part + "." + base64url(issuer.sign(signed_part));
}

/// A .creds file: the user JWT and the user's seed in their frames.
inline std::string creds_text(const std::string& user_jwt, const std::string& user_seed) {
  return "-----BEGIN NATS USER JWT-----\n" + user_jwt +
         "\n------END NATS USER JWT------\n"
         "\n"
         "************************* IMPORTANT *************************\n"
         "NKEY Seed printed below can be used to sign and prove identity.\n"
         "NKEYs are sensitive and should be treated as secrets.\n"
         "\n"
         "-----BEGIN USER NKEY SEED-----\n" +
         user_seed +
         "\n------END USER NKEY SEED------\n"
         "\n"
         "*************************************************************\n";
}

}  // namespace roost::nats::test
