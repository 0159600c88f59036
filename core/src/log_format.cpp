#include <roost/detail/log_format.hpp>

#include <cstdint>
#include <ctime>
#include <optional>

namespace roost::detail {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr char hex[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence at the start of `s`, or 0 with `bad` set to the length
// of its longest valid-looking prefix (at least 1): that many bytes become one U+FFFD, as
// Unicode recommends ("maximal subpart").
std::size_t utf8_sequence(std::string_view s, std::size_t& bad) noexcept {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (std::size_t i = 1; i < need; ++i) {
    const auto b = i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
    const bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      bad = i;
      return 0;
    }
  }
  return need;
}

// A control character as the code point it is: C0, DEL, or C1 (U+0080..U+009F, two bytes).
std::optional<unsigned> control(std::string_view seq) noexcept {
  const auto b0 = static_cast<unsigned char>(seq[0]);
  if (seq.size() == 1 && (b0 < 0x20 || b0 == 0x7F)) return b0;
  if (seq.size() == 2 && b0 == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0) {
    return static_cast<unsigned char>(seq[1]);
  }
  return std::nullopt;
}

// Walks `s`, copying valid UTF-8, replacing invalid bytes, and handing control characters and
// the characters in `special` to `escape`.
template <class Escape>
void sanitize(std::string& out, std::string_view s, std::string_view special, Escape escape) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t bad = 0;
    const auto n = utf8_sequence(s.substr(i), bad);
    if (n == 0) {
      out += replacement;
      i += bad;
      continue;
    }
    const auto seq = s.substr(i, n);
    if (auto c = control(seq)) {
      escape(out, *c);
    } else if (n == 1 && special.find(seq[0]) != std::string_view::npos) {
      escape(out, static_cast<unsigned char>(seq[0]));
    } else {
      out += seq;
    }
    i += n;
  }
}

void append_human_text(std::string& out, std::string_view s) {
  sanitize(out, s, {}, [](std::string& o, unsigned c) {
    switch (c) {
      case '\n':
        o += "\\n";
        return;
      case '\r':
        o += "\\r";
        return;
      case '\t':
        o += '\t';  // harmless on a terminal, and common in messages
        return;
      default:
        o += "\\x";
        o += hex[c >> 4];
        o += hex[c & 0xF];
    }
  });
}

std::string_view human_name(log_level l) {
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

std::string_view json_name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::off:
      break;
  }
  return "off";
}

// NestJS's colours: the level's for "[roost]", the level and the message; yellow for the source.
std::string_view colour_of(log_level l) {
  switch (l) {
    case log_level::debug:
      return "\x1b[95m";
    case log_level::warn:
      return "\x1b[33m";
    case log_level::error:
      return "\x1b[31m";
    default:
      return "\x1b[32m";
  }
}
constexpr std::string_view yellow = "\x1b[33m";
constexpr std::string_view plain = "\x1b[39m";

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<log_level> level_named(std::string_view s) noexcept {
  if (iequals(s, "debug")) return log_level::debug;
  if (iequals(s, "info")) return log_level::info;
  if (iequals(s, "warn")) return log_level::warn;
  if (iequals(s, "error")) return log_level::error;
  if (iequals(s, "off")) return log_level::off;
  return std::nullopt;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  sanitize(out, s, "\"\\", [](std::string& o, unsigned c) {
    switch (c) {
      case '"':
        o += "\\\"";
        return;
      case '\\':
        o += "\\\\";
        return;
      case '\n':
        o += "\\n";
        return;
      case '\r':
        o += "\\r";
        return;
      case '\t':
        o += "\\t";
        return;
      default:
        o += "\\u00";
        o += hex[c >> 4];
        o += hex[c & 0xF];
    }
  });
  out += '"';
}

std::string rfc3339_utc_millis(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto secs = floor<seconds>(ms);
  const auto millis = (ms - secs).count();
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
  return out;
}

std::string format_human(const log_record& r, bool colour) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(r.time);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char stamp[32];
  const auto stamp_size = std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  const auto name = human_name(r.level);
  const auto on = colour ? colour_of(r.level) : std::string_view{};
  const auto off = colour ? plain : std::string_view{};

  std::string out;
  out.reserve(48 + r.source.size() + r.message.size());
  out += on;
  out += "[roost]";
  out += off;
  out += ' ';
  out.append(stamp, stamp_size);
  out += ' ';
  out.append(name.size() < 5 ? 5 - name.size() : 0, ' ');  // levels right-aligned, as NestJS
  out += on;
  out += name;
  out += off;
  out += ' ';
  if (colour) out += yellow;
  out += '[';
  append_human_text(out, r.source);
  out += ']';
  out += off;
  out += ' ';
  out += on;
  append_human_text(out, r.message);
  out += off;
  for (const auto& [key, value] : r.fields) {
    out += ' ';
    append_human_text(out, key);
    out += '=';
    append_human_text(out, value);
  }
  out += '\n';
  return out;
}

std::string format_json(const log_record& r) {
  std::string out;
  out.reserve(96 + r.source.size() + r.message.size());
  out += "{\"time\":\"";
  out += rfc3339_utc_millis(r.time);
  out += "\",\"level\":\"";
  out += json_name(r.level);
  out += "\",\"source\":";
  append_json_string(out, r.source);
  out += ",\"message\":";
  append_json_string(out, r.message);
  out += ",\"pid\":";
  out += std::to_string(r.pid);
  for (const auto& [key, value] : r.fields) {
    out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
  }
  out += "}\n";
  return out;
}

level_spec_result parse_level_spec(std::string_view text) {
  level_spec_result result;
  auto fail = [&](std::string why) {
    result.spec = {};
    result.error = "ROOST_LOG_LEVEL=\"" + std::string(text) + "\": " + why + "; using info for all";
    return result;
  };
  if (trim(text).empty()) return result;
  bool default_seen = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    const auto item = trim(text.substr(start, end - start));
    start = end + 1;
    if (item.empty()) return fail("an empty entry");
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      const auto level = level_named(item);
      if (!level) return fail("\"" + std::string(item) + "\" is not debug|info|warn|error|off");
      if (default_seen) return fail("two default levels");
      default_seen = true;
      result.spec.fallback = *level;
      continue;
    }
    const auto source = trim(item.substr(0, eq));
    const auto value = trim(item.substr(eq + 1));
    if (source.empty()) return fail("\"" + std::string(item) + "\" names no source");
    const auto level = level_named(value);
    if (!level) {
      return fail("\"" + std::string(value) + "\" (for " + std::string(source) +
                  ") is not debug|info|warn|error|off");
    }
    result.spec.per_source.emplace_back(std::string(source), *level);
  }
  return result;
}

log_format_result choose_log_format(std::string_view text, bool stderr_is_terminal) {
  const auto automatic = stderr_is_terminal ? log_format::human : log_format::json;
  const auto t = trim(text);
  if (t.empty() || iequals(t, "auto")) return {automatic, {}};
  if (iequals(t, "human")) return {log_format::human, {}};
  if (iequals(t, "json")) return {log_format::json, {}};
  return {automatic,
          "ROOST_LOG_FORMAT=\"" + std::string(text) + "\" is not human|json|auto; using auto"};
}

bool source_matches(std::string_view rule, std::string_view source) noexcept {
  if (iequals(rule, source)) return true;
  return source.size() > rule.size() && source[rule.size()] == ' ' &&
         iequals(rule, source.substr(0, rule.size()));
}

}  // namespace roost::detail
