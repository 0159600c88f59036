#include <roost/ws/from_url.hpp>

#include <roost/errors.hpp>

namespace roost::ws {
namespace {

// The parts both sides share; false on a bad value.
bool common(const url& u, std::string& host, std::uint16_t& port, std::string& path,
            std::size_t& max_payload, std::size_t& max_send, std::optional<tls_options>& tls) {
  if (u.scheme != "ws" && u.scheme != "wss") return false;
  host = u.host;
  u.param_tls(u.scheme == "wss", tls);
  if (tls) port = 443;
  if (u.port) port = *u.port;
  path = "/" + u.path;
  std::uint64_t payload = max_payload, send = max_send;
  if (!u.param_number("maxPayload", payload) || !u.param_number("maxSendBufferSize", send)) {
    return false;
  }
  if (payload == 0 || send == 0) return false;
  max_payload = payload;
  max_send = send;
  return true;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  std::uint64_t high_water = o.send_high_water_mark;
  if (!common(u, o.host, o.port, o.path, o.max_payload, o.max_send_buffer_size, o.tls) ||
      !u.param_number("sendHighWaterMark", high_water) || high_water == 0 ||
      !u.param_millis("idleTimeout", o.idle_timeout) ||
      !u.param_millis("handshakeTimeout", o.handshake_timeout) || !u.param_limits(o.serving)) {
    return make_error_code(error::invalid_argument);
  }
  o.send_high_water_mark = high_water;
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o.host, o.port, o.path, o.max_payload, o.max_send_buffer_size, o.tls) ||
      !u.param_millis("connectTimeout", o.connect_timeout)) {
    return make_error_code(error::invalid_argument);
  }
  return o;
}

}  // namespace roost::ws
