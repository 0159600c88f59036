#pragma once
/// \file W3C Trace Context (`traceparent`, `tracestate`), sans-I/O: the ids a traced message
/// carries in its headers, read and written as the Recommendation says.

#include <roost/headers.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roost {

/// The headers of W3C Trace Context. Every transport with headers carries them as it carries
/// `x-roost-deadline` (roost::headers: packet metadata, NATS headers, AMQP properties...).
inline constexpr std::string_view traceparent_header = "traceparent";
inline constexpr std::string_view tracestate_header = "tracestate";

using trace_id = std::array<std::uint8_t, 16>;
using span_id = std::array<std::uint8_t, 8>;

/// One span's place in a trace: what `traceparent` says (its trace, the span, the sampled
/// flag) and the vendors' `tracestate`, carried as it came.
struct trace_context {
  roost::trace_id trace{};
  roost::span_id span{};
  std::uint8_t flags = 0;  ///< bit 0: sampled (the caller records its spans)
  std::string state;       ///< `tracestate`, opaque; empty when none came

  bool sampled() const noexcept { return (flags & 1u) != 0; }
  friend bool operator==(const trace_context&, const trace_context&) = default;
};

/// Reads a `traceparent`: version 00 exactly (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase, 55
/// characters), a later version by its version 00 prefix (more text must follow a '-'), never
/// version ff. An all-zero trace or span id is invalid. nullopt for anything else: the message
/// then starts a new trace.
std::optional<trace_context> parse_traceparent(std::string_view text) noexcept;

/// `00-<trace>-<span>-<flags>`, version 00.
std::string format_traceparent(const trace_context& c);

/// The trace context of a message's headers (`tracestate` joins the values of every
/// `tracestate` header with ','); nullopt without a valid `traceparent` (then `tracestate` is
/// ignored too, as the Recommendation asks).
std::optional<trace_context> read_trace_context(const headers& h);

/// Sets `traceparent` (and `tracestate` when `c` has one) in `h`, replacing what was there.
void write_trace_context(headers& h, const trace_context& c);

/// Lowercase hex of an id: 32 characters for a trace id, 16 for a span id.
std::string to_hex(const roost::trace_id& id);
std::string to_hex(const roost::span_id& id);

}  // namespace roost
