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
  std::uint64_t incomplete = static_cast<std::uint64_t>(lim.incomplete_message_timeout.count());
  if (!u.param_number("maxBufferSize", max_buffer) ||
      !u.param_number("maxSendBufferSize", max_send) ||
      !u.param_number("incompleteMessageTimeout", incomplete)) {
    return false;
  }
  lim.max_buffer_size = max_buffer;
  lim.max_send_buffer_size = max_send;
  lim.incomplete_message_timeout = std::chrono::milliseconds(incomplete);
  bool tls_param = u.param("ca") || u.param("cert") || u.param("key") || u.param("verify");
  if (u.scheme == "tls" || tls_param) {
    tls_options t;
    t.ca_file = u.param("ca").value_or("");
    t.cert_file = u.param("cert").value_or("");
    t.key_file = u.param("key").value_or("");
    t.server_name = u.param("servername").value_or("");
    t.verify_peer = u.param("verify").value_or("true") != "false";
    tls = std::move(t);
  }
  return true;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  if (!common(u, o.host, o.port, o.limits, o.tls)) return make_error_code(error::invalid_argument);
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o.host, o.port, o.limits, o.tls)) return make_error_code(error::invalid_argument);
  std::uint64_t connect_ms = static_cast<std::uint64_t>(o.connect_timeout.count());
  if (!u.param_number("connectTimeout", connect_ms))
    return make_error_code(error::invalid_argument);
  o.connect_timeout = std::chrono::milliseconds(connect_ms);
  return o;
}

}  // namespace roost::tcp
