#pragma once
/// \file Transports chosen by URL: `make_server(url)` and `make_client(url)` for every transport
/// module this build of roost has (`tcp://`, `tls://`, `redis://`, `nats://`, `memory://`...;
/// each declares its schemes in its own folder, see <roost/transport_module.hpp>). Programs that
/// take a URL from their user (the `roost` CLI, the interop peer) use these; a service that knows
/// its transport can construct it directly (`roost::tcp::server`).

#include <roost/client_transport.hpp>
#include <roost/log.hpp>
#include <roost/server_transport.hpp>
#include <roost/transport_module.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace roost {

/// The URL schemes this build serves and calls on, e.g. {"memory", "tcp", "tls", "redis"}.
std::span<const std::string_view> transport_schemes() noexcept;

/// The transport module serving `scheme`, or nullptr.
const transport_module* find_transport(std::string_view scheme) noexcept;

/// Why `scheme` has no transport here, naming the ones there are:
/// "no transport for 'foo://' in this build (known schemes: memory, tcp, tls, ...)".
std::string unknown_scheme_message(std::string_view scheme);

/// A server transport for `u`, with the options its query gives (see docs/transports/*.md).
/// Returns roost::error::invalid_argument for a bad option, and for an unknown scheme, which it
/// also logs to `log` as unknown_scheme_message() says it.
boost::system::result<std::unique_ptr<server_transport>> make_server(const url& u, logger log = {});

/// A client transport for `u`, as make_server. Every network client takes `connectTimeout`
/// (ms) and the TLS parameters `ca`, `cert`, `key`, `verify=false` in the query.
boost::system::result<std::unique_ptr<client_transport>> make_client(const url& u, logger log = {});

}  // namespace roost
