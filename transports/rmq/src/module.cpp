#include <roost/transport_module.hpp>

#include <roost/rmq.hpp>
#include <roost/rmq/from_url.hpp>

namespace roost::rmq {
namespace {
constexpr std::string_view schemes[] = {"amqp", "amqps"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "rmq", schemes);
  return declared;
}

}  // namespace roost::rmq
