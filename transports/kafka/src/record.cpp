#include <roost/kafka/detail/record.hpp>

#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <charconv>

namespace roost::kafka::detail {
namespace {

// The length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s) noexcept {
  const auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

// Text as Node's `buffer.toString('utf8')` gives it: each byte that does not start a valid
// sequence becomes U+FFFD. Valid text (nearly all of it) is copied in one go.
std::string utf8_text(std::string_view s) {
  std::string out;
  std::size_t i = 0, valid_from = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence(s.substr(i));
    if (n > 0) {
      i += n;
      continue;
    }
    if (out.empty()) out.reserve(s.size() + 8);
    out.append(s.substr(valid_from, i - valid_from)).append("\xEF\xBF\xBD");
    valid_from = ++i;
  }
  if (valid_from == 0) return std::string(s);
  out.append(s.substr(valid_from));
  return out;
}

json::value buffer_json(std::string_view bytes) {
  json::array data;
  data.reserve(bytes.size());
  for (const char c : bytes) data.emplace_back(static_cast<unsigned char>(c));
  return json::object{{"type", "Buffer"}, {"data", std::move(data)}};
}

// NestJS's parse of a header's text (the error header): JSON when it starts with `{` or `[`
// and parses, the text otherwise.
json::value text_or_json(std::string text) {
  if (!text.empty() && (text.front() == '{' || text.front() == '[')) {
    json::error_code ec;
    auto v = roost::detail::parse_json(text, ec);
    if (!ec) return v;
  }
  return json::string(std::move(text));
}

std::optional<std::int32_t> partition_of(const std::string* text) {
  if (!text || text->empty()) return std::nullopt;
  std::int32_t p = 0;
  const auto* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, p);
  if (ec != std::errc() || ptr != end || p < 0) return std::nullopt;
  return p;
}

}  // namespace

bool valid_topic(std::string_view name) noexcept {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

json::value parse_value(const std::optional<std::string>& bytes) {
  if (!bytes) return nullptr;
  if (!bytes->empty() && bytes->front() == '\0') return buffer_json(*bytes);
  return text_or_json(utf8_text(*bytes));
}

std::optional<std::string> encode_value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return std::nullopt;
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::object:
    case json::kind::array:
      return roost::detail::to_json(v);
    case json::kind::bool_:
      return std::string(v.get_bool() ? "true" : "false");
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      std::string out;
      roost::detail::write_js_number(v.get_double(), out);
      return out;
    }
  }
  return std::nullopt;
}

inbound_record decode_inbound(const record& r, bool keep_binary) {
  inbound_record out;
  out.packet.pattern = json::string(r.topic);
  out.packet.data = keep_binary && r.value ? buffer_json(*r.value) : parse_value(r.value);
  const std::string* id = r.headers.get(correlation_id_header);
  const std::string* reply_topic = r.headers.get(reply_topic_header);
  if (id && reply_topic) {
    // As text, like NestJS's (Node's toString): the id in a packet is JSON. The reply carries
    // the header's bytes as they came.
    out.packet.id = json::string(utf8_text(*id));
    out.reply_topic = *reply_topic;
    out.reply_partition = partition_of(r.headers.get(reply_partition_header));
  }
  return out;
}

record encode_reply(const reply_packet& reply, std::string_view correlation_id) {
  record out;
  out.headers.add(std::string(correlation_id_header), std::string(correlation_id));
  switch (reply.type) {
    case reply_packet::kind::value:
      out.value = encode_value(reply.body);
      break;
    case reply_packet::kind::error:
      out.headers.add(std::string(error_header), reply.body.is_string()
                                                     ? std::string(reply.body.get_string())
                                                     : roost::detail::to_json(reply.body));
      break;
    case reply_packet::kind::no_handler:
      out.headers.add(std::string(error_header), std::string(no_handler_message));
      return out;  // NestJS sends it without the disposed header
    case reply_packet::kind::end:
      break;
  }
  if (reply.disposed) out.headers.add(std::string(disposed_header), std::string(1, '\0'));
  return out;
}

std::optional<inbound_reply> decode_reply(const record& r, bool keep_binary) {
  const std::string* id = r.headers.get(correlation_id_header);
  if (!id) return std::nullopt;
  inbound_reply out;
  out.id = json::string(utf8_text(*id));
  if (const std::string* err = r.headers.get(error_header)) {
    out.err = text_or_json(utf8_text(*err));
    out.disposed = true;
    return out;
  }
  out.disposed = r.headers.contains(disposed_header);
  if (r.value || !out.disposed) {
    out.response = keep_binary && r.value ? buffer_json(*r.value) : parse_value(r.value);
  }
  return out;
}

}  // namespace roost::kafka::detail
