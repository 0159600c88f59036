#include <roost/rmq/from_url.hpp>

#include <roost/errors.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <type_traits>

namespace roost::rmq {
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

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The vhost of the URL's path: percent-decoded (`%2F` is `/`); none or empty is `/`. A path
// with a raw `/` in it names no vhost.
std::optional<std::string> vhost_of(std::string_view path) {
  if (path.empty()) return "/";
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/') return std::nullopt;
    if (path[i] != '%') {
      out += path[i];
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    const int hi = hex_digit(path[i + 1]), lo = hex_digit(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// What both sides share; false on a bad value.
bool common(const url& u, connection_options& o) {
  const bool tls = u.scheme == "amqps";
  if ((!tls && u.scheme != "amqp") || u.hosts.empty()) return false;
  const std::uint16_t default_port = tls ? 5671 : 5672;
  o.host = u.host;
  o.port = u.port.value_or(default_port);
  // Failover: the other hosts of the authority, each read as a URL of its own would be.
  for (std::size_t i = 1; i < u.hosts.size(); ++i) {
    auto one = url::parse(u.scheme + "://" + u.hosts[i]);
    if (!one || one->host.empty()) return false;
    o.failover.push_back({one->host, one->port.value_or(default_port)});
  }
  if (!u.user.empty()) {
    o.user = u.user;
    o.password = u.password;
  }
  // amqps://, or TLS parameters on amqp:// (as the other transports read them).
  u.param_tls(tls, o.tls);
  if (o.tls && o.tls->cert_file.empty() != o.tls->key_file.empty()) return false;
  auto vhost = vhost_of(u.path);
  if (!vhost) return false;
  o.vhost = std::move(*vhost);
  o.queue = u.param("queue").value_or("");
  o.exchange = u.param("exchange").value_or("");
  o.exchange_type = u.param("exchangeType").value_or(o.exchange_type);
  o.routing_key = u.param("routingKey").value_or("");
  o.dead_letter_exchange = u.param("deadLetterExchange").value_or("");
  o.dead_letter_routing_key = u.param("deadLetterRoutingKey").value_or("");
  o.overflow = u.param("overflow").value_or("");
  o.queue_mode = u.param("queueMode").value_or("");
  if (o.exchange_type.empty()) return false;
  // Queue arguments: each only when given.
  const auto optional_number = [&](std::string_view key, std::uint64_t most, auto& out) {
    if (!u.param(key)) return true;
    std::uint64_t n = 0;
    if (!u.param_number(key, n) || n > most) return false;
    out = static_cast<typename std::decay_t<decltype(out)>::value_type>(n);
    return true;
  };
  constexpr std::uint64_t max_int64 = std::numeric_limits<std::int64_t>::max();
  std::optional<std::uint64_t> ttl, expires;
  if (!optional_number("messageTtl", max_int64, ttl) ||
      !optional_number("expires", max_int64, expires) ||
      !optional_number("maxLength", max_int64, o.max_length) ||
      !optional_number("maxPriority", 255, o.max_priority)) {
    return false;
  }
  if (ttl) o.message_ttl = std::chrono::milliseconds(*ttl);
  if (expires) o.expires = std::chrono::milliseconds(*expires);
  constexpr std::string_view arguments_prefix = "exchangeArguments.";
  constexpr std::string_view queue_arguments_prefix = "arguments.";
  for (const auto& [k, v] : u.query) {
    if (k.size() > arguments_prefix.size() && k.starts_with(arguments_prefix)) {
      o.exchange_arguments.emplace_back(k.substr(arguments_prefix.size()), v);
    }
    if (k.size() > queue_arguments_prefix.size() && k.starts_with(queue_arguments_prefix)) {
      o.queue_arguments.emplace_back(k.substr(queue_arguments_prefix.size()), v);
    }
  }
  std::uint64_t heartbeat = static_cast<std::uint64_t>(o.heartbeat.count());
  if (!u.param_number("heartbeat", heartbeat) || heartbeat > 65535) return false;
  o.heartbeat = std::chrono::seconds(heartbeat);
  return flag(u, "durable", o.durable) && flag(u, "exclusive", o.exclusive) &&
         flag(u, "wildcards", o.wildcards) && flag(u, "autoDelete", o.auto_delete) &&
         flag(u, "noAssert", o.no_assert) && u.param_millis("connectTimeout", o.connect_timeout) &&
         u.param_millis("reconnectTime", o.reconnect_time) &&
         u.param_millis("blockedTimeout", o.blocked_timeout);
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  std::int64_t prefetch = 0;
  if (!common(u, o) || !flag(u, "noAck", o.no_ack) ||
      !flag(u, "isGlobalPrefetchCount", o.is_global_prefetch_count) ||
      !u.param_number("prefetchCount", prefetch) || prefetch < 0 ||
      prefetch > std::numeric_limits<std::uint16_t>::max() || !u.param_limits(o.serving)) {
    return make_error_code(error::invalid_argument);
  }
  o.prefetch_count = static_cast<std::uint16_t>(prefetch);
  // Several queues: `queue` repeated; the first is the options' `queue`.
  bool first = true;
  for (const auto& [k, v] : u.query) {
    if (k != "queue") continue;
    if (!first) {
      if (v.empty()) return make_error_code(error::invalid_argument);
      o.more_queues.push_back(v);
    }
    first = false;
  }
  if (auto f = u.param("onFailure")) {
    if (*f == "requeue") {
      o.ack.on_failure = failure_outcome::redeliver;
    } else if (*f == "deadLetter") {
      o.ack.on_failure = failure_outcome::dead_letter;
    } else if (*f == "drop") {
      o.ack.on_failure = failure_outcome::drop;
    } else {
      return make_error_code(error::invalid_argument);
    }
  }
  if (u.param("maxRetries")) {
    std::uint64_t n = 0;
    if (!u.param_number("maxRetries", n) || n > 1'000'000'000) {
      return make_error_code(error::invalid_argument);
    }
    o.max_retries = static_cast<std::uint32_t>(n);
  }
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  // `noAck` is read and changes nothing: replies come by direct reply-to, which the broker
  // delivers without acks only (a reply consumer asking for acks gets its channel closed).
  bool no_ack = true;
  const auto queues = std::count_if(u.query.begin(), u.query.end(),
                                    [](const auto& kv) { return kv.first == "queue"; });
  if (!common(u, o) || !flag(u, "persistent", o.persistent) || !flag(u, "noAck", no_ack) ||
      queues > 1) {
    return make_error_code(error::invalid_argument);
  }
  if (auto q = u.param("replyQueue")) {
    if (q->empty()) return make_error_code(error::invalid_argument);
    o.reply_queue = *q;
  }
  constexpr std::string_view header_prefix = "headers.";
  for (const auto& [k, v] : u.query) {
    if (k.size() > header_prefix.size() && k.starts_with(header_prefix)) {
      o.headers.emplace_back(k.substr(header_prefix.size()), v);
    }
  }
  return o;
}

}  // namespace roost::rmq
