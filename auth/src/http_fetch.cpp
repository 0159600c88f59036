#include "http_fetch.hpp"

#include <roost/auth/oauth_error.hpp>
#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>
#include <roost/net/tls_context.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace roost::auth::detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::use_awaitable;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Form encoding keeps RFC 3986's unreserved characters and writes a space as '+'.
void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += ch;
    } else if (ch == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

// The connection of one request, shared with the deadline's handler.
struct connection {
  net::stream stream;
  bool timed_out = false;
};

// Writes the request and reads the answer on one layer of the stream (the TLS stream or the
// socket: Beast's reader wants a stream type with its executor).
template <class Layer>
awaitable<http_response> exchange(Layer& layer, std::string request, std::size_t max_body) {
  co_await asio::async_write(layer, asio::buffer(request), use_awaitable);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  auto [ec, n] = co_await http::async_read(layer, buffer, parser, asio::as_tuple(use_awaitable));
  // A body that ends with the connection may end without TLS's close_notify.
  if (ec == asio::ssl::error::stream_truncated && !parser.is_done()) {
    boost::system::error_code eof;
    parser.put_eof(eof);
  }
  if (ec && !parser.is_done()) throw boost::system::system_error(ec);
  auto& message = parser.get();
  http_response r;
  r.status = message.result_int();
  r.cache_control = std::string(message[http::field::cache_control]);
  r.body = std::move(message.body());
  co_return r;
}

awaitable<http_response> run_request(net::strand_type strand, http_url u, std::string request,
                                     std::shared_ptr<asio::ssl::context> tls, http_options o,
                                     std::string prefix) {
  auto c = std::make_shared<connection>(connection{net::stream(net::socket_type(strand))});
  try {
    net::connect_attempt attempt(strand, o.timeout);
    co_await attempt.connect(u.host, u.port, u.tls ? tls.get() : nullptr, o.tls);
    c->stream = attempt.finish();
  } catch (const connection_error& e) {
    throw oauth_error(prefix + e.what());
  }
  // The connection's own deadline: the same length again, for the request and the answer.
  asio::steady_timer deadline(strand);
  deadline.expires_after(o.timeout);
  deadline.async_wait([c](boost::system::error_code ec) {
    if (ec) return;
    c->timed_out = true;
    c->stream.close();
  });
  http_response r;
  std::string why;
  try {
    if (c->stream.is_tls()) {
      auto op = exchange(c->stream.tls(), std::move(request), o.max_response_size);
      r = co_await std::move(op);
    } else {
      auto op = exchange(c->stream.socket(), std::move(request), o.max_response_size);
      r = co_await std::move(op);
    }
  } catch (const boost::system::system_error& e) {
    if (c->timed_out) {
      why = "timed out";
    } else if (e.code() == http::error::body_limit) {
      why = "the answer is larger than " + std::to_string(o.max_response_size) + " bytes";
    } else {
      why = e.code().message();
    }
  }
  deadline.cancel();
  c->stream.close();
  if (!why.empty()) throw oauth_error(prefix + why);
  co_return r;
}

}  // namespace

std::optional<std::string> parse_http_url(std::string_view text, bool allow_http, http_url& out) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return "a URL may not contain spaces or control characters";
  }
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return "not a URL";
  const std::string_view scheme = text.substr(0, sep);
  if (iequals(scheme, "https")) {
    out.tls = true;
    out.port = 443;
  } else if (iequals(scheme, "http")) {
    if (!allow_http) return "plain http:// is not allowed (tokens would travel in clear)";
    out.tls = false;
    out.port = 80;
  } else {
    return "not an https:// URL";
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return "a fragment (#) has no place here";
  const auto end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return "credentials in the URL are not allowed (give them as options)";
  }
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return "unclosed [ in the host";
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return "a bad port";
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (host.empty()) return "no host";
  if (!port.empty()) {
    port.remove_prefix(1);
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return "a bad port";
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = std::string(host);
  out.host_header = std::string(authority);
  out.target = rest.empty()          ? "/"
               : rest.front() == '?' ? "/" + std::string(rest)
                                     : std::string(rest);
  return std::nullopt;
}

std::optional<std::chrono::seconds> max_age(std::string_view cache_control) {
  std::optional<std::chrono::seconds> found;
  while (!cache_control.empty()) {
    const auto comma = cache_control.find(',');
    const std::string_view item = trim(cache_control.substr(0, comma));
    cache_control =
        comma == std::string_view::npos ? std::string_view() : cache_control.substr(comma + 1);
    if (iequals(item, "no-store") || iequals(item, "no-cache")) return std::chrono::seconds(0);
    constexpr std::string_view key = "max-age=";
    if (item.size() > key.size() && iequals(item.substr(0, key.size()), key)) {
      std::string_view digits = item.substr(key.size());
      if (digits.size() >= 2 && digits.front() == '"' && digits.back() == '"') {
        digits = digits.substr(1, digits.size() - 2);
      }
      std::int64_t value = 0;
      const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc() && p == digits.data() + digits.size() && value >= 0) {
        found = std::chrono::seconds(value);
      } else if (ec == std::errc::result_out_of_range) {
        found = std::chrono::seconds::max();
      }
    }
  }
  return found;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    append_escaped(out, name);
    out += '=';
    append_escaped(out, value);
  }
  return out;
}

std::string basic_authorization(std::string_view id, std::string_view secret) {
  std::string pair;
  append_escaped(pair, id);
  pair += ':';
  append_escaped(pair, secret);
  std::string encoded(4 * ((pair.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(pair.data()),
                                static_cast<int>(pair.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

http_fetcher::http_fetcher(http_options o) : options_(std::move(o)) {
  try {
    tls_ = std::make_shared<asio::ssl::context>(
        net::make_tls_context(options_.tls, net::tls_side::client));
  } catch (const connection_error& e) {
    throw oauth_error(e.what());
  }
}

awaitable<http_response> http_fetcher::get(std::string url) const {
  return request("GET", std::move(url), {}, {});
}

awaitable<http_response> http_fetcher::post_form(std::string url, std::string form,
                                                 std::string authorization) const {
  return request("POST", std::move(url), std::move(form), std::move(authorization));
}

awaitable<http_response> http_fetcher::request(std::string method, std::string url,
                                               std::string body, std::string authorization) const {
  const std::string prefix = method + " " + url + ": ";
  http_url u;
  if (auto why = parse_http_url(url, options_.allow_http, u)) throw oauth_error(prefix + *why);
  std::string text = method + " " + u.target + " HTTP/1.1\r\nHost: " + u.host_header +
                     "\r\nAccept: application/json\r\nUser-Agent: roost\r\nConnection: close\r\n";
  if (!authorization.empty()) text += "Authorization: " + authorization + "\r\n";
  if (method == "POST") {
    text += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n";
  text += body;
  // The connection runs on a strand of its own: its deadline's handler closes the socket.
  const executor ex = co_await asio::this_coro::executor;
  net::strand_type strand = asio::make_strand(ex);
  auto run = run_request(strand, std::move(u), std::move(text), tls_, options_, prefix);
  auto spawned = asio::co_spawn(strand, std::move(run), use_awaitable);
  co_return co_await std::move(spawned);
}

}  // namespace roost::auth::detail
