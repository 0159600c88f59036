#pragma once
/// \file Writing JSON as JavaScript writes it (reading it is json_reader.hpp).

#include <roost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace roost::detail {

/// Appends `v` to `out` byte for byte as JavaScript's `JSON.stringify(v)` writes it: compact,
/// object members in stored order, strings escaped like `JSON.stringify` (`\"` `\\` `\b` `\f`
/// `\n` `\r` `\t`, other bytes below 0x20 as `\u00xx`, everything else, `/` and non-ASCII
/// included, copied raw), doubles as JavaScript's `String(n)`, NaN and infinities as `null`.
/// int64 and uint64 values are written exactly in decimal (a JavaScript reader rounds them to
/// the same double it would get from its own output). Bytes that are not valid UTF-8 are copied
/// unchanged. Never throws except `std::bad_alloc`; does not recurse, so any depth is fine.
void write_json(json::value const& v, std::string& out);

/// Appends the string `s` as `write_json` writes a JSON string holding it.
void write_json_string(std::string_view s, std::string& out);

/// Appends a number as `write_json` writes a JSON value holding it (a double: NaN and
/// infinities as `null`).
void write_json_number(double d, std::string& out);
void write_json_integer(std::int64_t i, std::string& out);
void write_json_integer(std::uint64_t u, std::string& out);

/// `write_json` into a new string.
std::string to_json(json::value const& v);

/// Appends JavaScript's `String(d)` (ECMAScript Number::toString): the shortest digits that
/// round-trip, in plain notation for 1e-6 <= |d| < 1e21 and as `1e+21`, `1.5e-7` otherwise;
/// `-0` is `0`, and NaN and infinities are `NaN`, `Infinity` and `-Infinity`.
void write_js_number(double d, std::string& out);

}  // namespace roost::detail
