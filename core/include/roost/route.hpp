#pragma once

#include <roost/json.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace roost {

/// Turns message patterns into routes exactly as NestJS does (`transformPatternToRoute`).
/// Holds an ICU root collator; const member functions are safe to call from several threads.
///
/// A route is: a string pattern as is; a number as JavaScript's `String(n)` (integers beyond
/// 2^53 are first rounded to a double, as a JavaScript peer holds them); an object or array as
/// `{"key":value,...}` with keys in `localeCompare` order, arrays keyed by index, keys and
/// string values escaped only for `\` and `"`; nested objects deeper than 5 levels below the
/// top as `[MAX_DEPTH_REACHED]` and objects with more than 20 keys as `[TOO_MANY_KEYS]`.
/// A top-level `true`, `false` or `null` gives `"true"`, `"false"` or `"null"`; NestJS keeps
/// those as non-string map keys, so the string handler `"true"` that NestJS can never reach is
/// reachable here. Both never throw on any input (except `std::bad_alloc`).
class route_normalizer {
 public:
  /// The ICU root collator is opened on the first comparison of keys that are not all
  /// lower-case ASCII letters and digits (without ICU collation data, such keys sort by bytes).
  route_normalizer();
  ~route_normalizer();
  /// A moved-from normalizer may only be destroyed or assigned to.
  route_normalizer(route_normalizer&&) noexcept;
  route_normalizer& operator=(route_normalizer&&) noexcept;

  /// route of a pattern as a handler registers it or a client sends it
  std::string route(json::value const& pattern) const;

  /// route a server looks up for an incoming pattern (getRouteFromPattern): a string that parses
  /// as JSON is normalized as the parsed value, anything else as itself. Like NestJS, which
  /// calls `JSON.parse(pattern)` on any value, an array whose `String(array)` is JSON (`[1]`,
  /// `["{\"a\":1}"]`) is looked up as that parsed value.
  std::string lookup_route(json::value const& pattern) const;

  /// orders two object keys as JavaScript's a.localeCompare(b) with the root locale: <0, 0, >0
  int compare_keys(std::string_view a, std::string_view b) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace roost
