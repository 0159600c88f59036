#include <roost/transports.hpp>

#include <roost/errors.hpp>

#include "transport_table.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace roost {
namespace {

template <class Interface, class Factory>
boost::system::result<std::unique_ptr<Interface>> make(const url& u, logger log,
                                                       Factory transport_module::*factory) {
  const transport_module* m = find_transport(u.scheme);
  if (!m) {
    log.error("roost", unknown_scheme_message(u.scheme));
    return make_error_code(error::invalid_argument);
  }
  return (m->*factory)(u, std::move(log));
}

}  // namespace

std::span<const std::string_view> transport_schemes() noexcept {
  // Built once from the table, which is constant: a cache, not state.
  static const std::vector<std::string_view> schemes = [] {
    std::vector<std::string_view> all;
    for (const transport_module* m : detail::transport_table())
      all.insert(all.end(), m->schemes.begin(), m->schemes.end());
    return all;
  }();
  return schemes;
}

const transport_module* find_transport(std::string_view scheme) noexcept {
  for (const transport_module* m : detail::transport_table()) {
    if (std::find(m->schemes.begin(), m->schemes.end(), scheme) != m->schemes.end()) return m;
  }
  return nullptr;
}

std::string unknown_scheme_message(std::string_view scheme) {
  std::string m = "no transport for '";
  m.append(scheme).append("://' in this build (known schemes:");
  const char* separator = " ";
  for (std::string_view s : transport_schemes()) {
    m.append(separator).append(s);
    separator = ", ";
  }
  m.append(")");
  return m;
}

boost::system::result<std::unique_ptr<server_transport>> make_server(const url& u, logger log) {
  return make<server_transport>(u, std::move(log), &transport_module::make_server);
}

boost::system::result<std::unique_ptr<client_transport>> make_client(const url& u, logger log) {
  return make<client_transport>(u, std::move(log), &transport_module::make_client);
}

}  // namespace roost
