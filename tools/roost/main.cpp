// roost — the command-line client: call, stream, emit, listen and bench on any transport URL
// roost speaks; health and metrics of a roost service; record, replay and shadow the traffic of
// a NestJS service being moved to roost (migrate.hpp).
//   roost call tcp://127.0.0.1:3000 sum '[1,2,3]'
// Exit codes: 0 ok, 1 remote error (replay: a difference), 2 bad arguments, 3 timeout, 4
// connection failure, 5 no token from the OAuth2 token endpoint.

#include "load.hpp"
#include "migrate.hpp"
#include "probe.hpp"

#include <roost/auth/client_credentials.hpp>
#include <roost/auth/detail/base64url.hpp>
#include <roost/auth/oauth_error.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/microservice.hpp>
#include <roost/observability/monitor.hpp>
#include <roost/roost.hpp>
#include <roost/router.hpp>
#include <roost/transports.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace json = roost::json;

namespace {

enum exit_code {
  ok = 0,
  remote_error = 1,
  bad_arguments = 2,
  timed_out = 3,
  connection_failed = 4,
  no_token = 5
};

struct bad_argument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct common {
  std::string url, pattern, data = "";
  int timeout_ms = 10'000;
  std::vector<std::string> headers;
  std::string cacert, cert, key;
  bool insecure = false;
  std::string jwt;  // a token, or @file holding one
  // OAuth2 client credentials: the token endpoint, the client, what to ask for
  std::string token_url, client_id, client_secret, scope, audience, token_cacert;
};

// The token of --jwt (given inline or as @file), checked for the shape of a JWT: three
// base64url parts whose first two are JSON objects. An expired `exp` is only warned about: the
// service decides.
std::string read_jwt(const std::string& arg) {
  std::string token = arg;
  if (!arg.empty() && arg.front() == '@') {
    std::ifstream f(arg.substr(1), std::ios::binary);
    if (!f) throw bad_argument("cannot read " + arg.substr(1));
    token.assign(std::istreambuf_iterator<char>(f), {});
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos) {
    throw bad_argument("--jwt is not a JWT (header.payload.signature)");
  }
  json::value parts[2];
  const std::string_view views[2] = {std::string_view(token).substr(0, d1),
                                     std::string_view(token).substr(d1 + 1, d2 - d1 - 1)};
  for (int i = 0; i < 2; ++i) {
    auto text = roost::auth::detail::base64url_decode(views[i]);
    boost::system::error_code ec;
    if (text) parts[i] = json::parse(*text, ec);
    if (!text || ec || !parts[i].is_object()) {
      throw bad_argument(std::string("--jwt is not a JWT: its ") + (i ? "payload" : "header") +
                         " is not base64url JSON");
    }
  }
  if (const auto* exp = parts[1].as_object().if_contains("exp"); exp && exp->is_number()) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (exp->to_number<double>() < static_cast<double>(now)) {
      std::fprintf(stderr, "roost: warning: the --jwt token expired (exp is in the past)\n");
    }
  }
  return token;
}

// JSON from the argument itself, from a file (`@file.json`) or from stdin (`-` or nothing when
// stdin is not a terminal).
json::value read_data(const std::string& arg) {
  std::string text = arg;
  if (arg == "-" || (arg.empty() && !isatty(0))) {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else if (!arg.empty() && arg.front() == '@') {
    std::ifstream f(arg.substr(1), std::ios::binary);
    if (!f) throw bad_argument("cannot read " + arg.substr(1));
    text.assign(std::istreambuf_iterator<char>(f), {});
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw bad_argument("the data is not valid JSON: " + ec.message());
  return v;
}

// An object pattern is given as JSON (`'{"cmd":"sum"}'`); anything else is a string pattern.
json::value read_pattern(const std::string& p) {
  if (!p.empty() && p.front() == '{') {
    boost::system::error_code ec;
    auto v = json::parse(p, ec);
    if (ec || !v.is_object())
      throw bad_argument("the pattern looks like JSON but is not an object");
    return v;
  }
  return json::string(p);
}

// The flags go into the URL's query, where every transport reads them.
std::unique_ptr<roost::client_transport> make_transport(const common& c) {
  auto u = roost::url::parse(c.url);
  if (!u) throw bad_argument("not a transport URL: " + c.url);
  if (!roost::find_transport(u->scheme))
    throw bad_argument(roost::unknown_scheme_message(u->scheme));
  u->query.emplace_back("connectTimeout", std::to_string(c.timeout_ms));
  if (!c.cacert.empty()) u->query.emplace_back("ca", c.cacert);
  if (!c.cert.empty()) u->query.emplace_back("cert", c.cert);
  if (!c.key.empty()) u->query.emplace_back("key", c.key);
  if (c.insecure) u->query.emplace_back("verify", "false");
  auto log = roost::logger(
      roost::log_level::error, [](roost::log_level, std::string_view, std::string_view m) {
        std::fprintf(stderr, "roost: %.*s\n", static_cast<int>(m.size()), m.data());
      });
  auto t = roost::make_client(*u, std::move(log));
  if (!t) throw bad_argument("bad options in " + c.url);
  return std::move(*t);
}

// An access token from the token endpoint of --client-credentials (RFC 6749 §4.4). The id and
// secret come from the options or from ROOST_CLIENT_ID / ROOST_CLIENT_SECRET (which keep the
// secret out of the process list and the shell's history).
std::string fetch_token(const common& c) {
  roost::auth::client_credentials_options o;
  o.token_url = c.token_url;
  o.client_id = c.client_id;
  o.client_secret = c.client_secret;
  if (o.client_id.empty()) {
    if (const char* v = std::getenv("ROOST_CLIENT_ID")) o.client_id = v;
  }
  if (o.client_secret.empty()) {
    if (const char* v = std::getenv("ROOST_CLIENT_SECRET")) o.client_secret = v;
  }
  if (o.client_id.empty()) {
    throw bad_argument("--client-credentials needs --client-id (or ROOST_CLIENT_ID)");
  }
  o.scope = c.scope;
  o.audience = c.audience;
  o.http.tls.ca_file = c.token_cacert;
  o.http.timeout = std::chrono::milliseconds(c.timeout_ms);
  o.log = roost::logger::silent();
  std::optional<roost::auth::client_credentials> creds;
  try {
    creds.emplace(std::move(o));
  } catch (const roost::auth::oauth_error& e) {
    throw bad_argument(std::string("--client-credentials: ") + e.what());
  }
  boost::asio::io_context ioc;
  std::string token;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ioc, [&]() -> roost::awaitable<void> { token = co_await creds->token(); },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return token;
}

roost::call_options call_options_of(const common& c) {
  roost::call_options o{.timeout = std::chrono::milliseconds(c.timeout_ms)};
  if (!c.jwt.empty() && !c.token_url.empty()) {
    throw bad_argument("--jwt and --client-credentials cannot be used together");
  }
  if (!c.headers.empty() || !c.jwt.empty() || !c.token_url.empty()) {
    json::object md;
    for (const auto& h : c.headers) {
      auto eq = h.find('=');
      if (eq == std::string::npos) throw bad_argument("--header wants k=v, got " + h);
      md[h.substr(0, eq)] = h.substr(eq + 1);
    }
    // As an HTTP client sends it, and where NestJS guards usually look for it.
    if (!c.jwt.empty()) md["authorization"] = "Bearer " + read_jwt(c.jwt);
    if (!c.token_url.empty()) md["authorization"] = "Bearer " + fetch_token(c);
    o.metadata = std::move(md);
  }
  return o;
}

void pretty(std::ostream& os, const json::value& v, int indent = 0) {
  const std::string pad(indent, ' ');
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        os << "{}";
        return;
      }
      os << "{\n";
      std::size_t i = 0;
      for (const auto& kv : o) {
        os << pad << "  " << json::serialize(json::string(kv.key())) << ": ";
        pretty(os, kv.value(), indent + 2);
        os << (++i < o.size() ? ",\n" : "\n");
      }
      os << pad << "}";
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        os << "[]";
        return;
      }
      os << "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        os << pad << "  ";
        pretty(os, a[i], indent + 2);
        os << (i + 1 < a.size() ? ",\n" : "\n");
      }
      os << pad << "]";
      return;
    }
    default:
      os << roost::detail::to_json(v);
  }
}

void print(const json::value& v) {
  if (isatty(1)) {
    pretty(std::cout, v);
  } else {
    std::cout << roost::detail::to_json(v);
  }
  std::cout << std::endl;
}

int fail(exit_code code, const std::string& what) {
  std::cerr << "error: " << what << "\n";
  return code;
}

// Runs one client operation and maps its outcome to an exit code.
int run(const common& c, std::function<roost::awaitable<void>(roost::client_proxy&)> op) {
  boost::asio::io_context ioc;
  std::unique_ptr<roost::client_proxy> client;
  try {
    client = std::make_unique<roost::client_proxy>(ioc.get_executor(), make_transport(c));
  } catch (const bad_argument& e) {
    return fail(bad_arguments, e.what());
  } catch (const std::exception& e) {
    return fail(bad_arguments, e.what());
  }
  int rc = ok;
  boost::asio::co_spawn(ioc, op(*client), [&](std::exception_ptr e) {
    client->close();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const roost::rpc_error& x) {
      std::cerr << "error: remote: " << roost::detail::to_json(x.error()) << "\n";
      rc = remote_error;
    } catch (const roost::timeout_error&) {
      rc = fail(timed_out, "no reply within " + std::to_string(c.timeout_ms) + " ms");
    } catch (const roost::connection_error& x) {
      rc = fail(connection_failed, x.what());
    } catch (const bad_argument& x) {
      rc = fail(bad_arguments, x.what());
    } catch (const std::exception& x) {
      rc = fail(connection_failed, x.what());
    }
  });
  ioc.run();
  return rc;
}

// "10s", "500ms", "2m", or plain seconds.
std::chrono::milliseconds parse_duration(const std::string& text) {
  static const std::regex form(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, form)) throw bad_argument("not a duration: " + text);
  const double n = std::stod(m[1]);
  const std::string unit = m[2].matched ? m[2].str() : "s";
  const double ms = unit == "ms" ? n : unit == "s" ? n * 1e3 : unit == "m" ? n * 60e3 : n * 3600e3;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

struct bench_args {
  int concurrency = 16;
  int connections = 1;
  std::string duration = "10s";
  std::uint64_t requests = 0;
  bool json_out = false;
};

std::string bar(double fraction, int width) {
  const int n = static_cast<int>(fraction * width + 0.5);
  std::string s;
  for (int i = 0; i < n; ++i) s += "\u2588";
  return s;
}

void print_report_text(const roost::cli::load_report& r) {
  const double rps = r.seconds > 0 ? static_cast<double>(r.completed) / r.seconds : 0;
  const auto& h = r.latency;
  std::printf("requests   %llu in %.2f s, %.0f req/s, %llu errors\n",
              static_cast<unsigned long long>(r.completed), r.seconds, rps,
              static_cast<unsigned long long>(r.errors));
  std::printf("latency    p50 %llu us  p90 %llu us  p99 %llu us  p99.9 %llu us  max %llu us\n",
              static_cast<unsigned long long>(h.percentile(50)),
              static_cast<unsigned long long>(h.percentile(90)),
              static_cast<unsigned long long>(h.percentile(99)),
              static_cast<unsigned long long>(h.percentile(99.9)),
              static_cast<unsigned long long>(h.max()));
  // The histogram folded into at most 12 rows of equal ratio.
  const auto buckets = h.buckets();
  if (buckets.empty()) return;
  std::printf("histogram\n");
  const std::size_t rows = std::min<std::size_t>(12, buckets.size());
  const std::size_t per = (buckets.size() + rows - 1) / rows;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> folded;
  for (std::size_t i = 0; i < buckets.size(); i += per) {
    std::uint64_t n = 0, upper = 0;
    for (std::size_t j = i; j < std::min(buckets.size(), i + per); ++j) {
      n += buckets[j].second;
      upper = buckets[j].first;
    }
    folded.emplace_back(upper, n);
  }
  std::uint64_t most = 0;
  for (const auto& [u, n] : folded) most = std::max(most, n);
  for (const auto& [u, n] : folded) {
    const double share = static_cast<double>(n) / static_cast<double>(h.count());
    std::printf("  <= %8llu us %6.2f%% %s\n", static_cast<unsigned long long>(u), share * 100,
                bar(static_cast<double>(n) / static_cast<double>(most), 40).c_str());
  }
}

void print_report_json(const roost::cli::load_report& r, const bench_args& b) {
  const double rps = r.seconds > 0 ? static_cast<double>(r.completed) / r.seconds : 0;
  const auto& h = r.latency;
  json::array hist;
  for (const auto& [u, n] : h.buckets()) hist.push_back(json::array{u, n});
  json::object o{{"concurrency", b.concurrency},
                 {"connections", b.connections},
                 {"seconds", r.seconds},
                 {"requests", r.completed},
                 {"errors", r.errors},
                 {"rps", std::round(rps)},
                 {"p50_us", h.percentile(50)},
                 {"p90_us", h.percentile(90)},
                 {"p99_us", h.percentile(99)},
                 {"p999_us", h.percentile(99.9)},
                 {"max_us", h.max()},
                 {"histogram", std::move(hist)}};
  std::cout << roost::detail::to_json(o) << std::endl;
}

int bench(const common& c, const bench_args& b) {
  roost::cli::load_options o;
  auto u = roost::url::parse(c.url);
  if (!u) throw bad_argument("not a transport URL: " + c.url);
  o.target = *u;
  o.pattern = read_pattern(c.pattern);
  o.data = read_data(c.data);
  if (b.concurrency < 1 || b.connections < 1)
    throw bad_argument("--concurrency and --connections must be >= 1");
  o.concurrency = b.concurrency;
  o.connections = b.connections;
  o.duration = parse_duration(b.duration);
  if (b.requests > 0) o.requests = b.requests;
  o.timeout = std::chrono::milliseconds(c.timeout_ms);
  o.metadata = call_options_of(c).metadata;
  // Build one transport up front so a bad URL fails before the run.
  (void)make_transport(c);
  o.make_transport = [&c] { return make_transport(c); };
  // TLS and headers need the client transport: the lean engine speaks plain TCP only.
  o.lean_tcp =
      c.cacert.empty() && c.cert.empty() && c.key.empty() && !c.insecure && c.headers.empty();
  const bool live = isatty(2);
  auto progress = [&](const roost::cli::load_report& r) {
    if (!live) return;
    const double rps = r.seconds > 0 ? static_cast<double>(r.completed) / r.seconds : 0;
    std::fprintf(stderr, "\r%6.1f s  %9.0f req/s  %llu errors  p50 %llu us  p99 %llu us   ",
                 r.seconds, rps, static_cast<unsigned long long>(r.errors),
                 static_cast<unsigned long long>(r.latency.percentile(50)),
                 static_cast<unsigned long long>(r.latency.percentile(99)));
  };
  auto report = roost::cli::run_load(o, progress);
  if (live) std::fprintf(stderr, "\r%80s\r", "");
  if (!report.failure.empty() && report.completed == 0) {
    return fail(connection_failed, report.failure);
  }
  if (b.json_out) {
    print_report_json(report, b);
  } else {
    print_report_text(report);
  }
  if (!report.failure.empty()) return fail(connection_failed, report.failure);
  if (report.errors > 0) {
    return fail(remote_error, std::to_string(report.errors) + " of " +
                                  std::to_string(report.completed) + " requests failed");
  }
  return ok;
}

// Serves event handlers that print each event as one JSON line: {"pattern":...,"data":...}.
int listen(const std::string& url_text, const std::vector<std::string>& patterns, int count) {
  auto u = roost::url::parse(url_text);
  if (!u) throw bad_argument("not a transport URL: " + url_text);
  auto log = roost::logger(
      roost::log_level::warn, [](roost::log_level, std::string_view, std::string_view m) {
        std::fprintf(stderr, "roost: %.*s\n", static_cast<int>(m.size()), m.data());
      });
  if (!roost::find_transport(u->scheme))
    throw bad_argument(roost::unknown_scheme_message(u->scheme));
  auto transport = roost::make_server(*u, log);
  if (!transport) throw bad_argument("this roost cannot listen on " + url_text);
  roost::router r;
  roost::microservice app{r, {.threads = 1}};
  std::mutex m;
  int seen = 0;
  for (const auto& p : patterns) {
    auto pattern = read_pattern(p);
    r.event(pattern, [&, pattern](json::value data) {
      std::lock_guard lock(m);
      json::object line{{"pattern", pattern}, {"data", std::move(data)}};
      std::cout << roost::detail::to_json(line) << std::endl;
      if (count > 0 && ++seen == count) app.stop();
    });
  }
  app.add_transport(std::move(*transport));
  // ROOST_SIDE_PORT opens the side port (/healthz, /readyz, /metrics), as for any service.
  roost::observability::monitor watch(app);
  app.on_ready([&] { std::fprintf(stderr, "listening on %s\n", url_text.c_str()); });
  return app.run() == 0 ? ok : connection_failed;
}

// `roost health` (readiness, or liveness with --live) and `roost metrics`: 0 when the side
// port answers 200, 1 when it answers otherwise (not ready), 4 when it does not answer.
int side_port(const std::string& url, std::string_view path, int timeout_ms, bool print_body) {
  const auto at = roost::cli::parse_side_port_url(url);
  if (!at) throw bad_argument("not a side port URL (http://host:port): " + url);
  std::string why;
  const auto a = roost::cli::probe(*at, path, std::chrono::milliseconds(timeout_ms), why);
  if (!a)
    return fail(connection_failed,
                "http://" + at->host + ":" + at->port + std::string(path) + ": " + why);
  if (print_body) {
    std::cout << a->body << std::flush;
  } else {
    std::cout << (a->status == 200 ? (path == "/healthz" ? "alive" : "ready") : "not ready")
              << "\n";
  }
  if (a->status != 200 && print_body) {
    std::cerr << "error: " << path << " answered " << a->status << "\n";
  }
  return a->status == 200 ? ok : remote_error;
}

// `--listen HOST:PORT` of record and shadow (port 0: any free one, printed when listening).
roost::cli::tap_options tap_of(const std::string& listen, const std::string& target,
                               const char* target_option) {
  roost::cli::tap_options o;
  const auto colon = listen.rfind(':');
  unsigned port = 0;
  const char* end = listen.data() + listen.size();
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(listen.data() + colon + 1, end, port).ptr != end ||
      colon + 1 == listen.size() || port > 65535) {
    throw bad_argument("--listen wants HOST:PORT (port 0: any free port), got " + listen);
  }
  o.listen_host = listen.substr(0, colon);
  if (o.listen_host.size() > 2 && o.listen_host.front() == '[') {
    o.listen_host = o.listen_host.substr(1, o.listen_host.size() - 2);
  }
  o.listen_port = static_cast<std::uint16_t>(port);
  auto u = roost::url::parse(target);
  if (!u || u->scheme != "tcp") {
    throw bad_argument(std::string(target_option) + " wants tcp://HOST:PORT, got " + target);
  }
  o.target_host = u->host;
  o.target_port = u->port.value_or(3000);
  return o;
}

// The client side of replay and shadow: a URL and the TLS flags, as for `roost call`.
void add_client_options(CLI::App* cmd, common& c) {
  cmd->add_option("--timeout", c.timeout_ms,
                  "milliseconds to wait for the connection and each reply")
      ->capture_default_str();
  cmd->add_option("--cacert", c.cacert, "CA certificates (PEM) to verify the service with");
  cmd->add_option("--cert", c.cert, "client certificate (PEM) for mutual TLS");
  cmd->add_option("--key", c.key, "client private key (PEM) for mutual TLS");
  cmd->add_flag("--insecure", c.insecure, "do not verify the service's certificate");
}

void add_compare_options(CLI::App* cmd, std::vector<std::string>& ignore,
                         std::vector<std::string>& loose) {
  cmd->add_option("--ignore", ignore,
                  "a path in each reply (and error) not to compare, e.g. /createdAt or "
                  "/items/*/id (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--loose", loose,
                  "a path in each reply compared by type only: a number for a number "
                  "(repeatable)")
      ->allow_extra_args(false);
}

void add_common(CLI::App* cmd, common& c, bool with_data = true) {
  cmd->add_option("url", c.url,
                  "transport URL, e.g. tcp://127.0.0.1:3000, tls://host:3443, redis://host:6379, "
                  "nats://host:4222, amqp://user:pass@host:5672/?queue=NAME, mqtt://host:1883, "
                  "mqtts://host:8883, kafka://host:9092, "
                  "grpc://host:50051/?package=math&protoPath=math.proto, ws://host:8080/")
      ->required();
  cmd->add_option("pattern", c.pattern,
                  "message pattern: a string, or a JSON object like '{\"cmd\":\"sum\"}'")
      ->required();
  if (with_data)
    cmd->add_option(
        "data", c.data,
        "JSON payload, @file.json, or - for stdin (default: stdin when piped, else null)");
  cmd->add_option("--timeout", c.timeout_ms,
                  "milliseconds to wait for the connection and each reply")
      ->capture_default_str();
  // One value per --header: otherwise a --header before the positional arguments takes them.
  cmd->add_option("--header", c.headers, "k=v metadata sent with the message (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--cacert", c.cacert, "CA certificates (PEM) to verify the server with");
  cmd->add_option("--cert", c.cert, "client certificate (PEM) for mutual TLS");
  cmd->add_option("--key", c.key, "client private key (PEM) for mutual TLS");
  cmd->add_flag("--insecure", c.insecure, "do not verify the server's certificate");
  cmd->add_option("--jwt", c.jwt,
                  "a JWT (or @file) sent as the metadata/header authorization: Bearer <token>");
  cmd->add_option("--client-credentials", c.token_url,
                  "OAuth2 token endpoint (https://...): fetch an access token with the client "
                  "credentials grant and send it as authorization: Bearer <token>");
  cmd->add_option("--client-id", c.client_id,
                  "OAuth2 client id (default: the environment variable ROOST_CLIENT_ID)");
  cmd->add_option("--client-secret", c.client_secret,
                  "OAuth2 client secret (default: the environment variable ROOST_CLIENT_SECRET, "
                  "which keeps it out of the process list)");
  cmd->add_option("--scope", c.scope, "OAuth2 scopes to ask for, space-separated");
  cmd->add_option("--audience", c.audience, "OAuth2 audience to ask for (servers that take one)");
  cmd->add_option("--token-cacert", c.token_cacert,
                  "CA certificates (PEM) to verify the token endpoint with (default: the "
                  "system's)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "roost: call, stream, emit, listen and bench on NestJS-protocol services (roost and NestJS); "
      "health and metrics from a roost service's side port; record, replay and shadow to move a "
      "service to roost"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("roost ") + ROOST_VERSION);
  app.footer(
      "Examples:\n"
      "  roost call tcp://127.0.0.1:3000 sum '[1,2,3]'\n"
      "  roost call tcp://127.0.0.1:3000 '{\"cmd\":\"sum\",\"role\":\"math\"}' @numbers.json\n"
      "  roost stream tcp://127.0.0.1:3000 count 5\n"
      "  echo '{\"id\":1}' | roost emit tcp://127.0.0.1:3000 order.created\n"
      "  roost listen redis://127.0.0.1:6379 order.created\n"
      "  roost health http://127.0.0.1:9464\n"
      "  roost metrics http://127.0.0.1:9464\n"
      "  roost record --listen 127.0.0.1:4000 --to tcp://127.0.0.1:3000 --out traffic.jsonl\n"
      "  roost record --from nats://127.0.0.1:4222 --pattern 'orders.>' --out traffic.jsonl\n"
      "  roost replay traffic.jsonl tcp://127.0.0.1:3001\n"
      "  roost shadow --listen 127.0.0.1:4000 --primary tcp://127.0.0.1:3000 \\\n"
      "    --candidate tcp://127.0.0.1:3001\n"
      "  roost bench tcp://127.0.0.1:3000 sum '[1,2,3]' --concurrency 256 --duration 10s\n"
      "  roost call tls://host:3443 orders.place @order.json \\\n"
      "    --client-credentials https://id.example.com/oauth/token --client-id orders-cli\n"
      "Exit codes: 0 ok, 1 remote error, 2 bad arguments, 3 timeout, 4 connection failure,\n"
      "5 no token from the OAuth2 token endpoint.");

  common call_args, stream_args, emit_args;
  auto* call = app.add_subcommand("call", "send one request and print its reply");
  add_common(call, call_args);
  auto* stream =
      app.add_subcommand("stream", "send one request and print each value of its streamed reply");
  add_common(stream, stream_args);
  auto* emit = app.add_subcommand("emit", "send an event");
  add_common(emit, emit_args);

  common bench_common;
  bench_args bench_opts;
  auto* bench_cmd = app.add_subcommand(
      "bench", "load a service: K requests in flight, then throughput, latency and a histogram");
  add_common(bench_cmd, bench_common);
  bench_cmd->add_option("-k,--concurrency", bench_opts.concurrency, "requests in flight")
      ->capture_default_str();
  bench_cmd->add_option("-c,--connections", bench_opts.connections, "connections (clients) to use")
      ->capture_default_str();
  bench_cmd->add_option("-d,--duration", bench_opts.duration, "how long to run: 10s, 500ms, 2m")
      ->capture_default_str();
  bench_cmd->add_option("-n,--requests", bench_opts.requests,
                        "stop after this many requests instead of the duration");
  bench_cmd->add_flag("--json", bench_opts.json_out, "print the result as one JSON object");
  bench_cmd->footer(
      "Example:\n"
      "  roost bench tcp://127.0.0.1:3000 sum '[1,2,3]' -k 256 -d 10s\n"
      "On a terminal, progress (rate, errors, p50/p99 so far) is shown on stderr every second.");

  std::string listen_url;
  std::vector<std::string> listen_patterns;
  int listen_count = 0;
  auto* listen_cmd = app.add_subcommand(
      "listen", "serve event handlers that print each event as a JSON line (until Ctrl-C)");
  listen_cmd
      ->add_option("url", listen_url, "transport URL to serve on, e.g. redis://127.0.0.1:6379")
      ->required();
  listen_cmd->add_option("patterns", listen_patterns, "event patterns (strings or JSON objects)")
      ->required();
  listen_cmd->add_option("--count", listen_count, "exit after this many events");
  listen_cmd->footer(
      "Example:\n  roost listen nats://127.0.0.1:4222 order.created '{\"cmd\":\"audit\"}'");

  std::string health_url, metrics_url;
  bool health_live = false;
  int probe_timeout_ms = 5'000;
  auto* health_cmd = app.add_subcommand(
      "health", "ask a service's HTTP side port whether it is ready (exit 0) or not (exit 1)");
  health_cmd->add_option("url", health_url, "the side port, e.g. http://127.0.0.1:9464")
      ->required();
  health_cmd->add_flag("--live", health_live, "ask whether it is alive (/healthz), not ready");
  health_cmd->add_option("--timeout", probe_timeout_ms, "milliseconds to wait for the answer")
      ->capture_default_str();
  auto* metrics_cmd = app.add_subcommand(
      "metrics", "print a service's metrics (Prometheus text) from its HTTP side port");
  metrics_cmd->add_option("url", metrics_url, "the side port, e.g. http://127.0.0.1:9464")
      ->required();
  metrics_cmd->add_option("--timeout", probe_timeout_ms, "milliseconds to wait for the answer")
      ->capture_default_str();

  std::string record_listen, record_to, record_out, record_from;
  std::vector<std::string> record_patterns;
  auto* record_cmd = app.add_subcommand(
      "record",
      "write every request, event and reply of a NestJS-protocol service as a JSON line (until "
      "Ctrl-C): as a TCP proxy in front of it (--listen, --to), or subscribed beside it on NATS, "
      "Redis or MQTT (--from)");
  record_cmd->add_option("--listen", record_listen, "HOST:PORT to listen on for the clients (TCP)");
  record_cmd->add_option("--to", record_to, "the service, tcp://HOST:PORT");
  record_cmd->add_option("--from", record_from,
                         "the broker the service is on, nats://, redis:// or mqtt://HOST:PORT: "
                         "subscribes beside it, taking no message away from it");
  record_cmd
      ->add_option("--pattern", record_patterns,
                   "with --from: a subject, channel or topic to record (NATS wildcards, Redis "
                   "globs, MQTT filters; repeatable; default: every one)")
      ->allow_extra_args(false);
  record_cmd->add_option("--out", record_out, "the JSON Lines file to write (- for stdout)")
      ->required();
  record_cmd->footer(
      "Examples:\n"
      "  roost record --listen 127.0.0.1:4000 --to tcp://127.0.0.1:3000 --out orders.jsonl\n"
      "  roost record --from nats://127.0.0.1:4222 --pattern 'orders.>' --out orders.jsonl\n"
      "  roost record --from redis://127.0.0.1:6379 --pattern 'orders.*' --out orders.jsonl\n"
      "  roost record --from mqtt://127.0.0.1:1883 --pattern 'orders/#' --out orders.jsonl\n"
      "On TCP, point the clients at 127.0.0.1:4000. Each line: kind (request or event), pattern,\n"
      "data, metadata, id, replies (every value, in order), error, at, t_ms, first_us, took_us,\n"
      "connection (TCP) or channel (brokers).");

  common replay_common;
  std::string replay_file;
  roost::cli::replay_options replay_opts;
  auto* replay_cmd = app.add_subcommand(
      "replay",
      "send a recording's requests and events to a service on any transport and compare its "
      "replies with the recorded ones (exit 1 on any difference)");
  replay_cmd->add_option("file", replay_file, "a recording made by roost record")->required();
  replay_cmd->add_option("url", replay_common.url, "the service's transport URL")->required();
  add_compare_options(replay_cmd, replay_opts.ignore, replay_opts.loose);
  replay_cmd
      ->add_option("-k,--concurrency", replay_opts.concurrency,
                   "messages in flight (1 keeps the recorded order)")
      ->capture_default_str();
  replay_cmd->add_option("--rate", replay_opts.rate, "messages per second at most (0: no limit)")
      ->capture_default_str();
  add_client_options(replay_cmd, replay_common);
  replay_cmd->footer(
      "Example:\n"
      "  roost replay orders.jsonl tcp://127.0.0.1:3001 --ignore /createdAt --loose /id\n"
      "Exit codes: 0 no difference, 1 differences, 2 bad arguments or recording, 4 connection "
      "failure.");

  common shadow_common;
  std::string shadow_listen, shadow_primary, shadow_from;
  std::vector<std::string> shadow_patterns, shadow_renames;
  roost::cli::shadow_options shadow_opts;
  int shadow_report_s = 10;
  auto* shadow_cmd = app.add_subcommand(
      "shadow",
      "send a copy of each message of a live service (the primary) to a candidate and report "
      "where their replies differ and both latencies (until Ctrl-C): as a TCP proxy in front of "
      "the primary (--listen, --primary), answering with its replies alone, or subscribed beside "
      "it on NATS, Redis or MQTT (--from)");
  shadow_cmd->add_option("--listen", shadow_listen, "HOST:PORT to listen on for the clients (TCP)");
  shadow_cmd->add_option("--primary", shadow_primary, "the service that answers, tcp://HOST:PORT");
  shadow_cmd->add_option("--from", shadow_from,
                         "the broker the primary is on, nats://, redis:// or mqtt://: "
                         "subscribes beside it, taking no message away from it");
  shadow_cmd
      ->add_option("--pattern", shadow_patterns,
                   "with --from: a subject, channel or topic of the primary (wildcards as "
                   "the broker's; repeatable)")
      ->allow_extra_args(false);
  shadow_cmd
      ->add_option("--rename", shadow_renames,
                   "with --from: OLD=NEW, the candidate's copy of a pattern starting with OLD "
                   "starts with NEW (a candidate on the same broker serves its own subjects; "
                   "repeatable)")
      ->allow_extra_args(false);
  shadow_cmd->add_option("--candidate", shadow_common.url, "the service under test: any URL")
      ->required();
  add_compare_options(shadow_cmd, shadow_opts.ignore, shadow_opts.loose);
  shadow_cmd
      ->add_option("--queue", shadow_opts.queue,
                   "copies in flight to the candidate at most; beyond, copies are dropped "
                   "(counted)")
      ->capture_default_str();
  shadow_cmd->add_option("--report-every", shadow_report_s, "seconds between summary lines")
      ->capture_default_str();
  add_client_options(shadow_cmd, shadow_common);
  shadow_cmd->footer(
      "Example:\n"
      "  roost shadow --listen 127.0.0.1:4000 --primary tcp://127.0.0.1:3000 \\\n"
      "    --candidate tcp://127.0.0.1:3001 --ignore /createdAt\n"
      "  roost shadow --from nats://127.0.0.1:4222 --pattern 'orders.>' \\\n"
      "    --candidate nats://127.0.0.1:4222 --rename orders.=orders-next.\n"
      "The candidate being slow or down never slows or fails the primary's callers; its replies\n"
      "never reach them.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? ok : bad_arguments;
  }

  try {
    if (*bench_cmd) return bench(bench_common, bench_opts);
    if (*record_cmd) {
      if (record_from.empty()) {
        if (record_listen.empty() || record_to.empty() || !record_patterns.empty()) {
          throw bad_argument("roost record wants --listen and --to (TCP), or --from (a broker)");
        }
        return roost::cli::run_record({tap_of(record_listen, record_to, "--to"), record_out});
      }
      if (!record_listen.empty() || !record_to.empty()) {
        throw bad_argument("roost record takes --from, or --listen and --to, not both");
      }
      if (auto why = roost::cli::broker_source_refused(record_from); !why.empty()) {
        throw bad_argument("roost record " + why);
      }
      return roost::cli::run_record_broker({{record_from, record_patterns}, record_out});
    }
    if (*replay_cmd) {
      replay_opts.file = replay_file;
      replay_opts.timeout = std::chrono::milliseconds(replay_common.timeout_ms);
      if (replay_opts.concurrency < 1) throw bad_argument("--concurrency must be >= 1");
      if (replay_opts.rate < 0) throw bad_argument("--rate must be >= 0");
      (void)make_transport(replay_common);  // a bad URL fails before the run
      replay_opts.make_transport = [&] { return make_transport(replay_common); };
      return roost::cli::run_replay(replay_opts);
    }
    if (*shadow_cmd) {
      if (shadow_from.empty()) {
        if (shadow_listen.empty() || shadow_primary.empty() || !shadow_patterns.empty() ||
            !shadow_renames.empty()) {
          throw bad_argument(
              "roost shadow wants --listen and --primary (TCP), or --from and --pattern (a "
              "broker)");
        }
        shadow_opts.tap = tap_of(shadow_listen, shadow_primary, "--primary");
      } else {
        if (!shadow_listen.empty() || !shadow_primary.empty()) {
          throw bad_argument("roost shadow takes --from, or --listen and --primary, not both");
        }
        // Without patterns it would see the copies it sends to a candidate on the same broker.
        if (shadow_patterns.empty()) throw bad_argument("roost shadow --from wants --pattern");
        if (auto why = roost::cli::broker_source_refused(shadow_from); !why.empty()) {
          throw bad_argument("roost shadow " + why);
        }
        shadow_opts.from = roost::cli::broker_source{shadow_from, shadow_patterns};
        for (const auto& r : shadow_renames) {
          const auto eq = r.find('=');
          if (eq == std::string::npos || eq == 0) {
            throw bad_argument("--rename wants OLD=NEW (a pattern prefix and its new one), got " +
                               r);
          }
          shadow_opts.rename.emplace_back(r.substr(0, eq), r.substr(eq + 1));
        }
      }
      shadow_opts.timeout = std::chrono::milliseconds(shadow_common.timeout_ms);
      if (shadow_opts.queue < 1) throw bad_argument("--queue must be >= 1");
      if (shadow_report_s < 1) throw bad_argument("--report-every must be >= 1");
      shadow_opts.report_every = std::chrono::seconds(shadow_report_s);
      (void)make_transport(shadow_common);
      shadow_opts.make_candidate = [&] { return make_transport(shadow_common); };
      return roost::cli::run_shadow(shadow_opts);
    }
    if (*listen_cmd) return listen(listen_url, listen_patterns, listen_count);
    if (*health_cmd) {
      return side_port(health_url, health_live ? "/healthz" : "/readyz", probe_timeout_ms, false);
    }
    if (*metrics_cmd) return side_port(metrics_url, "/metrics", probe_timeout_ms, true);
    if (*call) {
      auto pattern = read_pattern(call_args.pattern);
      auto data = read_data(call_args.data);
      auto opts = call_options_of(call_args);
      return run(call_args, [&](roost::client_proxy& c) -> roost::awaitable<void> {
        auto v = co_await c.send_value(pattern, data, opts);
        print(v);
      });
    }
    if (*stream) {
      auto pattern = read_pattern(stream_args.pattern);
      auto data = read_data(stream_args.data);
      auto opts = call_options_of(stream_args);
      return run(stream_args, [&](roost::client_proxy& c) -> roost::awaitable<void> {
        auto s = c.stream_values(pattern, data, opts);
        for (;;) {
          auto v = co_await s.next();
          if (!v) break;
          print(*v);
        }
      });
    }
    auto pattern = read_pattern(emit_args.pattern);
    auto data = read_data(emit_args.data);
    auto opts = call_options_of(emit_args);
    return run(emit_args, [&](roost::client_proxy& c) -> roost::awaitable<void> {
      co_await c.emit_value(pattern, data, opts);
    });
  } catch (const bad_argument& e) {
    return fail(bad_arguments, e.what());
  } catch (const roost::auth::oauth_error& e) {
    return fail(no_token, e.what());
  }
}
