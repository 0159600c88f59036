#include <roost/transport_module.hpp>

#include <roost/tcp.hpp>
#include <roost/tcp/from_url.hpp>

namespace roost::tcp {
namespace {
constexpr std::string_view schemes[] = {"tcp", "tls"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "tcp", schemes);
  return declared;
}

}  // namespace roost::tcp
