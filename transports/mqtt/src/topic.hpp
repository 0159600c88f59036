#pragma once
// MQTT topic filters as NestJS's ServerMqtt matches them to a message's topic.

#include <string_view>

namespace roost::mqtt::detail {

/// `filter` without a leading `$share/GROUP/` (a shared subscription's prefix, which the broker
/// strips from the topics it delivers).
std::string_view without_share_prefix(std::string_view filter) noexcept;

/// True when a filter has a wildcard (`+` or `#`) or a `$share/` prefix: a handler found by
/// matching rather than by its exact route.
bool is_filter(std::string_view route) noexcept;

/// Whether `topic` matches `filter` (NestJS's matchMqttPattern): `+` a level that is not
/// empty, `#` (last) this level and every one below, the rest exactly.
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace roost::mqtt::detail
