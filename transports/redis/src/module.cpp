#include <roost/transport_module.hpp>

#include <roost/redis.hpp>
#include <roost/redis/from_url.hpp>

namespace roost::redis {
namespace {
constexpr std::string_view schemes[] = {"redis", "rediss"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "redis", schemes);
  return declared;
}

}  // namespace roost::redis
