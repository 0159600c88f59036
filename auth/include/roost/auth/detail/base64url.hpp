#pragma once
/// \file Base64url without padding (RFC 4648 §5), as JOSE uses it.

#include <optional>
#include <string>
#include <string_view>

namespace roost::auth::detail {

std::string base64url_encode(std::string_view bytes);
/// The bytes of a canonical base64url text: alphabet `A-Z a-z 0-9 - _`, no padding, no
/// whitespace, unused trailing bits zero; nullopt for anything else, so that one token has
/// one spelling.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace roost::auth::detail
