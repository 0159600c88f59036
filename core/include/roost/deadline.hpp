#pragma once
/// \file The deadline a caller gives a request, carried in its headers (a roost extension).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace roost {

/// The header that carries a request's deadline: the absolute time, in milliseconds since the
/// Unix epoch (decimal), after which the caller no longer waits for the reply. Absolute rather
/// than a remaining time, because a request may wait in a broker's queue for an unknown time
/// before a server takes it: only an absolute time tells the server how much is left. The cost
/// is that clocks must agree (NTP keeps them within milliseconds of each other). NestJS peers
/// ignore the header; gRPC carries its own deadline (`grpc-timeout`), which roost reads too.
inline constexpr std::string_view deadline_header = "x-roost-deadline";

/// A point in time of a deadline.
using deadline_point = std::chrono::system_clock::time_point;

/// The text of `deadline_header` for `d`.
std::string format_deadline(deadline_point d);

/// The deadline in a header's text; nullopt for text that is not a whole number of milliseconds.
std::optional<deadline_point> parse_deadline(std::string_view text) noexcept;

}  // namespace roost
