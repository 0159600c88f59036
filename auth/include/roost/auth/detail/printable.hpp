#pragma once
// Text from a token, made safe to put in a failure's detail: failures end up in logs, and a
// token's `alg` or `kid` is whatever its sender wrote.

#include <string>
#include <string_view>

namespace roost::auth::detail {

/// `s` in single quotes, cut to 64 bytes (with "..."), bytes outside printable ASCII, and the
/// quote and backslash, written as \xNN.
std::string printable(std::string_view s);

}  // namespace roost::auth::detail
