#include <roost/mqtt/from_url.hpp>

#include <roost/errors.hpp>

namespace roost::mqtt {
namespace {

// A boolean option: absent leaves `out`; `true`/`1`/empty and `false`/`0` set it.
bool flag(const url& u, std::string_view key, bool& out) {
  auto v = u.param(key);
  if (!v) return true;
  if (*v == "true" || *v == "1" || v->empty()) {
    out = true;
  } else if (*v == "false" || *v == "0") {
    out = false;
  } else {
    return false;
  }
  return true;
}

// A whole number in [lo, hi]: absent leaves `out`.
bool bounded(const url& u, std::string_view key, int& out, int lo, int hi) {
  std::int64_t v = out;
  if (!u.param_number(key, v) || v < lo || v > hi) return false;
  out = static_cast<int>(v);
  return true;
}

// The last will: `will.topic` (required with any other `will.` key), `will.payload`,
// `will.qos`, `will.retain`, and over MQTT 5 `will.delayInterval` (seconds) and
// `will.userProperties.K=V`.
bool read_will(const url& u, connection_options& o) {
  constexpr std::string_view prefix = "will.";
  constexpr std::string_view properties = "will.userProperties.";
  bool any = false;
  for (const auto& [k, v] : u.query) any = any || k.starts_with(prefix);
  if (!any) return true;
  will w;
  w.topic = u.param("will.topic").value_or("");
  w.payload = u.param("will.payload").value_or("");
  std::int64_t delay = -1;
  if (w.topic.empty() || w.topic.find_first_of("+#") != std::string::npos ||
      !bounded(u, "will.qos", w.qos, 0, 2) || !flag(u, "will.retain", w.retain) ||
      !u.param_number("will.delayInterval", delay) || delay > 0xffffffffLL) {
    return false;
  }
  if (delay >= 0) w.delay_interval = static_cast<std::uint32_t>(delay);
  for (const auto& [k, v] : u.query) {
    if (k.size() > properties.size() && k.starts_with(properties)) {
      w.user_properties.add(k.substr(properties.size()), v);
    } else if (k.starts_with(prefix) && k != "will.topic" && k != "will.payload" &&
               k != "will.qos" && k != "will.retain" && k != "will.delayInterval") {
      return false;  // a misspelt will key would be lost silently
    }
  }
  // MQTT 3.1.1 has no properties.
  if (o.protocol_version != 5 && (w.delay_interval || !w.user_properties.empty())) return false;
  o.will = std::move(w);
  return true;
}

// What both sides share; false on a bad value.
bool common(const url& u, connection_options& o) {
  if ((u.scheme != "mqtt" && u.scheme != "mqtts") || u.hosts.size() != 1) return false;
  if (!u.path.empty()) return false;
  // `mqtts://`, or TLS parameters on `mqtt://` (as the other transports take them).
  u.param_tls(u.scheme == "mqtts", o.tls);
  if (o.tls && (o.tls->cert_file.empty() != o.tls->key_file.empty())) return false;
  if (auto v = u.param("verify"); v && *v != "true" && *v != "false") return false;
  o.host = u.host;
  o.port = u.port.value_or(u.scheme == "mqtts" ? 8883 : 1883);
  o.username = u.param("username").value_or(u.user);
  o.password = u.param("password").value_or(u.password);
  o.client_id = u.param("clientId").value_or("");
  if (!bounded(u, "protocolVersion", o.protocol_version, 4, 5)) return false;
  if (!read_will(u, o)) return false;
  return bounded(u, "keepalive", o.keepalive, 0, 65535) && flag(u, "clean", o.clean) &&
         u.param_millis("reconnectPeriod", o.reconnect_period) &&
         u.param_millis("connectTimeout", o.connect_timeout);
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  if (!common(u, o) || !bounded(u, "qos", o.qos, 0, 2) || !u.param_limits(o.serving)) {
    return make_error_code(error::invalid_argument);
  }
  // A group name is one topic level, without wildcards.
  o.share = u.param("share").value_or("");
  if (o.share.find_first_of("/+#") != std::string::npos) {
    return make_error_code(error::invalid_argument);
  }
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o) || !bounded(u, "qos", o.qos, 0, 2)) {
    return make_error_code(error::invalid_argument);
  }
  constexpr std::string_view prefix = "userProperties.";
  for (const auto& [k, v] : u.query) {
    if (k.size() > prefix.size() && k.starts_with(prefix)) {
      o.user_properties.add(k.substr(prefix.size()), v);
    }
  }
  return o;
}

}  // namespace roost::mqtt
