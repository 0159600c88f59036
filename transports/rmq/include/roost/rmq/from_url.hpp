#pragma once
/// \file RabbitMQ options from a URL: `amqp://user:pass@host:5672/vhost?queue=orders`.

#include <roost/rmq/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::rmq {

/// Options from `amqp://[user[:pass]@]HOST[:PORT][,HOST[:PORT]...][/VHOST][?...]` or
/// `amqps://...` (TLS; port 5671 by default) (vhost percent-encoded, as `%2F`; none: `/`; the
/// hosts after the first are `failover`). The query takes NestJS's option names, nested ones
/// flattened: `queue`, `durable`, `exclusive`, `autoDelete` (queueOptions), `noAssert`,
/// `connectTimeout`, `reconnectTime` (ms), `heartbeat` (s, as in RabbitMQ's URIs); TLS as the other
/// transports: `ca`, `cert`, `key` (PEM files), `servername`, `verify=false` (any of them turns TLS
/// on for `amqp://` too); server: `noAck`, `prefetchCount`, `isGlobalPrefetchCount`, the serving
/// limits `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight`
/// (roost/limits.hpp); client: `persistent`, `headers.K=V` (default headers). Returns
/// roost::error::invalid_argument for another scheme, a bad value, or a certificate without its
/// key (or a key without its certificate).
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::rmq
