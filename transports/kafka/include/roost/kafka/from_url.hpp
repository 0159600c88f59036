#pragma once
/// \file Kafka options from a URL: `kafka://b1:9092,b2:9092/?clientId=orders&groupId=orders`.

#include <roost/kafka/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::kafka {

/// Options from `kafka://HOST:PORT[,HOST:PORT...][/][?...]` (a host without a port: 9092). The
/// query takes NestJS's option names, nested ones flattened: `clientId`, `groupId`, `postfixId`,
/// `sessionTimeout`, `heartbeatInterval`, `maxWaitTimeInMs`, `connectTimeout` (ms); server:
/// `fromBeginning`, `autoCommitInterval` (ms), `maxRedeliveries`, the serving limits
/// `maxMessageSize`, `maxInFlightPerConnection`, `maxInFlight`; client:
/// `subscribeToResponseOf=a,b` (patterns as their routes), `producerOnlyMode`. `rdkafka.NAME=V`
/// passes a librdkafka setting (SSL, SASL). Returns roost::error::invalid_argument for another
/// scheme or a bad value.
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::kafka
