#pragma once
/// \file What a transport module says about itself: its name, the URL schemes it serves and
/// calls on, and how to make its server and client from a URL. Each transport defines one in its
/// own folder (`src/module.cpp`); the build lists them for `roost::make_server(url)` and
/// `roost::make_client(url)` (<roost/transports.hpp>). See docs/writing-a-transport.md.

#include <roost/client_transport.hpp>
#include <roost/log.hpp>
#include <roost/server_transport.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

#include <memory>
#include <span>
#include <string_view>
#include <utility>

namespace roost {

/// One transport as `make_server(url)` / `make_client(url)` find it. A module in
/// `transports/<m>/` (or any module made with CMake's `roost_add_transport(<m>)`) defines
///
/// \code
/// namespace roost::<m> {
/// const transport_module& declared_transport() noexcept;
/// }
/// \endcode
///
/// returning a constant it owns; nothing registers itself at start-up.
struct transport_module {
  using server_factory = boost::system::result<std::unique_ptr<server_transport>> (*)(const url& u,
                                                                                      logger log);
  using client_factory = boost::system::result<std::unique_ptr<client_transport>> (*)(const url& u,
                                                                                      logger log);

  std::string_view name;                      ///< "tcp", "redis"... as server_transport::name()
  std::span<const std::string_view> schemes;  ///< lower-case URL schemes, e.g. {"tcp", "tls"}
  /// A server for a URL with one of `schemes`, with the options its query gives; an error
  /// (roost::error::invalid_argument) for a bad option. Never throws on bad input.
  server_factory make_server;
  /// A client for a URL with one of `schemes`, as `make_server`.
  client_factory make_client;
};

namespace detail {

/// A transport_module factory for a transport whose options come from a URL as
/// `options_from(u)` gives them (`tcp::server_options_from`...) and that is constructed from
/// those options (with the logger in their `log` member).
template <class Interface, class Transport, auto options_from>
boost::system::result<std::unique_ptr<Interface>> make_from_url(const url& u, logger log) {
  auto o = options_from(u);
  if (!o) return o.error();
  o->log = std::move(log);
  return std::unique_ptr<Interface>(std::make_unique<Transport>(std::move(*o)));
}

/// The transport_module of a transport whose server and client are made from their options,
/// read from the URL by `server_from(u)` and `client_from(u)`.
template <class Server, class Client, auto server_from, auto client_from>
constexpr transport_module from_url_module(std::string_view name,
                                           std::span<const std::string_view> schemes) {
  return {name, schemes, &make_from_url<server_transport, Server, server_from>,
          &make_from_url<client_transport, Client, client_from>};
}

}  // namespace detail
}  // namespace roost
