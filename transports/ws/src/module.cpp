#include <roost/transport_module.hpp>

#include <roost/ws.hpp>

namespace roost::ws {
namespace {
constexpr std::string_view schemes[] = {"ws", "wss"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "ws", schemes);
  return declared;
}

}  // namespace roost::ws
