#pragma once
/// \file roost::logger: where roost's own log lines go.

#include <functional>
#include <string_view>

namespace roost {

enum class log_level { debug, info, warn, error, off };

/// A small, copyable log sink. The default writes NestJS-like lines to stderr; give it your
/// own function to route roost's lines into your logging library. Thread-safe as long as the
/// function is.
class logger {
 public:
  using sink = std::function<void(log_level, std::string_view source, std::string_view message)>;

  /// Logs to stderr at `level` and above; the level comes from ROOST_LOG_LEVEL
  /// (debug|info|warn|error|off) when set.
  logger();
  logger(log_level level, sink s);

  bool enabled(log_level level) const noexcept {
    return level >= level_ && level_ != log_level::off;
  }
  void log(log_level level, std::string_view source, std::string_view message) const;
  void debug(std::string_view source, std::string_view m) const {
    log(log_level::debug, source, m);
  }
  void info(std::string_view source, std::string_view m) const { log(log_level::info, source, m); }
  void warn(std::string_view source, std::string_view m) const { log(log_level::warn, source, m); }
  void error(std::string_view source, std::string_view m) const {
    log(log_level::error, source, m);
  }

  /// A logger that drops everything (tests, benchmarks).
  static logger silent();

 private:
  log_level level_;
  sink sink_;
};

}  // namespace roost
