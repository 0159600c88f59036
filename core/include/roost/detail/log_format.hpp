#pragma once
/// \file The default logger's line formats and its ROOST_LOG_* settings, sans-I/O: everything
/// here builds or parses strings, nothing writes.

#include <roost/log.hpp>

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::detail {

/// One key and value added to a line after the message (trace and request ids, later).
using log_field = std::pair<std::string_view, std::string_view>;

/// What one log line says.
struct log_record {
  std::chrono::system_clock::time_point time;
  log_level level = log_level::info;
  std::string_view source;
  std::string_view message;
  long pid = 0;
  std::span<const log_field> fields;
};

enum class log_format { human, json };

/// `[roost] 2026-12-07 18:50:20 LOG [tcp server] message`, local time, NestJS-like; with
/// `colour`, ANSI colours as NestJS uses them. Control characters are escaped (`\n`, `\x1b`) and
/// invalid UTF-8 replaced by U+FFFD, so a line is one line and cannot drive the terminal.
/// Ends with '\n'.
std::string format_human(const log_record& r, bool colour);

/// One JSON object and '\n': time (RFC 3339, UTC, milliseconds), level, source, message, pid,
/// then the fields. Strings are escaped; invalid UTF-8 is replaced by U+FFFD.
std::string format_json(const log_record& r);

/// Appends `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

/// "2026-12-07T18:50:20.123Z".
std::string rfc3339_utc_millis(std::chrono::system_clock::time_point t);

/// ROOST_LOG_LEVEL: a default level and levels per source.
struct level_spec {
  log_level fallback = log_level::info;
  std::vector<std::pair<std::string, log_level>> per_source;
};

struct level_spec_result {
  level_spec spec;
  std::string error;  ///< empty when the text was good; otherwise `spec` is the default
};

/// Parses "info" or "warn,tcp=debug,kafka=error" (a default level, then `source=level` pairs;
/// either part may be left out). Levels: debug, info, warn, error, off.
level_spec_result parse_level_spec(std::string_view text);

struct log_format_result {
  log_format format = log_format::human;
  std::string error;  ///< empty when the text was good
};

/// ROOST_LOG_FORMAT: human, json or auto (or unset/empty: auto). auto is human when stderr is
/// a terminal, JSON Lines otherwise.
log_format_result choose_log_format(std::string_view text, bool stderr_is_terminal);

/// Whether a per-source rule named `rule` covers `source`: the same name, or the first word of
/// it ("tcp" covers "tcp server" and "tcp client"). ASCII case is ignored.
bool source_matches(std::string_view rule, std::string_view source) noexcept;

}  // namespace roost::detail
