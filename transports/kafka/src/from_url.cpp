#include <roost/kafka/from_url.hpp>

#include <roost/kafka/detail/record.hpp>

#include <roost/errors.hpp>

#include <limits>

namespace roost::kafka {
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

// A non-empty text option: absent leaves `out`; given empty is refused.
bool text(const url& u, std::string_view key, std::string& out) {
  auto v = u.param(key);
  if (!v) return true;
  if (v->empty()) return false;
  out = std::move(*v);
  return true;
}

// What both sides share; false on a bad value.
bool common(const url& u, connection_options& o) {
  if (u.scheme != "kafka" || u.hosts.empty() || !u.user.empty() || !u.path.empty()) return false;
  o.brokers.clear();
  for (const auto& h : u.hosts) {
    if (h.empty()) return false;
    // A host without a port gets Kafka's; an IPv6 address is written in brackets.
    const auto colon = h.rfind(':');
    const bool has_port = colon != std::string::npos && h.find(']', colon) == std::string::npos;
    o.brokers.push_back(has_port ? h : h + ":9092");
  }
  // TLS is librdkafka's (rdkafka.security.protocol, rdkafka.ssl.*): the TLS parameters of the
  // other transports (and the CLI's --ca, --cert...) are refused rather than ignored.
  for (const char* tls : {"ca", "cert", "key", "verify", "servername"}) {
    if (u.param(tls)) return false;
  }
  if (auto p = u.param("postfixId")) o.postfix_id = *p;  // may be empty: no suffix
  constexpr std::string_view prefix = "rdkafka.";
  for (const auto& [k, v] : u.query) {
    if (k.starts_with(prefix)) {
      if (k.size() == prefix.size()) return false;
      o.rdkafka.emplace_back(k.substr(prefix.size()), v);
    }
  }
  return flag(u, "keepBinary", o.keep_binary) && text(u, "clientId", o.client_id) &&
         text(u, "groupId", o.group_id) && u.param_millis("sessionTimeout", o.session_timeout) &&
         u.param_millis("heartbeatInterval", o.heartbeat_interval) &&
         u.param_millis("maxWaitTimeInMs", o.max_wait_time) &&
         u.param_millis("connectTimeout", o.connect_timeout) && o.connect_timeout.count() > 0;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  std::uint64_t redeliveries = o.max_redeliveries;
  std::uint64_t concurrently = o.partitions_concurrently;
  if (!common(u, o) || !flag(u, "fromBeginning", o.from_beginning) ||
      !u.param_millis("autoCommitInterval", o.auto_commit_interval) ||
      !u.param_number("maxRedeliveries", redeliveries) ||
      redeliveries > std::numeric_limits<std::uint32_t>::max() || !u.param_limits(o.serving) ||
      !text(u, "deadLetterTopic", o.dead_letter_topic) ||
      (!o.dead_letter_topic.empty() && !detail::valid_topic(o.dead_letter_topic)) ||
      !u.param_number("partitionsConsumedConcurrently", concurrently) || concurrently == 0 ||
      concurrently > 1'000'000) {
    return make_error_code(error::invalid_argument);
  }
  o.max_redeliveries = static_cast<std::uint32_t>(redeliveries);
  o.partitions_concurrently = static_cast<std::size_t>(concurrently);
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o) || !flag(u, "producerOnlyMode", o.producer_only)) {
    return make_error_code(error::invalid_argument);
  }
  if (auto list = u.param("subscribeToResponseOf")) {
    std::string_view rest = *list;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = rest.substr(0, comma);
      if (item.empty()) return make_error_code(error::invalid_argument);
      o.reply_patterns.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return o;
}

}  // namespace roost::kafka
