#include <roost/transport_module.hpp>

#include <roost/grpc.hpp>
#include <roost/grpc/from_url.hpp>

namespace roost::grpc {
namespace {
constexpr std::string_view schemes[] = {"grpc", "grpcs"};
}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared =
      roost::detail::from_url_module<server, client, &server_options_from, &client_options_from>(
          "grpc", schemes);
  return declared;
}

}  // namespace roost::grpc
