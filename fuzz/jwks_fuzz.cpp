// libFuzzer target for roost::auth::jwt_key_set::from_jwks, the JWKS document reader (and
// through it jwt_key::from_jwk and OpenSSL's key import). Checked, besides the sanitizers: any
// bytes give a key set or a failure, and a key set's public keys written as a JWKS document read
// back to as many keys, the same document again.
#include <roost/auth/jwt_key_set.hpp>

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using roost::auth::jwt_key_set;
  auto set = jwt_key_set::from_jwks(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!set) return 0;
  const auto published = set->public_jwks();
  auto again = jwt_key_set::from_jwks(boost::json::serialize(published));
  if (!again || again->size() != published.at("keys").as_array().size() ||
      again->public_jwks() != published)
    std::abort();
  return 0;
}
