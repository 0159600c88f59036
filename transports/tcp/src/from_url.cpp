#include <roost/tcp/from_url.hpp>

#include <roost/errors.hpp>

#include <charconv>

namespace roost::tcp {
namespace {

// The parts both sides share; false on a bad value.
bool common(const url& u, std::string& host, std::uint16_t& port, tcp::limits& lim,
            std::optional<tls_options>& tls) {
  if (u.scheme != "tcp" && u.scheme != "tls") return false;
  host = u.host;
  if (u.port) port = *u.port;
  std::uint64_t max_buffer = lim.max_buffer_size, max_send = lim.max_send_buffer_size;
  if (!u.param_number("maxBufferSize", max_buffer) ||
      !u.param_number("maxSendBufferSize", max_send) ||
      !u.param_millis("incompleteMessageTimeout", lim.incomplete_message_timeout)) {
    return false;
  }
  lim.max_buffer_size = max_buffer;
  lim.max_send_buffer_size = max_send;
  u.param_tls(u.scheme == "tls", tls);
  return true;
}

// Several servers (`tcp://a:3000,b:3000`), or `balance=` on one name that may resolve to
// several addresses: the client balances over them.
bool balancing(const url& u, client_options& o) {
  const auto policy = u.param("balance");
  if (policy) {
    if (*policy == "round_robin") {
      o.balance = balance_policy::round_robin;
    } else if (*policy != "least_outstanding") {
      return false;
    }
  }
  if (u.hosts.size() < 2 && !policy) return true;
  for (const auto& hp : u.hosts) {
    // Each `host[:port]` read as a URL of its own would be; the first one's port by default.
    auto one = url::parse(u.scheme + "://" + hp);
    if (!one || one->host.empty()) return false;
    o.endpoints.push_back({one->host, one->port.value_or(o.port)});
  }
  return true;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  if (!common(u, o.host, o.port, o.limits, o.tls) || !u.param_limits(o.serving)) {
    return make_error_code(error::invalid_argument);
  }
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o.host, o.port, o.limits, o.tls)) return make_error_code(error::invalid_argument);
  if (!u.param_millis("connectTimeout", o.connect_timeout) ||
      !u.param_millis("resolveInterval", o.resolve_interval) || !balancing(u, o)) {
    return make_error_code(error::invalid_argument);
  }
  return o;
}

}  // namespace roost::tcp
