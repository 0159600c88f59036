// roost — the command-line client: call, stream and emit on any transport URL roost speaks.
//   roost call tcp://127.0.0.1:3000 sum '[1,2,3]'
// Exit codes: 0 ok, 1 remote error, 2 bad arguments, 3 timeout, 4 connection failure.

#include <roost/roost.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/transports.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace json = roost::json;

namespace {

enum exit_code { ok = 0, remote_error = 1, bad_arguments = 2, timed_out = 3, connection_failed = 4 };

struct bad_argument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct common {
  std::string url, pattern, data = "";
  int timeout_ms = 10'000;
  std::vector<std::string> headers;
  std::string cacert, cert, key;
  bool insecure = false;
};

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
    if (ec || !v.is_object()) throw bad_argument("the pattern looks like JSON but is not an object");
    return v;
  }
  return json::string(p);
}

// The flags go into the URL's query, where every transport reads them.
std::unique_ptr<roost::client_transport> make_transport(const common& c) {
  auto u = roost::url::parse(c.url);
  if (!u) throw bad_argument("not a transport URL: " + c.url);
  auto known = roost::transport_schemes();
  if (std::find(known.begin(), known.end(), u->scheme) == known.end()) {
    throw bad_argument("this roost has no transport for '" + u->scheme + "://'");
  }
  u->query.emplace_back("connectTimeout", std::to_string(c.timeout_ms));
  if (!c.cacert.empty()) u->query.emplace_back("ca", c.cacert);
  if (!c.cert.empty()) u->query.emplace_back("cert", c.cert);
  if (!c.key.empty()) u->query.emplace_back("key", c.key);
  if (c.insecure) u->query.emplace_back("verify", "false");
  auto log = roost::logger(roost::log_level::error, [](roost::log_level, std::string_view, std::string_view m) {
    std::fprintf(stderr, "roost: %.*s\n", static_cast<int>(m.size()), m.data());
  });
  auto t = roost::make_client(*u, std::move(log));
  if (!t) throw bad_argument("bad options in " + c.url);
  return std::move(*t);
}

roost::call_options call_options_of(const common& c) {
  roost::call_options o{.timeout = std::chrono::milliseconds(c.timeout_ms)};
  if (!c.headers.empty()) {
    json::object md;
    for (const auto& h : c.headers) {
      auto eq = h.find('=');
      if (eq == std::string::npos) throw bad_argument("--header wants k=v, got " + h);
      md[h.substr(0, eq)] = h.substr(eq + 1);
    }
    o.metadata = std::move(md);
  }
  return o;
}

void pretty(std::ostream& os, const json::value& v, int indent = 0) {
  const std::string pad(indent, ' ');
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) { os << "{}"; return; }
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
      if (a.empty()) { os << "[]"; return; }
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

void add_common(CLI::App* cmd, common& c, bool with_data = true) {
  cmd->add_option("url", c.url, "transport URL, e.g. tcp://127.0.0.1:3000, tls://host:3443 or redis://host:6379")->required();
  cmd->add_option("pattern", c.pattern, "message pattern: a string, or a JSON object like '{\"cmd\":\"sum\"}'")->required();
  if (with_data) cmd->add_option("data", c.data, "JSON payload, @file.json, or - for stdin (default: stdin when piped, else null)");
  cmd->add_option("--timeout", c.timeout_ms, "milliseconds to wait for the connection and each reply")->capture_default_str();
  cmd->add_option("--header", c.headers, "k=v metadata sent with the message (repeatable)");
  cmd->add_option("--cacert", c.cacert, "CA certificates (PEM) to verify the server with");
  cmd->add_option("--cert", c.cert, "client certificate (PEM) for mutual TLS");
  cmd->add_option("--key", c.key, "client private key (PEM) for mutual TLS");
  cmd->add_flag("--insecure", c.insecure, "do not verify the server's certificate");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"roost: call, stream and emit NestJS-protocol messages (roost and NestJS services)"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  roost call tcp://127.0.0.1:3000 sum '[1,2,3]'\n"
      "  roost call tcp://127.0.0.1:3000 '{\"cmd\":\"sum\",\"role\":\"math\"}' @numbers.json\n"
      "  roost stream tcp://127.0.0.1:3000 count 5\n"
      "  echo '{\"id\":1}' | roost emit tcp://127.0.0.1:3000 order.created\n"
      "Exit codes: 0 ok, 1 remote error, 2 bad arguments, 3 timeout, 4 connection failure.");

  common call_args, stream_args, emit_args;
  auto* call = app.add_subcommand("call", "send one request and print its reply");
  add_common(call, call_args);
  auto* stream = app.add_subcommand("stream", "send one request and print each value of its streamed reply");
  add_common(stream, stream_args);
  auto* emit = app.add_subcommand("emit", "send an event");
  add_common(emit, emit_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? ok : bad_arguments;
  }

  try {
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
  }
}
