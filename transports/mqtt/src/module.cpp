#include <roost/transport_module.hpp>

#include <roost/mqtt.hpp>
#include <roost/mqtt/from_url.hpp>

namespace roost::mqtt {
namespace {
constexpr std::string_view schemes[] = {"mqtt", "mqtts"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "mqtt", schemes);
  return declared;
}

}  // namespace roost::mqtt
