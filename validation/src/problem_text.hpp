#pragma once
/// \file valijson's error reports in roost's words (private to roost::validation).

#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost::validation::detail {

/// A description that our own constraints (type, pattern, format) report starts with this,
/// followed by the rule as it is to be shown ("type integer or null").
inline constexpr std::string_view own_rule = "roost:";

/// One error of valijson's as `<JSON Pointer>: <rule>[, got <value>]` (no pointer for the
/// payload itself), or nothing for an error that only says that a part failed (the part's own
/// error says how). `context` is valijson's path: "<root>", then "[name]" or "[index]".
std::optional<std::string> problem_text(const std::vector<std::string>& context,
                                        std::string_view description, const json::value& payload,
                                        std::size_t max_value_chars);

/// `v` as JSON text, cut to at most `max_chars` characters (UTF-8 sequences kept whole) with
/// "..." after.
std::string quoted_value(const json::value& v, std::size_t max_chars);

}  // namespace roost::validation::detail
