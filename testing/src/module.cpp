#include <roost/transport_module.hpp>

#include <roost/errors.hpp>
#include <roost/testing/memory_transport.hpp>

namespace roost::testing {
namespace {

constexpr std::string_view schemes[] = {"memory"};

// memory://NAME: the broker is found by NAME (the host part); the transport takes no options.
boost::system::result<std::unique_ptr<server_transport>> make_server(const url& u, logger) {
  if (u.host.empty()) return make_error_code(error::invalid_argument);
  return memory_broker::named(u.host).server();
}

boost::system::result<std::unique_ptr<client_transport>> make_client(const url& u, logger) {
  if (u.host.empty()) return make_error_code(error::invalid_argument);
  return memory_broker::named(u.host).client();
}

}  // namespace

const transport_module& declared_transport() noexcept {
  static constexpr transport_module declared{
      .name = "memory",
      .schemes = schemes,
      .make_server = &make_server,
      .make_client = &make_client,
  };
  return declared;
}

}  // namespace roost::testing
