#pragma once
/// \file Transports chosen by URL: `make_server(url)` and `make_client(url)` for every transport
/// this build of roost has (`tcp://`, `tls://`, `redis://`, `nats://`...). Programs that take a
/// URL from their user (the `roost` CLI, the interop peer) use these; a service that knows its
/// transport can construct it directly (`roost::tcp::server`).

#include <roost/client_transport.hpp>
#include <roost/log.hpp>
#include <roost/server_transport.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

#include <memory>
#include <span>
#include <string_view>

namespace roost {

/// The URL schemes this build serves and calls on, e.g. {"tcp", "tls", "redis", "rediss"}.
std::span<const std::string_view> transport_schemes() noexcept;

/// A server transport for `u`, with the options its query gives (see docs/transports/*.md).
/// Returns roost::error::invalid_argument for an unknown scheme or a bad option.
boost::system::result<std::unique_ptr<server_transport>> make_server(const url& u, logger log = {});

/// A client transport for `u`. Every client takes `connectTimeout` (ms) and the TLS
/// parameters `ca`, `cert`, `key`, `verify=false` in the query.
boost::system::result<std::unique_ptr<client_transport>> make_client(const url& u, logger log = {});

}  // namespace roost
