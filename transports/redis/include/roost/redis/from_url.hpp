#pragma once
/// \file Redis options from a URL: `redis://[user:password@]host[:port][/db]` or `rediss://...`.

#include <roost/redis/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::redis {

/// Options from `redis://[[user]:password@]HOST[:PORT][/DB]` (`rediss://` for TLS), with
/// NestJS's option names in the query: `retryAttempts`, `retryDelay` (ms), `wildcards=true`
/// (servers), `connectTimeout` (ms); for TLS `ca`, `cert`, `key` (PEM files), `servername`,
/// `verify=false`; for the Streams mode (roost extension) `streams=true`, `group`, `consumer`,
/// `batch`, `block` (ms), `claimIdle` (ms), `maxLength`; for servers the serving limits
/// `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight` (roost/limits.hpp). Returns
/// roost::error::invalid_argument for another scheme or a bad value.
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::redis
