#pragma once
/// \file NATS options from a URL: `nats://host:4222`, `nats://a:4222,b:4222/?queue=workers`.

#include <roost/nats/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::nats {

/// Options from `nats://[user:pass@]HOST[:PORT][,HOST[:PORT]...][/?...]` (several servers) or
/// `nats+tls://...` (TLS; `tls://` is the TCP transport's). The query takes NestJS's option
/// names: `queue` (server), `token`, `creds` (a .creds file), `nkey` and `seed` (an NKey public key
/// and its seed file), `name`, `timeout`/`connectTimeout` (ms), `reconnect=false`,
/// `maxReconnectAttempts`, `reconnectTimeWait` (ms), `inboxPrefix` (client), `gracePeriod` (ms,
/// server), `headers.K=V` (client default headers), `jetstream=STREAM` with `durable`, `ackWait`
/// (ms) and `maxDeliver` (server: JetStream durable consumers for events, a roost extension), the
/// serving limits `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight` (server,
/// roost/limits.hpp), and
/// the TLS ones `ca`, `cert`, `key`,
/// `verify=false`, `servername` (any of them turns TLS on for `nats://` too). Returns
/// roost::error::invalid_argument for another scheme or a bad value.
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::nats
