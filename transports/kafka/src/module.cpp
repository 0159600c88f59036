#include <roost/transport_module.hpp>

#include <roost/kafka.hpp>
#include <roost/kafka/from_url.hpp>

namespace roost::kafka {
namespace {
constexpr std::string_view schemes[] = {"kafka"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "kafka", schemes);
  return declared;
}

}  // namespace roost::kafka
