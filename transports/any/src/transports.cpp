#include <roost/transports.hpp>

#include <roost/errors.hpp>

#if ROOST_WITH_TCP
#include <roost/tcp.hpp>
#include <roost/tcp/from_url.hpp>
#endif

#if ROOST_WITH_NATS
#include <roost/nats.hpp>
#endif
#if ROOST_WITH_REDIS
#include <roost/redis.hpp>
#endif

#include <algorithm>
#include <array>

namespace roost {
namespace {

constexpr std::string_view schemes[] = {
#if ROOST_WITH_TCP
    "tcp",
    "tls",
#endif
#if ROOST_WITH_NATS
    "nats",
    "nats+tls",
#endif
#if ROOST_WITH_REDIS
    "redis",
    "rediss",
#endif
};

bool is(const url& u, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), u.scheme) != names.end();
}

}  // namespace

std::span<const std::string_view> transport_schemes() noexcept {
  return schemes;
}

boost::system::result<std::unique_ptr<server_transport>> make_server(const url& u, logger log) {
#if ROOST_WITH_TCP
  if (is(u, {"tcp", "tls"})) {
    auto o = tcp::server_options_from(u);
    if (!o) return o.error();
    o->log = std::move(log);
    return std::make_unique<tcp::server>(std::move(*o));
  }
#endif
#if ROOST_WITH_NATS
  if (is(u, {"nats", "nats+tls"})) {
    auto o = nats::server_options_from(u);
    if (!o) return o.error();
    o->log = std::move(log);
    return std::make_unique<nats::server>(std::move(*o));
  }
#endif
#if ROOST_WITH_REDIS
  if (is(u, {"redis", "rediss"})) {
    auto o = redis::server_options_from(u);
    if (!o) return o.error();
    o->log = std::move(log);
    return std::make_unique<redis::server>(std::move(*o));
  }
#endif
  (void)log;
  return make_error_code(error::invalid_argument);
}

boost::system::result<std::unique_ptr<client_transport>> make_client(const url& u, logger log) {
#if ROOST_WITH_TCP
  if (is(u, {"tcp", "tls"})) {
    auto o = tcp::client_options_from(u);
    if (!o) return o.error();
    o->log = std::move(log);
    return std::make_unique<tcp::client>(std::move(*o));
  }
#endif
#if ROOST_WITH_NATS
  if (is(u, {"nats", "nats+tls"})) {
    auto o = nats::client_options_from(u);
    if (!o) return o.error();
    o->log = std::move(log);
    return std::make_unique<nats::client>(std::move(*o));
  }
#endif
#if ROOST_WITH_REDIS
  if (is(u, {"redis", "rediss"})) {
    auto o = redis::client_options_from(u);
    if (!o) return o.error();
    o->log = std::move(log);
    return std::make_unique<redis::client>(std::move(*o));
  }
#endif
  (void)log;
  return make_error_code(error::invalid_argument);
}

}  // namespace roost
