#pragma once
/// \file The NestJS packet model and its JSON codec (sans-I/O; never throws on bad input).

#include <roost/detail/value_writer.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace roost {

/// A request (`id` set) or an event (`id` absent) as a server receives it.
struct inbound_packet {
  json::value pattern;                   ///< as the client sent it: string, number or object
  json::value data;                      ///< the payload (null when absent)
  std::optional<json::value> id;         ///< present for requests, absent for events
  std::optional<json::object> metadata;  ///< NestJS 12 `metadata`, when sent
  /// Set only by decode_inbound() with `data_as_text`, pointing into the decoded text, for the
  /// dispatcher to serve a typed handler without building values: `data` still as its JSON
  /// text (then `data` is null), and a request's id (a plain string) as its JSON text, quotes
  /// included (then `id` is empty), printable ASCII without escapes (a transport may count
  /// its bytes as characters). dispatcher::serve() reads or parses them before returning;
  /// parse_deferred() makes them values.
  std::string_view data_text;
  std::string_view id_text;

  /// A request (it has an id, as a value or as text), not an event.
  bool is_request() const noexcept { return id.has_value() || !id_text.empty(); }
};

/// One reply packet. The transport adds the request id when it writes it.
struct reply_packet {
  enum class kind : unsigned char {
    value,       ///< `{"response":v[,"isDisposed":true]}`
    error,       ///< `{"err":e,"isDisposed":true}`
    end,         ///< `{"isDisposed":true}`
    no_handler,  ///< `{"id":..,"status":"error","err":"There is no matching ..."}`
  };
  kind type = kind::end;
  json::value body;      ///< the response value or the error value
  bool disposed = true;  ///< the last packet of the reply

  static reply_packet value(json::value v, bool last) { return {kind::value, std::move(v), last}; }
  static reply_packet error(json::value e) { return {kind::error, std::move(e), true}; }
  static reply_packet end() { return {kind::end, nullptr, true}; }
  static reply_packet no_handler() { return {kind::no_handler, nullptr, true}; }
};

/// A reply as a client decodes it.
struct inbound_reply {
  json::value id;
  std::optional<json::value> response;  ///< absent: no value in this packet
  std::optional<json::value> err;       ///< present: the call failed (final)
  bool disposed = false;                ///< the last packet of the reply
};

/// The exact text NestJS sends when no handler matches a request.
inline constexpr std::string_view no_handler_message =
    "There is no matching message handler defined in the remote service.";

/// How a server decodes an incoming document (NestJS `IncomingRequestDeserializer`).
/// `channel` is the channel/subject/topic the document arrived on, used as the pattern of an
/// "external" message (one without `pattern` and `data`); TCP has none.
/// The packet's values live in `sp` (e.g. a per-frame monotonic buffer), except a string
/// pattern, which may use the default storage (the context it goes to owns it).
boost::system::result<inbound_packet> decode_inbound(std::string_view json_text,
                                                     const json::value& channel = nullptr,
                                                     json::storage_ptr sp = {});
/// The same, leaving a `data` of the plain kinds detail::read_simple_json reads (a plain
/// integer, string or literal, or a flat array of them) unparsed, as `data_text`, and a plain
/// string id as `id_text`, when `data_as_text`: checked, but not built. `json_text` must then
/// outlive the packet's serving.
boost::system::result<inbound_packet> decode_inbound(std::string_view json_text,
                                                     const json::value& channel,
                                                     json::storage_ptr sp, bool data_as_text);
/// `data_text` and `id_text` parsed into `data` and `id` (in data's storage), when set. Never
/// throws but `std::bad_alloc`.
void parse_deferred(inbound_packet& p);
/// A copy of `p` whose values use the default storage: for a packet decoded into a scratch
/// buffer that must outlive it (served later by a coroutine).
inbound_packet with_default_storage(const inbound_packet& p);

/// The pattern and id of a message a server refuses to decode (larger than its
/// `limits::max_message_size`): the envelope's top level is scanned, every value but these two
/// skipped by its brackets and quotes without being parsed or checked, so the cost is one pass
/// over the bytes and no memory. `data` stays null. Without a `pattern` member the message is
/// an external one (`channel` its pattern, no id); a pattern or id longer than 4 KiB is left
/// out (null pattern, no id). Never throws.
inbound_packet peek_inbound(std::string_view json_text, const json::value& channel = nullptr);

/// Same as decode_inbound for an already parsed document.
inbound_packet inbound_from_value(json::value doc, const json::value& channel = nullptr);

/// How a client decodes a reply (NestJS 12 `IncomingResponseDeserializer`): anything that is
/// not a reply envelope becomes `{id, response: <whole document>, isDisposed: true}`.
boost::system::result<inbound_reply> decode_reply(std::string_view json_text);
inbound_reply reply_from_value(json::value doc);

/// Appends a request `{"pattern","data"[,"metadata"],"id"}` as NestJS writes it.
void encode_request(std::string& out, const json::value& pattern, const json::value& data,
                    const json::value& id, const json::object* metadata = nullptr);
/// The same with a string id (a client's own), written without a json::value for it.
void encode_request(std::string& out, const json::value& pattern, const json::value& data,
                    std::string_view id, const json::object* metadata = nullptr);
/// Appends an event `{"pattern","data"[,"metadata"]}`.
void encode_event(std::string& out, const json::value& pattern, const json::value& data,
                  const json::object* metadata = nullptr);
/// Appends a value reply `{"response":..,"isDisposed":true,"id":..}` whose value `write`
/// appends (a typed handler's result written without a json::value); `id_json` is the id's
/// JSON text (inbound_packet::id_text).
void encode_value_reply(std::string& out, detail::value_writer write, std::string_view id_json);
/// Appends a reply with its id last (`{"response":..,"isDisposed":true,"id":..}`), or without
/// any id when `id` is null and `with_id` is false (RabbitMQ replies carry none).
void encode_reply(std::string& out, const reply_packet& reply, const json::value& id,
                  bool with_id = true);

}  // namespace roost
