#pragma once
// The steps every jwt_guard takes, whatever gives it its verifier (a fixed one, or a
// jwks_source that may fetch keys first): find the token, judge the verifier's answer.

#include <roost/auth/jwt_error.hpp>
#include <roost/auth/jwt_guard.hpp>
#include <roost/context.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string_view>

namespace roost::auth::detail {

/// The bearer token of the headers, else of options.payload_field; nullopt (logged at debug)
/// when there is none.
std::optional<std::string_view> guard_token(const context& ctx, const jwt_guard_options& o);

/// The guard's decision on a verification: a refused token or a missing scope is logged (warn)
/// and denied; accepted claims are attached to the context for jwt_claims().
bool guard_admit(context& ctx, const jwt_guard_options& o, jwt_result<json::object> claims);

}  // namespace roost::auth::detail
