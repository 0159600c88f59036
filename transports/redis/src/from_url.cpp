#include <roost/redis/from_url.hpp>

#include <roost/errors.hpp>

#include <charconv>

namespace roost::redis {
namespace {

bool common(const url& u, connection_options& c) {
  if (u.scheme != "redis" && u.scheme != "rediss") return false;
  if (u.hosts.size() > 1) return false;  // one server: no cluster or sentinel lists
  if (!u.host.empty()) c.host = u.host;
  if (u.port) c.port = *u.port;
  c.username = u.user;
  c.password = u.password;
  if (!u.path.empty()) {
    std::uint64_t db = 0;
    auto [p, ec] = std::from_chars(u.path.data(), u.path.data() + u.path.size(), db);
    if (ec != std::errc() || p != u.path.data() + u.path.size() || db > 1'000'000) return false;
    c.db = static_cast<unsigned>(db);
  }
  std::uint64_t connect_ms = static_cast<std::uint64_t>(c.connect_timeout.count());
  std::uint64_t delay_ms = static_cast<std::uint64_t>(c.retry.delay.count());
  if (!u.param_number("connectTimeout", connect_ms) || !u.param_number("retryDelay", delay_ms))
    return false;
  c.connect_timeout = std::chrono::milliseconds(connect_ms);
  c.retry.delay = std::chrono::milliseconds(delay_ms);
  if (u.param("retryAttempts")) {
    std::uint64_t attempts = 0;
    if (!u.param_number("retryAttempts", attempts) || attempts > 1'000'000'000) return false;
    c.retry.attempts = static_cast<unsigned>(attempts);
  }
  const bool tls_param = u.param("ca") || u.param("cert") || u.param("key") || u.param("verify");
  if (u.scheme == "rediss" || tls_param) {
    tls_options t;
    t.ca_file = u.param("ca").value_or("");
    t.cert_file = u.param("cert").value_or("");
    t.key_file = u.param("key").value_or("");
    t.server_name = u.param("servername").value_or("");
    t.verify_peer = u.param("verify").value_or("true") != "false";
    c.tls = std::move(t);
  }
  return true;
}

bool streams(const url& u, stream_options& s) {
  if (auto v = u.param("streams")) {
    if (*v != "true" && *v != "false") return false;
    s.enabled = *v == "true";
  }
  if (auto v = u.param("group")) s.group = *v;
  if (auto v = u.param("consumer")) s.consumer = *v;
  std::uint64_t batch = s.batch, block = static_cast<std::uint64_t>(s.block.count());
  std::uint64_t idle = static_cast<std::uint64_t>(s.claim_idle.count()), max_length = s.max_length;
  if (!u.param_number("batch", batch) || !u.param_number("block", block) ||
      !u.param_number("claimIdle", idle) || !u.param_number("maxLength", max_length) ||
      batch == 0 || batch > 100'000 || s.group.empty()) {
    return false;
  }
  s.batch = static_cast<unsigned>(batch);
  s.block = std::chrono::milliseconds(block);
  s.claim_idle = std::chrono::milliseconds(idle);
  s.max_length = max_length;
  return true;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  if (!common(u, o.connection)) return make_error_code(error::invalid_argument);
  if (!streams(u, o.streams)) return make_error_code(error::invalid_argument);
  if (auto w = u.param("wildcards")) {
    if (*w != "true" && *w != "false") return make_error_code(error::invalid_argument);
    o.wildcards = *w == "true";
  }
  if (o.wildcards && o.streams.enabled) return make_error_code(error::invalid_argument);
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  client_options o;
  if (!common(u, o.connection)) return make_error_code(error::invalid_argument);
  if (!streams(u, o.streams)) return make_error_code(error::invalid_argument);
  return o;
}

}  // namespace roost::redis
