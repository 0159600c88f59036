#include <roost/config.hpp>

#include <roost/adaptive_limit.hpp>
#include <roost/bulkhead.hpp>
#include <roost/circuit_breaker.hpp>
#include <roost/detail/log_format.hpp>
#include <roost/url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>

extern char** environ;

namespace roost {

namespace {

constexpr std::string_view unset = "(unset)";
constexpr std::string_view duration_text =
    "a duration: a whole number of milliseconds, or with a unit: 250ms, 10s, 2m";
constexpr std::string_view bool_text = "true or false (also 1/0, yes/no, on/off)";
constexpr std::string_view count_text = "a whole number, 0 or more";

// The one table: what is read, checked, printed and documented (docs/operations.md).
constexpr config_variable table[] = {
    {"ROOST_THREADS", "`microservice_options::threads`",
     "a whole number (0: one thread per hardware thread)", "0"},
    {"ROOST_DRAIN_TIMEOUT", "`microservice_options::drain_timeout`", duration_text, "10s"},
    {"ROOST_HANDLE_SIGNALS", "`microservice_options::handle_signals`", bool_text, "true"},
    {"ROOST_CONCURRENCY_LIMIT", "`microservice_options::concurrency_limit`",
     "off, or adaptive with settings: adaptive,max=200,min=8,initial=32,tolerance=1.25,window=100",
     "off"},
    {"ROOST_LOG_LEVEL", "the default logger's levels",
     "debug, info, warn, error or off, then levels per source: warn,tcp=debug", "info"},
    {"ROOST_LOG_FORMAT", "the default logger's format",
     "human, json or auto (human on a terminal, else json)", "auto"},
    {"ROOST_SERVER_URL", "`config::server_url()`: where the service serves",
     "a transport URL: tcp://0.0.0.0:3000, amqp://user:pass@host/?queue=orders", unset},
    {"ROOST_CLIENT_URL", "`config::client_url()`: where the service calls", "a transport URL",
     unset},
    {"ROOST_MAX_MESSAGE_SIZE", "`limits::max_message_size`", "a whole number of bytes (0: none)",
     "134217728"},
    {"ROOST_MAX_IN_FLIGHT", "`limits::max_in_flight`", "a whole number (0: no limit)", "0"},
    {"ROOST_MAX_IN_FLIGHT_PER_CONNECTION", "`limits::max_in_flight_per_connection`",
     "a whole number (0: no limit)", "0"},
    {"ROOST_MAX_CONNECTIONS", "`limits::max_connections`", "a whole number (0: no limit)", "0"},
    {"ROOST_CLIENT_TIMEOUT", "`client_options::default_timeout`", duration_text, "0"},
    {"ROOST_SEND_DEADLINE", "`client_options::send_deadline`", bool_text, "true"},
    {"ROOST_RETRY_MAX_ATTEMPTS", "`client_options::retry.max_attempts`",
     "a whole number, 1 or more (1: no retry)", "1"},
    {"ROOST_RETRY_INITIAL_BACKOFF", "`client_options::retry.initial_backoff`", duration_text,
     "50ms"},
    {"ROOST_RETRY_MAX_BACKOFF", "`client_options::retry.max_backoff`", duration_text, "2s"},
    {"ROOST_BREAKER_FAILURES",
     "`client_options::breaker`: a circuit breaker opening after this many failures",
     "a whole number (0: no breaker)", "0"},
    {"ROOST_BREAKER_OPEN_FOR", "the breaker's `open_for`", duration_text, "5s"},
    {"ROOST_BULKHEAD_MAX_IN_FLIGHT",
     "`client_options::bulkhead`: a bulkhead of this many calls in flight",
     "a whole number (0: no bulkhead)", "0"},
    {"ROOST_BULKHEAD_MAX_WAITING", "the bulkhead's `max_waiting`", count_text, "0"},
    {"ROOST_BULKHEAD_MAX_WAIT", "the bulkhead's `max_wait`", duration_text, "0"},
    {"ROOST_SIDE_PORT", "`monitor_options::side_port` (roost::observability)",
     "[address:]port, or off: 9464, 0.0.0.0:9464, [::]:9464", unset},
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "`otlp_options::endpoint`, `/v1/traces` added",
     "an http:// URL", unset},
    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "`otlp_options::endpoint`, as it is", "an http:// URL",
     unset},
    {"OTEL_SERVICE_NAME", "`otlp_options::service_name`", "a name", "unknown_service"},
    {"ROOST_CLIENT_ID", "the `roost` CLI's OAuth2 client id (--client-credentials)", "a text",
     unset},
    {"ROOST_CLIENT_SECRET", "the `roost` CLI's OAuth2 client secret", "a text", unset, true},
};

const config_variable* find(std::string_view name) {
  for (const auto& v : table) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::uint64_t> whole(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::chrono::milliseconds> duration(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  const auto n = whole(s.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string_view unit = s.substr(digits);
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else {
    return std::nullopt;
  }
  if (*n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / factor) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(*n * factor));
}

std::optional<bool> boolean(std::string_view s) {
  const std::string l = lower(s);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

bool is_duration(const config_variable& v) {
  return v.expected == duration_text;
}
bool is_bool(const config_variable& v) {
  return v.expected == bool_text;
}
bool is_count(const config_variable& v) {
  return v.expected.starts_with("a whole number");
}

// Why `value` is not one `v` takes, or empty.
std::string problem(const config_variable& v, const std::string& value) {
  bool ok = true;
  if (is_duration(v)) {
    ok = duration(value).has_value();
  } else if (is_bool(v)) {
    ok = boolean(value).has_value();
  } else if (is_count(v)) {
    const auto n = whole(value);
    ok = n && (v.name != "ROOST_RETRY_MAX_ATTEMPTS" || (*n >= 1 && *n <= 1000)) &&
         (v.name != "ROOST_THREADS" || *n <= 4096);
  } else if (v.name == "ROOST_LOG_LEVEL") {
    ok = detail::parse_level_spec(value).error.empty();
  } else if (v.name == "ROOST_LOG_FORMAT") {
    ok = detail::choose_log_format(value, false).error.empty();
  } else if (v.name == "ROOST_CONCURRENCY_LIMIT") {
    ok = adaptive_limit::parse(value).error.empty();
  } else if (v.name == "ROOST_SERVER_URL" || v.name == "ROOST_CLIENT_URL") {
    ok = url::parse(value).has_value();
  }
  if (ok) return {};
  std::string masked = config::mask(v.name, value);
  return std::string(v.name) + "=\"" + masked + "\": expected " + std::string(v.expected);
}

bool secret_name(std::string_view name) {
  const std::string n = lower(name);
  for (const char* word : {"secret", "token", "password", "passwd", "key"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

config::config(environment env) : env_(std::move(env)) {
  std::string errors;
  for (const auto& v : table) {
    auto it = env_.find(v.name);
    if (it == env_.end() || it->second.empty()) continue;
    if (auto p = problem(v, it->second); !p.empty()) errors += (errors.empty() ? "" : "\n") + p;
  }
  if (!errors.empty()) throw config_error(errors);
}

config config::from_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = entry.substr(0, eq);
    if (name.starts_with("ROOST_") || name.starts_with("OTEL_")) {
      env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
    }
  }
  return config(std::move(env));
}

std::span<const config_variable> config::variables() noexcept {
  return table;
}

std::optional<std::string> config::get(std::string_view name) const {
  auto it = env_.find(name);
  if (it == env_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

microservice_options config::apply(microservice_options opts) const {
  if (auto v = get("ROOST_THREADS")) opts.threads = static_cast<unsigned>(*whole(*v));
  if (auto v = get("ROOST_DRAIN_TIMEOUT")) opts.drain_timeout = *duration(*v);
  if (auto v = get("ROOST_HANDLE_SIGNALS")) opts.handle_signals = *boolean(*v);
  if (auto v = get("ROOST_CONCURRENCY_LIMIT")) {
    opts.concurrency_limit =
        adaptive_limit::parse(*v, opts.concurrency_limit.value_or(adaptive_limit::options{})).limit;
  }
  // ROOST_LOG_*: the default logger reads them itself (checked here); a logger the program
  // made of its own is left as it is.
  return opts;
}

client_options config::apply(client_options opts) const {
  if (auto v = get("ROOST_CLIENT_TIMEOUT")) opts.default_timeout = *duration(*v);
  if (auto v = get("ROOST_SEND_DEADLINE")) opts.send_deadline = *boolean(*v);
  if (auto v = get("ROOST_RETRY_MAX_ATTEMPTS"))
    opts.retry.max_attempts = static_cast<int>(*whole(*v));
  if (auto v = get("ROOST_RETRY_INITIAL_BACKOFF")) opts.retry.initial_backoff = *duration(*v);
  if (auto v = get("ROOST_RETRY_MAX_BACKOFF")) opts.retry.max_backoff = *duration(*v);
  if (auto v = get("ROOST_BREAKER_FAILURES"); v && *whole(*v) > 0) {
    circuit_breaker::options b;
    b.failure_threshold = static_cast<std::size_t>(*whole(*v));
    if (auto o = get("ROOST_BREAKER_OPEN_FOR")) b.open_for = *duration(*o);
    opts.breaker = std::make_shared<circuit_breaker>(b);
  }
  if (auto v = get("ROOST_BULKHEAD_MAX_IN_FLIGHT"); v && *whole(*v) > 0) {
    bulkhead::options b;
    b.max_in_flight = static_cast<std::size_t>(*whole(*v));
    if (auto w = get("ROOST_BULKHEAD_MAX_WAITING")) b.max_waiting = *whole(*w);
    if (auto w = get("ROOST_BULKHEAD_MAX_WAIT")) b.max_wait = *duration(*w);
    opts.bulkhead = std::make_shared<bulkhead>(b);
  }
  return opts;
}

limits config::apply(limits l) const {
  if (auto v = get("ROOST_MAX_MESSAGE_SIZE")) l.max_message_size = *whole(*v);
  if (auto v = get("ROOST_MAX_IN_FLIGHT")) l.max_in_flight = *whole(*v);
  if (auto v = get("ROOST_MAX_IN_FLIGHT_PER_CONNECTION")) {
    l.max_in_flight_per_connection = *whole(*v);
  }
  if (auto v = get("ROOST_MAX_CONNECTIONS")) l.max_connections = *whole(*v);
  return l;
}

std::string config::to_lines() const {
  std::string out;
  for (const auto& v : table) {
    const auto set = get(v.name);
    out += std::string(v.name) + "=" + (set ? mask(v.name, *set) : std::string(v.fallback)) + "\n";
  }
  return out;
}

std::string config::to_json() const {
  std::string out = "{";
  for (const auto& v : table) {
    const auto set = get(v.name);
    if (out.size() > 1) out += ",";
    detail::append_json_string(out, v.name);
    out += ":{\"value\":";
    if (set) {
      detail::append_json_string(out, mask(v.name, *set));
    } else if (v.fallback == unset) {
      out += "null";
    } else {
      detail::append_json_string(out, v.fallback);
    }
    out += set ? ",\"source\":\"environment\"}" : ",\"source\":\"default\"}";
  }
  return out + "}\n";
}

std::optional<int> config::print_if_asked(int argc, const char* const* argv, std::FILE* out) const {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a != "--print-config" && a != "--print-config=json" && a != "--print-config=lines") {
      continue;
    }
    const std::string text = a == "--print-config=json" ? to_json() : to_lines();
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
    return 0;
  }
  return std::nullopt;
}

std::optional<int> config::load(int argc, const char* const* argv, std::FILE* out) {
  try {
    *this = from_environment();
  } catch (const config_error& e) {
    std::fprintf(stderr, "bad configuration:\n%s\n", e.what());
    return 2;
  }
  return print_if_asked(argc, argv, out);
}

std::string config::mask(std::string_view name, std::string_view value) {
  constexpr std::string_view stars = "***";
  const auto* v = find(name);
  if ((v && v->secret) || secret_name(name)) return value.empty() ? "" : std::string(stars);
  const auto scheme_end = value.find("://");
  if (scheme_end == std::string_view::npos) return std::string(value);
  const std::string scheme = lower(value.substr(0, scheme_end));
  std::string out(value.substr(0, scheme_end + 3));
  std::string_view rest = value.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  // The user information is up to the last '@' (a password may hold one, escaped or not).
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = authority.substr(0, at);
    const auto colon = info.find(':');
    if (colon != std::string_view::npos) {
      out += std::string(info.substr(0, colon + 1)) + std::string(stars);
    } else if (scheme == "nats" || scheme == "tls") {
      out += stars;  // NATS's token form: nats://TOKEN@host
    } else {
      out += info;
    }
    out += authority.substr(at);
  } else {
    out += authority;
  }
  // Query values named like secrets: `password=`, `sasl.password=`, `token=`...
  const auto q = tail.find('?');
  out += tail.substr(0, q);
  if (q == std::string_view::npos) return out;
  out += '?';
  std::string_view query = tail.substr(q + 1);
  bool first = true;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && secret_name(pair.substr(0, eq)) &&
        lower(pair.substr(0, eq)) != "key") {  // `key`: a TLS key's file, not the key
      out += std::string(pair.substr(0, eq + 1)) + std::string(stars);
    } else {
      out += pair;
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out;
}

}  // namespace roost
