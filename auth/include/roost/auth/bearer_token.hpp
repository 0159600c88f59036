#pragma once
/// \file The bearer token of a message's headers (RFC 6750 §2.1).

#include <roost/headers.hpp>

#include <optional>
#include <string_view>

namespace roost::auth {

/// The token of the first `authorization` header (name in any case, as NestJS clients set
/// metadata keys freely) whose scheme is `Bearer` (in any case) followed by spaces and a token;
/// nullopt when there is none. The view points into `h`.
std::optional<std::string_view> bearer_token(const roost::headers& h) noexcept;

/// The token of one `authorization` value, `Bearer <token>`; nullopt for another scheme or
/// no token.
std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept;

}  // namespace roost::auth
