#include <roost/ws/detail/message_codec.hpp>

#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <boost/json/serialize.hpp>

namespace roost::ws::detail {

namespace {

boost::system::result<json::value> parse(std::string_view text) {
  json::error_code ec;
  // As JavaScript's JSON.parse reads it (numbers), with a bounded nesting depth.
  auto doc = roost::detail::parse_json(text, ec);
  if (ec) return make_error_code(error::invalid_argument);
  return doc;
}

// What NestJS's microservice exception filter makes of an error it does not know, and its
// gateway filter too, with a cause.
bool is_unknown_error(const json::object& o) {
  if (o.size() != 2) return false;
  const auto* status = o.if_contains("status");
  const auto* message = o.if_contains("message");
  return status && message && status->is_string() && *status == "error" && message->is_string();
}

}  // namespace

boost::system::result<inbound_message> decode_message(std::string_view text) {
  auto doc = parse(text);
  if (!doc || !doc->is_object()) return make_error_code(error::invalid_argument);
  auto& o = doc->as_object();
  inbound_message m;
  if (o.contains("pattern")) {
    m.packet = inbound_from_value(std::move(*doc));
    return m;
  }
  auto* event = o.if_contains("event");
  if (!event) return make_error_code(error::invalid_argument);
  m.gateway = true;
  m.packet.pattern = std::move(*event);
  if (auto* data = o.if_contains("data")) m.packet.data = std::move(*data);
  return m;
}

boost::system::result<client_message> decode_client_message(std::string_view text) {
  auto doc = parse(text);
  if (!doc) return doc.error();
  client_message m;
  if (auto* o = doc->if_object()) {
    const bool answers = o->contains("id") && (o->contains("response") || o->contains("err") ||
                                               o->contains("isDisposed"));
    if (answers) {
      m.reply = reply_from_value(std::move(*doc));
      return m;
    }
    auto* event = o->if_contains("event");
    if (event && event->is_string() && o->size() <= 2) {
      m.event = std::string(event->get_string());
      if (auto* data = o->if_contains("data")) m.data = std::move(*data);
      return m;
    }
  }
  m.data = std::move(*doc);
  return m;
}

void encode_push(std::string& out, std::string_view event, const json::value& data) {
  out += "{\"event\":";
  roost::detail::write_json_string(event, out);
  out += ",\"data\":";
  roost::detail::write_json(data, out);
  out += '}';
}

void encode_gateway_error(std::string& out, const json::value& err, const json::value& event,
                          const json::value& data) {
  out += "{\"event\":\"exception\",\"data\":";
  const auto* o = err.if_object();
  if (o && !is_unknown_error(*o)) {
    roost::detail::write_json(err, out);
  } else {
    out += "{\"status\":\"error\",\"message\":";
    if (o) {
      roost::detail::write_json(o->at("message"), out);
    } else if (err.is_string()) {
      roost::detail::write_json(err, out);
    } else {
      roost::detail::write_json(json::value(json::serialize(err)), out);
    }
    out += ",\"cause\":{\"pattern\":";
    roost::detail::write_json(event, out);
    out += ",\"data\":";
    roost::detail::write_json(data, out);
    out += "}}";
  }
  out += '}';
}

}  // namespace roost::ws::detail
