#pragma once
/// \file Reading JSON as JavaScript reads it (writing it is json_writer.hpp).

#include <roost/json.hpp>

#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roost::detail {

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
/// after them is left for the caller (no `extra_data` error). The values most payloads are
/// take read_simple_json's path.
json::value parse_json_prefix(std::string_view text, std::size_t& used, json::error_code& ec,
                              json::storage_ptr sp = {}, json::parse_options const& options = {});

/// The values most payloads are, read without the general parser, whose set-up alone costs
/// more than reading them does: a number written as a plain integer of at most 18 digits, a
/// string of printable ASCII without escapes, `true`, `false`, `null`, and an array of at most
/// 64 of those (not nested), with whitespace around them. Stores into `out` (in its storage)
/// the same value as parse_json_prefix's general parser (kinds included: such integers are
/// int64), sets the same `used` and returns true; returns false, `out` unchanged, for any other
/// text, which that parser decides (tests and the packet fuzzer compare them).
bool read_simple_json(std::string_view text, std::size_t& used, json::value& out);

/// Whether read_simple_json would read the value at the start of `text`, without storing it:
/// sets `used` as it would. What decode_inbound leaves as text for a typed handler.
bool is_simple_json(std::string_view text, std::size_t& used);

/// A whole text of read_simple_json's set read straight into a handler's parameter type, with
/// no json::value between: true, with `out` set to what converting read_simple_json's value
/// gives (roost/detail/payload.hpp), when the text holds a value of the type's own kind (a
/// plain integer for the numbers, in range; a string; a boolean; an array of them); false
/// otherwise (`out` unspecified), for the caller to take the general path, which decides the
/// rest (conversions, errors) as it always did.
bool read_simple_as(std::string_view text, double& out);
bool read_simple_as(std::string_view text, int& out);
bool read_simple_as(std::string_view text, long& out);
bool read_simple_as(std::string_view text, long long& out);
bool read_simple_as(std::string_view text, bool& out);
bool read_simple_as(std::string_view text, std::string& out);
bool read_simple_as(std::string_view text, std::vector<double>& out);
bool read_simple_as(std::string_view text, std::vector<int>& out);
bool read_simple_as(std::string_view text, std::vector<long>& out);
bool read_simple_as(std::string_view text, std::vector<long long>& out);
bool read_simple_as(std::string_view text, std::vector<std::string>& out);

/// read_simple_as for a text that is_simple_json accepted whole (its `used` the text's size), as
/// decode_inbound leaves `data_text`: the same result, without testing the grammar again (only
/// the elements' kinds and ranges). Integer arrays, whose grammar costs most to test; other
/// types take read_simple_as. Any other text: false or a wrong value, never a read outside it.
bool read_checked_as(std::string_view text, std::vector<double>& out);
bool read_checked_as(std::string_view text, std::vector<int>& out);
bool read_checked_as(std::string_view text, std::vector<long>& out);
bool read_checked_as(std::string_view text, std::vector<long long>& out);

}  // namespace roost::detail
