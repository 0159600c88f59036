#pragma once
/// \file The messages of the WebSocket transport, sans-I/O: what a server reads (a NestJS
/// gateway message `{"event":E,"data":D}`, or a microservice packet `{"pattern":P,"data":D,
/// "id":I}` for calls with correlation), and what each side writes. Never throws on bad input.

#include <roost/json.hpp>
#include <roost/packet.hpp>

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace roost::ws::detail {

/// One message a peer sent to a server.
struct inbound_message {
  /// True for the gateway shape `{"event":E,"data":D}`: `packet.pattern` is E, `packet.data`
  /// is D, there is no id, and the answers go back the way NestJS's platform-ws sends them.
  /// False for a packet with a `pattern` member (`packet` as NestJS's TCP transport reads it).
  bool gateway = false;
  inbound_packet packet;
};

/// Decodes one message. error::invalid_argument for a text that is not a JSON object with a
/// `pattern` or an `event` member (platform-ws drops such a message without a word).
boost::system::result<inbound_message> decode_message(std::string_view text);

/// One message a client read: a reply to one of its calls (it has an `id` and one of
/// `response`, `err`, `isDisposed`), or anything else, which is a push: the `event` and `data`
/// of a `{"event":E,"data":D}`, or an empty event and the whole document (a NestJS gateway's
/// answer, which is the handler's value as it is).
struct client_message {
  std::optional<inbound_reply> reply;
  std::string event;
  json::value data;
};

/// Decodes what a client read; error::invalid_argument when it is not JSON.
boost::system::result<client_message> decode_client_message(std::string_view text);

/// Appends `{"event":E,"data":D}`: a push, and a client's event in the gateway shape.
void encode_push(std::string& out, std::string_view event, const json::value& data);

/// Appends what platform-ws (NestJS 12) sends when a gateway handler fails:
/// `{"event":"exception","data":P}` where P is an error object as it is, else (the error's
/// message, or NestJS's unknown-error object) `{"status":"error","message":M,"cause":
/// {"pattern":E,"data":D}}`.
void encode_gateway_error(std::string& out, const json::value& err, const json::value& event,
                          const json::value& data);

}  // namespace roost::ws::detail
