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
  if (!u.param_millis("connectTimeout", c.connect_timeout) ||
      !u.param_millis("retryDelay", c.retry.delay)) {
    return false;
  }
  if (u.param("retryAttempts")) {
    std::uint64_t attempts = 0;
    if (!u.param_number("retryAttempts", attempts) || attempts > 1'000'000'000) return false;
    c.retry.attempts = static_cast<unsigned>(attempts);
  }
  u.param_tls(u.scheme == "rediss", c.tls);
  return true;
}

bool streams(const url& u, stream_options& s) {
  if (auto v = u.param("streams")) {
    if (*v != "true" && *v != "false") return false;
    s.enabled = *v == "true";
  }
  if (auto v = u.param("group")) s.group = *v;
  if (auto v = u.param("consumer")) s.consumer = *v;
  std::uint64_t batch = s.batch, max_length = s.max_length;
  if (!u.param_number("batch", batch) || !u.param_millis("block", s.block) ||
      !u.param_millis("claimIdle", s.claim_idle) || !u.param_number("maxLength", max_length) ||
      batch == 0 || batch > 100'000 || s.group.empty()) {
    return false;
  }
  s.batch = static_cast<unsigned>(batch);
  s.max_length = max_length;
  return true;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  server_options o;
  if (!common(u, o.connection)) return make_error_code(error::invalid_argument);
  if (!streams(u, o.streams) || !u.param_limits(o.serving)) {
    return make_error_code(error::invalid_argument);
  }
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
