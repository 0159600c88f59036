#pragma once
/// \file roost::logger: where roost's own log lines go.

#include <functional>
#include <memory>
#include <string_view>

namespace roost {

enum class log_level { debug, info, warn, error, off };

struct trace_context;
namespace detail {
struct source_levels;
struct line_writer;
}  // namespace detail

/// A small, copyable log sink. The default writes to stderr; give it your own function to
/// route roost's lines into your logging library. Thread-safe as long as the function is.
class logger {
 public:
  using sink = std::function<void(log_level, std::string_view source, std::string_view message)>;

  /// Logs to stderr. ROOST_LOG_LEVEL sets the levels: `info`, or a default then levels per
  /// source, `warn,tcp=debug,kafka=error` (debug|info|warn|error|off). ROOST_LOG_FORMAT:
  /// `human` (NestJS-like lines), `json` (JSON Lines) or `auto` (the default: human when
  /// stderr is a terminal, JSON otherwise). A bad value is reported once and ignored.
  logger();
  logger(log_level level, sink s);

  /// A copy that logs `source` at `level` instead of the default; a name also covers the
  /// sources it is the first word of ("tcp" covers "tcp server" and "tcp client").
  logger with_level(std::string_view source, log_level level) const;

  /// Whether any source logs at `level`: the one comparison when no per-source levels are set.
  bool enabled(log_level level) const noexcept {
    return level >= floor_ && floor_ != log_level::off;
  }
  /// Whether `source` logs at `level`.
  bool enabled(log_level level, std::string_view source) const noexcept {
    return enabled(level) && (!per_source_ || level >= level_of(source));
  }
  /// A line below every level costs the inline comparison alone, not a call.
  void log(log_level level, std::string_view source, std::string_view message) const {
    if (enabled(level)) write(level, source, message);
  }
  void debug(std::string_view source, std::string_view m) const {
    log(log_level::debug, source, m);
  }
  void info(std::string_view source, std::string_view m) const { log(log_level::info, source, m); }
  void warn(std::string_view source, std::string_view m) const { log(log_level::warn, source, m); }
  void error(std::string_view source, std::string_view m) const {
    log(log_level::error, source, m);
  }
  /// A line about a traced message or call (context::trace()): with its `trace_id` and
  /// `span_id` (JSON Lines fields; `trace_id=... span_id=...` at the end of a human line and of
  /// what a sink of your own gets). Without a trace, as the line above.
  void log(log_level level, std::string_view source, std::string_view message,
           const trace_context* trace) const {
    if (enabled(level)) write(level, source, message, trace);
  }

  /// A logger that drops everything (tests, benchmarks).
  static logger silent();

 private:
  log_level level_of(std::string_view source) const noexcept;
  void write(log_level level, std::string_view source, std::string_view message) const;
  void write(log_level level, std::string_view source, std::string_view message,
             const trace_context* trace) const;

  log_level level_;  ///< the default level
  log_level floor_;  ///< the lowest level any source logs at
  std::shared_ptr<const detail::source_levels> per_source_;  ///< null when none are set
  sink sink_;
  /// The default logger's own formats, which write the trace fields apart; null with a sink
  /// of your own.
  std::shared_ptr<const detail::line_writer> lines_;
};

}  // namespace roost
