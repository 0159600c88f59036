#include <roost/log.hpp>

#include <roost/detail/log_format.hpp>
#include <roost/trace_context.hpp>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost {

namespace detail {
struct source_levels {
  std::vector<std::pair<std::string, log_level>> rules;  ///< later rules win
};

/// Writes the default logger's lines to stderr, with fields.
struct line_writer {
  log_format format = log_format::human;
  bool colour = false;

  void write(log_level level, std::string_view source, std::string_view message,
             std::span<const log_field> fields) const {
    const log_record r{std::chrono::system_clock::now(), level, source, message,
                       static_cast<long>(::getpid()),    fields};
    const auto line = format == log_format::json ? format_json(r) : format_human(r, colour);
    // One write per line keeps lines from different threads whole.
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
};
}  // namespace detail

namespace {

std::string_view env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string_view(v) : std::string_view{};
}

// Every default logger reads the same environment, so a bad value is worth one line per
// process, not one per logger (each transport's options hold one). It goes through the sink,
// so a JSON Lines stream stays JSON.
void report_once(std::atomic<bool>& reported, const logger::sink& sink, const std::string& error) {
  if (!error.empty() && !reported.exchange(true)) sink(log_level::warn, "logger", error);
}

logger::sink stderr_sink(std::shared_ptr<const detail::line_writer> lines) {
  return [lines](log_level level, std::string_view source, std::string_view message) {
    lines->write(level, source, message, {});
  };
}

log_level lowest(log_level fallback, const detail::source_levels* per_source) {
  auto floor = fallback;
  if (per_source) {
    for (const auto& [name, level] : per_source->rules) floor = std::min(floor, level);
  }
  return floor;
}

}  // namespace

logger::logger() : level_(log_level::info), floor_(log_level::info) {
  static std::atomic<bool> level_reported{false};
  static std::atomic<bool> format_reported{false};
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const auto format = detail::choose_log_format(env("ROOST_LOG_FORMAT"), terminal);
  lines_ = std::make_shared<const detail::line_writer>(
      detail::line_writer{format.format, terminal && format.format == detail::log_format::human});
  sink_ = stderr_sink(lines_);
  report_once(format_reported, sink_, format.error);

  auto levels = detail::parse_level_spec(env("ROOST_LOG_LEVEL"));
  report_once(level_reported, sink_, levels.error);
  level_ = levels.spec.fallback;
  if (!levels.spec.per_source.empty()) {
    per_source_ = std::make_shared<const detail::source_levels>(
        detail::source_levels{std::move(levels.spec.per_source)});
  }
  floor_ = lowest(level_, per_source_.get());
}

logger::logger(log_level level, sink s) : level_(level), floor_(level), sink_(std::move(s)) {}

logger logger::with_level(std::string_view source, log_level level) const {
  auto rules = per_source_ ? per_source_->rules : decltype(detail::source_levels::rules){};
  rules.emplace_back(std::string(source), level);
  logger copy = *this;
  copy.per_source_ =
      std::make_shared<const detail::source_levels>(detail::source_levels{std::move(rules)});
  copy.floor_ = lowest(level_, copy.per_source_.get());
  return copy;
}

log_level logger::level_of(std::string_view source) const noexcept {
  // The rule naming the source exactly wins over one naming its first word; among equals, the
  // later one.
  std::optional<log_level> exact, word;
  for (const auto& [name, level] : per_source_->rules) {
    if (name.size() == source.size() && detail::source_matches(name, source)) {
      exact = level;
    } else if (detail::source_matches(name, source)) {
      word = level;
    }
  }
  return exact ? *exact : word ? *word : level_;
}

void logger::write(log_level level, std::string_view source, std::string_view message) const {
  if (per_source_ && level < level_of(source)) return;
  if (sink_) sink_(level, source, message);
}

void logger::write(log_level level, std::string_view source, std::string_view message,
                   const trace_context* trace) const {
  if (!trace) return write(level, source, message);
  if (per_source_ && level < level_of(source)) return;
  const auto trace_id = to_hex(trace->trace);
  const auto span_id = to_hex(trace->span);
  if (lines_) {
    const detail::log_field fields[] = {{"trace_id", trace_id}, {"span_id", span_id}};
    lines_->write(level, source, message, fields);
  } else if (sink_) {
    sink_(level, source, std::string(message) + " trace_id=" + trace_id + " span_id=" + span_id);
  }
}

logger logger::silent() {
  return logger(log_level::off, {});
}

}  // namespace roost
