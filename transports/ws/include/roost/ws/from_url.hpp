#pragma once
/// \file WebSocket options from a URL: `ws://host:port/path` or `wss://host:port/path`.

#include <roost/url.hpp>
#include <roost/ws/options.hpp>

#include <boost/system/result.hpp>

namespace roost::ws {

/// Options from `ws://HOST[:PORT][/PATH]` or `wss://...` (TLS; port 80, or 443 for wss, when not
/// given; path `/`), with the `ws`
/// package's option names in the query: `maxPayload` (bytes), and roost's
/// `maxSendBufferSize` (bytes); servers also take `idleTimeout` and `handshakeTimeout` (ms) and
/// the serving limits `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight`,
/// `maxConnections` (roost/limits.hpp); clients `connectTimeout` (ms). TLS takes `ca`, `cert`,
/// `key` (PEM files), `servername` and `verify=false` (any of them turns TLS on for `ws://`
/// too); a server given `ca` requires client certificates signed by it.
/// Returns roost::error::invalid_argument for another scheme or a bad value.
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::ws
