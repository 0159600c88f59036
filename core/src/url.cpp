#include <roost/url.hpp>

#include <roost/errors.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace roost {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int a = hex(s[i + 1]), b = hex(s[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      out += static_cast<char>(a * 16 + b);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

boost::system::error_code bad() {
  return make_error_code(error::invalid_argument);
}

}  // namespace

boost::system::result<url> url::parse(std::string_view text) {
  url u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad();
  u.scheme.assign(text.substr(0, sep));
  for (char c : u.scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return bad();
    }
  }
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = text.substr(sep + 3);

  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    u.path.assign(rest.substr(slash + 1));
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    const auto info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = info.find(':');
    auto user = decode(info.substr(0, colon), false);
    if (!user) return bad();
    u.user = std::move(*user);
    if (colon != std::string_view::npos) {
      auto pw = decode(info.substr(colon + 1), false);
      if (!pw) return bad();
      u.password = std::move(*pw);
    }
  }
  if (authority.empty()) return bad();
  std::size_t start = 0;
  while (start <= authority.size()) {
    auto comma = authority.find(',', start);
    if (comma == std::string_view::npos) comma = authority.size();
    const auto hp = authority.substr(start, comma - start);
    if (hp.empty()) return bad();
    u.hosts.emplace_back(hp);
    if (u.hosts.size() == 1) {
      std::string_view host = hp, port;
      if (hp.front() == '[') {
        const auto close = hp.find(']');
        if (close == std::string_view::npos) return bad();
        host = hp.substr(1, close - 1);
        const auto after = hp.substr(close + 1);
        if (!after.empty()) {
          if (after.front() != ':') return bad();
          port = after.substr(1);
        }
      } else if (auto colon = hp.rfind(':'); colon != std::string_view::npos) {
        host = hp.substr(0, colon);
        port = hp.substr(colon + 1);
      }
      if (host.empty()) return bad();
      u.host.assign(host);
      if (!port.empty()) {
        unsigned value = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || p != port.data() + port.size() || value > 65535) return bad();
        u.port = static_cast<std::uint16_t>(value);
      }
    }
    start = comma + 1;
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto k = decode(pair.substr(0, eq), true);
    auto v = decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!k || !v) return bad();
    u.query.emplace_back(std::move(*k), std::move(*v));
  }
  return u;
}

std::optional<std::string> url::param(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

namespace {
template <class Int>
bool read_number(const url& u, std::string_view key, Int& out) {
  auto v = u.param(key);
  if (!v) return true;
  Int n{};
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return false;
  out = n;
  return true;
}
}  // namespace

bool url::param_number(std::string_view key, std::uint64_t& out) const {
  return read_number(*this, key, out);
}

bool url::param_number(std::string_view key, std::int64_t& out) const {
  return read_number(*this, key, out);
}

bool url::param_millis(std::string_view key, std::chrono::milliseconds& out) const {
  std::int64_t ms = out.count();
  if (!param_number(key, ms) || ms < 0) return false;
  out = std::chrono::milliseconds(ms);
  return true;
}

void url::param_tls(bool on, std::optional<tls_options>& out) const {
  auto ca = param("ca"), cert = param("cert"), key = param("key");
  auto name = param("servername"), verify = param("verify");
  if (!on && !ca && !cert && !key && !name && !verify) return;
  tls_options t;
  t.ca_file = ca.value_or("");
  t.cert_file = cert.value_or("");
  t.key_file = key.value_or("");
  t.server_name = name.value_or("");
  t.verify_peer = verify.value_or("true") != "false";
  out = std::move(t);
}

bool url::param_limits(limits& out) const {
  std::uint64_t size = out.max_message_size, per_connection = out.max_in_flight_per_connection,
                in_flight = out.max_in_flight, connections = out.max_connections;
  if (!param_number("maxMessageSize", size) ||
      !param_number("maxInFlightPerConnection", per_connection) ||
      !param_number("maxInFlight", in_flight) || !param_number("maxConnections", connections)) {
    return false;
  }
  out.max_message_size = size;
  out.max_in_flight_per_connection = per_connection;
  out.max_in_flight = in_flight;
  out.max_connections = connections;
  return true;
}

}  // namespace roost
