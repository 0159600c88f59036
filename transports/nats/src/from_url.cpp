#include <roost/nats/from_url.hpp>

#include <roost/errors.hpp>

#include <charconv>

namespace roost::nats {
namespace {

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

// What both sides share; false on a bad value.
bool common(const url& u, connection_options& o) {
  if (u.scheme != "nats" && u.scheme != "nats+tls") return false;
  u.param_tls(u.scheme == "nats+tls" || u.param("tls") == "true", o.tls);
  const bool tls = o.tls.has_value();
  o.servers.clear();
  for (const auto& hp : u.hosts) {
    // A host without a port gets NATS's 4222; an IPv6 address keeps its brackets.
    const auto close = hp.find(']');
    const bool has_port = hp.front() == '[' ? close != std::string::npos && close + 1 < hp.size()
                                            : hp.find(':') != std::string::npos;
    o.servers.push_back((tls ? "tls://" : "nats://") + hp + (has_port ? "" : ":4222"));
  }
  o.user = u.user;
  o.password = u.password;
  o.token = u.param("token").value_or("");
  o.creds_file = u.param("creds").value_or("");
  o.nkey = u.param("nkey").value_or("");
  o.nkey_seed_file = u.param("seed").value_or("");
  if (o.nkey.empty() != o.nkey_seed_file.empty()) return false;
  o.name = u.param("name").value_or("");
  if (!u.param_millis("timeout", o.connect_timeout) ||
      !u.param_millis("connectTimeout", o.connect_timeout) ||
      !u.param_millis("reconnectTimeWait", o.reconnect_time_wait) ||
      !flag(u, "reconnect", o.reconnect)) {
    return false;
  }
  if (u.param("maxReconnectAttempts")) {
    std::int64_t attempts = 0;
    if (!u.param_number("maxReconnectAttempts", attempts) || attempts < -1 ||
        attempts > 1'000'000'000) {
      return false;
    }
    o.max_reconnect_attempts = static_cast<int>(attempts);
  }
  if (u.param("eventLoop")) {
    bool on = false;
    if (!flag(u, "eventLoop", on)) return false;
    o.event_loop = on;
  }
  if (u.param("ioBufferSize")) {
    std::int64_t size = 0;
    if (!u.param_number("ioBufferSize", size) || size < 0 || size > 64 * 1024 * 1024) return false;
    o.io_buffer_size = static_cast<int>(size);
  }
  if (tls && o.tls->cert_file.empty() != o.tls->key_file.empty()) return false;
  return true;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  if (!common(u, o) || !u.param_millis("gracePeriod", o.grace_period) ||
      !u.param_limits(o.serving)) {
    return make_error_code(error::invalid_argument);
  }
  o.queue = u.param("queue").value_or("");
  if (auto stream = u.param("jetstream")) {
    jetstream_options js;
    js.stream = *stream;
    js.durable = u.param("durable").value_or(js.durable);
    std::int64_t max_deliver = js.max_deliver;
    if (js.stream.empty() || js.durable.empty() || !u.param_millis("ackWait", js.ack_wait) ||
        !u.param_number("maxDeliver", max_deliver) || max_deliver < -1 || max_deliver == 0 ||
        max_deliver > 1'000'000'000) {
      return make_error_code(error::invalid_argument);
    }
    js.max_deliver = static_cast<int>(max_deliver);
    o.jetstream = std::move(js);
  }
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o)) return make_error_code(error::invalid_argument);
  if (auto p = u.param("inboxPrefix")) {
    if (p->empty() || p->find_first_of("*> \t") != std::string::npos) {
      return make_error_code(error::invalid_argument);
    }
    o.inbox_prefix = *p;
  }
  constexpr std::string_view header_prefix = "headers.";
  for (const auto& [k, v] : u.query) {
    if (k.size() > header_prefix.size() && k.starts_with(header_prefix)) {
      o.headers.emplace_back(k.substr(header_prefix.size()), v);
    }
  }
  return o;
}

}  // namespace roost::nats
