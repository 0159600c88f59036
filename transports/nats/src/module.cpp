#include <roost/transport_module.hpp>

#include <roost/nats.hpp>
#include <roost/nats/from_url.hpp>

namespace roost::nats {
namespace {
constexpr std::string_view schemes[] = {"nats", "nats+tls"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "nats", schemes);
  return declared;
}

}  // namespace roost::nats
