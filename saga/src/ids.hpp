#pragma once
// The clock, the ids and the JSON text of the saga module's rows.

#include <roost/json.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace roost::saga::detail {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A random (version 4) UUID.
inline std::string new_uuid() {
  std::random_device rd;
  std::array<std::uint32_t, 4> w{rd(), rd(), rd(), rd()};
  w[1] = (w[1] & 0xffff0fffu) | 0x00004000u;  // version 4
  w[2] = (w[2] & 0x3fffffffu) | 0x80000000u;  // variant 1
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%04x%08x", w[0], w[1] >> 16, w[1] & 0xffffu,
                w[2] >> 16, w[2] & 0xffffu, w[3]);
  return buf;
}

/// A JSON column's value; null for text that is not JSON (a row written by something else).
inline json::value parse_or_null(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value() : v;
}

}  // namespace roost::saga::detail
