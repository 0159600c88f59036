#pragma once
/// \file TCP options from a URL: `tcp://host:port` or `tls://host:port`.

#include <roost/tcp/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::tcp {

/// Options from `tcp://HOST:PORT` or `tls://HOST:PORT`, with NestJS's option names in the query:
/// `maxBufferSize`, `incompleteMessageTimeout` (ms), `maxSendBufferSize`; for TLS `ca`, `cert`,
/// `key` (PEM files), `servername`, and `verify=false` to skip verifying the peer (any of `ca`,
/// `cert`, `key`, `verify` turns TLS on for `tcp://` too). A server given `ca` requires client
/// certificates signed by it (mutual TLS). Clients also take `connectTimeout` (ms); servers the
/// serving limits `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight`, `maxConnections`
/// (roost/limits.hpp).
/// A client given several servers, `tcp://HOST:PORT,HOST:PORT`, or `balance=` balances over
/// them (client_options::endpoints): `balance=least_outstanding` (the default) or
/// `round_robin`; `resolveInterval` (ms) sets how often their names are resolved again.
/// Returns roost::error::invalid_argument for another scheme or a bad value.
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::tcp
