#pragma once
// AMQP topic matching as NestJS's ServerRMQ does it for `wildcards` (matchRmqPattern).

#include <string_view>

namespace roost::rmq::detail {

/// True when handler route `pattern` (words split on '.', `*` one word, `#` the rest of the
/// key, as its last word only) matches `key`, the pattern of a message. An empty key matches
/// `#` alone. Like NestJS's matcher, a `#` that is not the last word matches nothing.
bool topic_matches(std::string_view pattern, std::string_view key);

/// Whether a handler route is a wildcard one (has a `*` or a `#`).
bool is_wildcard(std::string_view route) noexcept;

}  // namespace roost::rmq::detail
