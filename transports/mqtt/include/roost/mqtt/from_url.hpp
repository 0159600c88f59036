#pragma once
/// \file MQTT options from a URL: `mqtt://user:pass@host:1883/?protocolVersion=5&qos=1`.

#include <roost/mqtt/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::mqtt {

/// Options from `mqtt://[user[:pass]@]HOST[:PORT][/][?...]`. The query takes NestJS's option
/// names: `protocolVersion` (4 or 5), `clientId`, `username`, `password`, `keepalive` (s),
/// `clean`, `reconnectPeriod` (ms), `connectTimeout` (ms); server: `qos` (its subscriptions'),
/// `share` (a shared subscription group),
/// the serving limits `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight`
/// (roost/limits.hpp); client: `userProperties.K=V`. Returns roost::error::invalid_argument
/// for another scheme, several hosts, a bad value, or TLS parameters (`mqtts://` is not there
/// yet).
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::mqtt
