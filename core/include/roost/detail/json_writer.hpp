#pragma once

#include <roost/json.hpp>

#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>

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

/// `write_json` into a new string.
std::string to_json(json::value const& v);

/// Appends JavaScript's `String(d)` (ECMAScript Number::toString): the shortest digits that
/// round-trip, in plain notation for 1e-6 <= |d| < 1e21 and as `1e+21`, `1.5e-7` otherwise;
/// `-0` is `0`, and NaN and infinities are `NaN`, `Infinity` and `-Infinity`.
void write_js_number(double d, std::string& out);

/// Parses one JSON document as `json::parse` does, except that every double is correctly
/// rounded, as JavaScript's `JSON.parse` does it (Boost 1.81's own conversion is off by an ulp
/// for several percent of 17-digit inputs), and numbers beyond the double range become
/// +/-infinity or +/-0 like in JavaScript. On failure returns null and sets `ec`; never throws
/// on bad input (only `std::bad_alloc`). Boost's parser recurses once per nesting level, so keep
/// `options.max_depth` modest (the default is 32).
json::value parse_json(std::string_view text, json::error_code& ec, json::storage_ptr sp = {},
                       json::parse_options const& options = {});

/// Like parse_json, for a document followed by other text: parses the one value at the start
/// of `text` (and the whitespace after it) and sets `used` to the characters it took. Anything
/// after them is left for the caller (no `extra_data` error).
json::value parse_json_prefix(std::string_view text, std::size_t& used, json::error_code& ec,
                              json::storage_ptr sp = {}, json::parse_options const& options = {});

}  // namespace roost::detail
