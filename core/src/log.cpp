#include <roost/log.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace roost {
namespace {

log_level level_from_env() {
  const char* v = std::getenv("ROOST_LOG_LEVEL");
  if (!v) return log_level::info;
  const std::string_view s(v);
  if (s == "debug") return log_level::debug;
  if (s == "warn") return log_level::warn;
  if (s == "error") return log_level::error;
  if (s == "off") return log_level::off;
  return log_level::info;
}

std::string_view name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "DEBUG";
    case log_level::info:
      return "LOG";
    case log_level::warn:
      return "WARN";
    case log_level::error:
      return "ERROR";
    case log_level::off:
      break;
  }
  return "";
}

void write_stderr(log_level level, std::string_view source, std::string_view message) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  const auto lvl = name(level);
  // One fprintf per line keeps lines from different threads whole.
  std::fprintf(stderr, "[roost] %s %5.*s [%.*s] %.*s\n", stamp, static_cast<int>(lvl.size()),
               lvl.data(), static_cast<int>(source.size()), source.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace

logger::logger() : level_(level_from_env()), sink_(write_stderr) {}

logger::logger(log_level level, sink s) : level_(level), sink_(std::move(s)) {}

void logger::log(log_level level, std::string_view source, std::string_view message) const {
  if (enabled(level) && sink_) sink_(level, source, message);
}

logger logger::silent() {
  return logger(log_level::off, {});
}

}  // namespace roost
