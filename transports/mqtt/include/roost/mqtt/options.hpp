#pragma once
/// \file Options of the MQTT transport (NestJS `Transport.MQTT`), with NestJS's (and its MQTT
/// library's) defaults.

#include <roost/headers.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace roost::mqtt {

/// The last will (NestJS's `will`, the `mqtt` package's): a message the broker publishes for
/// this connection when it ends without saying goodbye (the process died, the network went, a
/// keep-alive was missed), not when it is closed.
struct will {
  std::string topic;  ///< no wildcards
  std::string payload;
  int qos = 0;
  bool retain = false;
  /// MQTT 5 (refused over 3.1.1): user properties, and how long the broker waits before
  /// publishing it (`willDelayInterval`, seconds; a connection back within it cancels it).
  roost::headers user_properties;
  std::optional<std::uint32_t> delay_interval;
};

/// How to reach the broker; shared by the server and the client (NestJS's `url`,
/// `protocolVersion`, `clientId`, `username`, `password`, `keepalive`, `clean`,
/// `reconnectPeriod`, `connectTimeout`), and TLS.
struct connection_options {
  std::string host = "localhost";
  std::uint16_t port = 1883;
  /// 4: MQTT 3.1.1 (the default), 5: MQTT 5 (user properties, content type, expiry).
  int protocol_version = 4;
  /// The session's client id (`clientId`); empty: `roost_` and 8 random hex digits, as
  /// NestJS's library makes `mqttjs_` ones. Two connections with one id push each other off
  /// the broker.
  std::string client_id;
  std::string username;
  std::string password;
  /// Seconds between the keep-alive pings (`keepalive`); 0: none.
  int keepalive = 60;
  /// A clean session (`clean`): the broker keeps no subscriptions or messages for this client
  /// id while it is away.
  bool clean = true;
  /// After a lost connection, connects again after this long, for ever, and subscribes again
  /// (`reconnectPeriod`).
  std::chrono::milliseconds reconnect_period{1'000};
  /// Gives up connecting (TCP and the broker's CONNACK) after this long (`connectTimeout`).
  std::chrono::milliseconds connect_timeout{30'000};
  /// TLS (`mqtts://`; roost/tls_options.hpp): the CA, the client certificate and its key from
  /// files or PEM text. Without a CA, the system's CAs. The broker's certificate is checked
  /// against `server_name`, else the host; `server_name`, when a name, is also sent (SNI).
  std::optional<roost::tls_options> tls;
  /// The last will (`will`); none by default.
  std::optional<mqtt::will> will;
  roost::logger log;
};

struct server_options : connection_options {
  /// The QoS the server subscribes to its handlers' topics with (`subscribeOptions.qos`;
  /// NestJS's library's default is 0).
  int qos = 0;
  /// A shared subscription group (roost's option, `share`): every handler's topic is
  /// subscribed as `$share/<share>/<topic>`, so the servers of one group share the messages
  /// (the broker hands each to one of them). A handler whose pattern has a `$share/` prefix of
  /// its own keeps it. Empty: each server gets every message.
  std::string share;
  /// What the server takes from its peers (roost/limits.hpp). "Per connection" is the server's
  /// connection to the broker, which carries all its messages; `max_connections` does not
  /// apply. A message too large is answered with the error when it is a request.
  roost::limits serving;
};

struct client_options : connection_options {
  /// The QoS of requests and events whose call gives no record saying otherwise (NestJS
  /// publishes with its library's default, 0, unless an MqttRecord sets one). With QoS 1 or 2,
  /// an emit completes when the broker acknowledged the event.
  int qos = 0;
  /// MQTT 5 user properties sent with every request and event (NestJS's client option
  /// `userProperties`); a call's own headers win over these. Not sent over MQTT 3.1.1.
  roost::headers user_properties;
};

/// One message's own MQTT options, NestJS's `new MqttRecordBuilder(data).setQoS(1)...`: given
/// as `call_options::record` to a call or an emit (`o.record = mqtt::record{...}`).
struct record {
  std::optional<int> qos;  ///< `setQoS`; none: the client's `qos`
  bool retain = false;     ///< `setRetain`
  bool dup = false;        ///< `setDup` (the library sets it itself on a resend; kept for the API)
  /// MQTT 5 properties (`setProperties`); ignored over MQTT 3.1.1.
  roost::headers user_properties;  ///< over the call's headers and the client's of one name
  std::string content_type;        ///< `contentType`
  std::optional<std::uint32_t> message_expiry_interval;  ///< seconds (`messageExpiryInterval`)
};

}  // namespace roost::mqtt
