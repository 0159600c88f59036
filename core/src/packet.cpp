#include <roost/packet.hpp>

#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <boost/json/parse.hpp>

#include <array>
#include <cstring>

namespace roost {
namespace {

// JSON.parse has no depth limit; Boost's parser recurses per level, so allow deep documents
// but not unbounded ones.
json::parse_options packet_parse_options() {
  json::parse_options o;
  o.max_depth = 512;
  return o;
}

bool is_falsy(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return true;
    case json::kind::bool_:
      return !v.get_bool();
    case json::kind::int64:
      return v.get_int64() == 0;
    case json::kind::uint64:
      return v.get_uint64() == 0;
    case json::kind::double_:
      return v.get_double() == 0 || v.get_double() != v.get_double();
    case json::kind::string:
      return v.get_string().empty();
    default:
      return false;
  }
}

bool is_json_space(char c) {
  // One comparison for the common case, a byte that is no space at all.
  return static_cast<unsigned char>(c) <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

// The body of a JSON string at `text[at]` (the opening quote) that needs no decoding: printable
// ASCII without escapes. Sets `at` past the closing quote; nullopt for any other string.
// Bytes that may stand in such a string as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> plain_byte = [] {
  std::array<bool, 256> t{};
  for (std::size_t c = 0x20; c < 0x7f; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

std::optional<std::string_view> plain_string(std::string_view text, std::size_t& at) {
  if (at >= text.size() || text[at] != '"') return std::nullopt;
  const char* const begin = text.data() + at + 1;
  const char* const end = text.data() + text.size();
  const char* p = begin;
  while (p != end && plain_byte[static_cast<unsigned char>(*p)]) ++p;
  if (p == end || *p != '"') return std::nullopt;
  at = static_cast<std::size_t>(p + 1 - text.data());
  return std::string_view(begin, static_cast<std::size_t>(p - begin));
}

// Advances `at` past `quoted` (a key with its quotes) when the text there starts with it.
template <std::size_t n>
bool take(std::string_view text, std::size_t& at, const char (&quoted)[n]) {
  if (text.size() - at < n - 1 || std::memcmp(text.data() + at, quoted, n - 1) != 0) return false;
  at += n - 1;
  return true;
}

// Reads the flat JSON object that is the whole of `text`, member by member, for the envelopes
// read without a document: `key(at)` names the member whose key is at `text[at]` and advances
// past the key (an enumerator below 32), or returns `Other`; `value(k, at)` reads its value and
// advances past it. False for a member not taken, a repeated one, or bad JSON between them;
// `seen` gets a bit per member read, for the caller to check what must be there.
template <auto Other, class Key, class Value>
bool scan_plain_object(std::string_view text, Key key, Value value, unsigned& seen) {
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && is_json_space(text[at])) ++at;
  };
  skip_space();
  if (at >= text.size() || text[at] != '{') return false;
  ++at;
  seen = 0;
  for (;;) {
    skip_space();
    const auto k = key(at);
    if (k == Other) return false;
    const unsigned bit = 1u << static_cast<unsigned>(k);
    if (seen & bit) return false;
    seen |= bit;
    skip_space();
    if (at >= text.size() || text[at] != ':') return false;
    ++at;
    skip_space();
    if (!value(k, at)) return false;
    skip_space();
    if (at < text.size() && text[at] == ',') {
      ++at;
      continue;
    }
    if (at >= text.size() || text[at] != '}') return false;
    ++at;
    break;
  }
  skip_space();
  return at == text.size();
}

// Which envelope member the key at `text[at]` names (advancing past it), or none.
enum class member { pattern, data, id, metadata, other };
member envelope_key(std::string_view text, std::size_t& at) {
  const auto is = [&]<std::size_t n>(const char(&quoted)[n]) { return take(text, at, quoted); };
  if (text.size() - at < 2) return member::other;
  switch (text[at + 1]) {
    case 'p':
      return is("\"pattern\"") ? member::pattern : member::other;
    case 'd':
      return is("\"data\"") ? member::data : member::other;
    case 'i':
      return is("\"id\"") ? member::id : member::other;
    case 'm':
      return is("\"metadata\"") ? member::metadata : member::other;
    default:
      return member::other;
  }
}

// The envelope nearly every NestJS peer sends: `{"pattern":"<route>","data":<any>,"id":"<id>"}`
// in any order, without `id` for events, with NestJS 12's `metadata` when set, the route and
// the id plain strings. It is read without building a document for the envelope itself: only
// `data` and `metadata` go through the parser. Anything else (other or repeated keys, escapes,
// non-ASCII or non-string patterns and ids, bad JSON) returns false and takes the general path,
// which decides it as before: the two agree on every input this accepts (tests and the packet
// fuzzer check it). Fills `p` (each value in the storage it already has); false may leave it
// partly filled.
// With `data_as_text`, a `data` that read_simple_json reads is only checked, and left as its
// text in `p.data_text`.
bool decode_plain_envelope(std::string_view text, inbound_packet& p, bool data_as_text) {
  const json::storage_ptr& sp = p.data.storage();
  const auto key = [&](std::size_t& at) { return envelope_key(text, at); };
  const auto value = [&](member key, std::size_t& at) {
    if (key == member::pattern || key == member::id) {
      const std::size_t start = at;
      const auto value = plain_string(text, at);
      if (!value) return false;
      if (key == member::pattern)
        p.pattern.emplace_string().assign(*value);
      else if (data_as_text)
        p.id_text = text.substr(start, at - start);
      else
        p.id.emplace(json::string(*value, sp));
      return true;
    }
    std::size_t used = 0;
    if (key == member::data && data_as_text && detail::is_simple_json(text.substr(at), used)) {
      p.data_text = text.substr(at, used);
      at += used;
      return true;
    }
    // Most data is read in place; the rest goes through the parser.
    if (key == member::data && detail::read_simple_json(text.substr(at), used, p.data)) {
      at += used;
      return true;
    }
    json::error_code ec;
    json::parse_options o = packet_parse_options();
    --o.max_depth;  // one level is the envelope
    json::value v = detail::parse_json_prefix(text.substr(at), used, ec, sp, o);
    if (ec) return false;
    at += used;
    if (key == member::data) {
      p.data = std::move(v);
      p.data_text = {};
    } else if (v.is_object()) {  // NestJS ignores metadata that is not an object
      p.metadata.emplace(std::move(v.get_object()));
    }
    return true;
  };
  unsigned seen = 0;
  return scan_plain_object<member::other>(text, key, value, seen) &&
         (seen & (1u << static_cast<unsigned>(member::pattern)));
}

// The envelope as NestJS's clients write it (JSON.stringify, no whitespace, this order):
// `{"pattern":"<route>","data":<value>,"id":"<id>"}`, or without the id (an event), the route
// and the id plain strings and the data a value read_simple_json reads. Read by comparing its
// fixed parts instead of scanning for keys: the same packet as decode_plain_envelope gives for
// it, at a fraction of the cost. False for anything else (the caller then takes
// decode_plain_envelope; `p.data` may have been read).
bool decode_compact_envelope(std::string_view text, inbound_packet& p, bool data_as_text) {
  // take() compares a constant number of bytes, which the compiler does inline.
  std::size_t at = 0;
  if (!take(text, at, "{\"pattern\":")) return false;
  const auto pattern = plain_string(text, at);
  if (!pattern || !take(text, at, ",\"data\":")) return false;
  if (at < text.size() && is_json_space(text[at])) return false;
  const std::size_t data_at = at;
  std::size_t used = 0;
  // Read into the packet at once: should the rest fail, decode_plain_envelope reads this
  // same member again (or the general parser makes a new packet).
  if (data_as_text ? !detail::is_simple_json(text.substr(at), used)
                   : !detail::read_simple_json(text.substr(at), used, p.data)) {
    return false;
  }
  at += used;
  std::size_t id_at = 0;
  std::optional<std::string_view> id;
  if (take(text, at, ",\"id\":")) {
    id_at = at;
    id = plain_string(text, at);
    if (!id) return false;
  }
  if (at + 1 != text.size() || text[at] != '}') return false;
  p.pattern.emplace_string().assign(*pattern);
  if (data_as_text) p.data_text = text.substr(data_at, used);
  if (id) {
    if (data_as_text) {
      p.id_text = text.substr(id_at, at - id_at);
    } else {
      p.id.emplace(json::string(*id, p.data.storage()));
    }
  }
  return true;
}

// Which reply member the key at `text[at]` names (advancing past it), or none.
enum class reply_member { id, err, response, is_disposed, status, other };
reply_member reply_key(std::string_view text, std::size_t& at) {
  const auto is = [&]<std::size_t n>(const char(&quoted)[n]) { return take(text, at, quoted); };
  if (text.size() - at < 2) return reply_member::other;
  switch (text[at + 1]) {
    case 'i':
      return is("\"id\"")           ? reply_member::id
             : is("\"isDisposed\"") ? reply_member::is_disposed
                                    : reply_member::other;
    case 'e':
      return is("\"err\"") ? reply_member::err : reply_member::other;
    case 'r':
      return is("\"response\"") ? reply_member::response : reply_member::other;
    case 's':
      return is("\"status\"") ? reply_member::status : reply_member::other;
    default:
      return reply_member::other;
  }
}

// Reads the value of `key` at `text[at]` into `r` and advances past it; false for bad JSON.
bool read_reply_member(std::string_view text, std::size_t& at, reply_member key, inbound_reply& r) {
  // The usual id and end flag straight from the text (a bad byte after them fails the caller).
  if (key == reply_member::id) {
    std::size_t end = at;
    if (auto id = plain_string(text, end)) {
      r.id.emplace_string().assign(*id);
      at = end;
      return true;
    }
  } else if (key == reply_member::is_disposed && text.compare(at, 4, "true") == 0) {
    r.disposed = true;
    at += 4;
    return true;
  }
  json::value v;
  std::size_t used = 0;
  if (!detail::read_simple_json(text.substr(at), used, v)) {
    json::error_code ec;
    json::parse_options o = packet_parse_options();
    --o.max_depth;  // one level is the envelope
    v = detail::parse_json_prefix(text.substr(at), used, ec, {}, o);
    if (ec) return false;
  }
  at += used;
  switch (key) {
    case reply_member::id:
      r.id = std::move(v);
      break;
    case reply_member::err:
      if (!is_falsy(v)) r.err = std::move(v);
      break;
    case reply_member::response:
      r.response = std::move(v);
      break;
    case reply_member::is_disposed:
      r.disposed = !is_falsy(v);
      break;
    default:
      break;
  }
  return true;
}

// The replies NestJS servers send (`{"response":<any>,"isDisposed":true,"id":"<id>"}`, an error,
// the end of a stream, no handler), read without building a document for the envelope: values
// read_simple_json takes are read in place, others parsed alone. Anything else (other or
// repeated keys, an empty object, bad JSON) returns false and takes the general path, which
// decides it as before: the two agree on every input this accepts (tests and the packet fuzzer
// check it). Fills `r`, a default one; false may leave it partly filled.
bool decode_plain_reply(std::string_view text, inbound_reply& r) {
  const auto key = [&](std::size_t& at) { return reply_key(text, at); };
  const auto value = [&](reply_member key, std::size_t& at) {
    return read_reply_member(text, at, key, r);
  };
  unsigned seen = 0;
  return scan_plain_object<reply_member::other>(text, key, value, seen);
}

// Advances `at` past the JSON value at `text[at]` without reading it: strings by their quotes
// (escapes skipped), objects and arrays by their brackets, a scalar up to the next delimiter.
// Nothing is checked beyond that; false when the text ends first.
bool skip_value(std::string_view text, std::size_t& at) {
  const std::size_t n = text.size();
  std::size_t depth = 0;
  do {
    if (at >= n) return false;
    const char c = text[at];
    if (c == '"') {
      for (++at; at < n && text[at] != '"'; ++at) {
        if (text[at] == '\\') ++at;
      }
      if (at >= n) return false;
      ++at;
    } else if (c == '{' || c == '[') {
      ++depth;
      ++at;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return false;
      --depth;
      ++at;
    } else if (depth == 0) {
      while (at < n && text[at] != ',' && text[at] != '}' && text[at] != ']' &&
             !is_json_space(text[at])) {
        ++at;
      }
      return true;
    } else {
      ++at;
    }
  } while (depth > 0);
  return true;
}

// A value found by peek_inbound, parsed alone when it is short enough.
std::optional<json::value> short_value(std::string_view text) {
  constexpr std::size_t longest = 4096;
  if (text.size() > longest) return std::nullopt;
  json::error_code ec;
  json::value v = detail::parse_json(text, ec, {}, packet_parse_options());
  if (ec) return std::nullopt;
  return v;
}

}  // namespace

inbound_packet peek_inbound(std::string_view text, const json::value& channel) {
  inbound_packet p;
  std::optional<std::string_view> pattern, id;
  bool data = false;
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && is_json_space(text[at])) ++at;
  };
  skip_space();
  if (at < text.size() && text[at] == '{') {
    ++at;
    for (;;) {
      skip_space();
      const std::size_t key_at = at;
      if (at >= text.size() || text[at] != '"' || !skip_value(text, at)) break;
      const std::string_view key = text.substr(key_at, at - key_at);
      skip_space();
      if (at >= text.size() || text[at] != ':') break;
      ++at;
      skip_space();
      const std::size_t value_at = at;
      if (!skip_value(text, at)) break;
      // The last of repeated members counts, as JSON.parse keeps it.
      if (key == "\"pattern\"") pattern = text.substr(value_at, at - value_at);
      if (key == "\"id\"") id = text.substr(value_at, at - value_at);
      if (key == "\"data\"") data = true;
      skip_space();
      if (at >= text.size() || text[at] != ',') break;
      ++at;
    }
  }
  // As inbound_from_value decides: neither member makes it an external message.
  if (!pattern && !data) {
    p.pattern = channel;
    return p;
  }
  if (pattern) {
    if (auto v = short_value(*pattern)) p.pattern = std::move(*v);
  }
  if (id) p.id = short_value(*id);
  return p;
}

inbound_packet inbound_from_value(json::value doc, const json::value& channel) {
  // The members share the document's storage, so moving them out does not copy.
  inbound_packet p{json::value(doc.storage()), json::value(doc.storage())};
  auto* obj = doc.if_object();
  // One pass over the members (a JSON object keeps the last of duplicate keys, as JS does).
  json::value* pattern = nullptr;
  json::value* data = nullptr;
  json::value* id = nullptr;
  json::value* metadata = nullptr;
  if (obj) {
    for (auto& kv : *obj) {
      const auto k = kv.key();
      if (k == "pattern") {
        pattern = &kv.value();
      } else if (k == "data") {
        data = &kv.value();
      } else if (k == "id") {
        id = &kv.value();
      } else if (k == "metadata") {
        metadata = &kv.value();
      }
    }
  }
  if (is_falsy(doc) || !obj || (!pattern && !data)) {
    // NestJS treats such a document as an "external" event: the whole value is the data and
    // the channel it came on is the pattern. Its id, if any, is lost.
    p.pattern = channel;
    p.data = std::move(doc);
    return p;
  }
  if (pattern) p.pattern = std::move(*pattern);
  if (data) p.data = std::move(*data);
  if (id) p.id = std::move(*id);
  if (metadata && metadata->is_object()) p.metadata = std::move(metadata->get_object());
  return p;
}

inbound_packet with_default_storage(const inbound_packet& p) {
  inbound_packet out{json::value(p.pattern, {}), json::value(p.data, {})};
  if (p.id) out.id.emplace(*p.id, json::storage_ptr());
  out.data_text = p.data_text;
  out.id_text = p.id_text;
  parse_deferred(out);
  if (p.metadata) out.metadata.emplace(*p.metadata, json::storage_ptr());
  return out;
}

namespace {
boost::system::result<inbound_packet> decode_packet(std::string_view json_text,
                                                    const json::value& channel,
                                                    json::storage_ptr sp, bool data_as_text) {
  // Filled in place and returned by every path (no move of its values on the way out). The
  // pattern read here goes to the handler's context, which owns it: it is built in the
  // default storage at once, so that serving the packet moves it instead of copying it out of
  // the caller's (a transport's scratch buffer).
  // (Braced: clang before 16 has no parenthesized aggregate initialization.)
  boost::system::result<inbound_packet> r(boost::system::in_place_value,
                                          inbound_packet{json::value(), json::value(sp)});
  inbound_packet& p = *r;
  if (decode_compact_envelope(json_text, p, data_as_text) ||
      decode_plain_envelope(json_text, p, data_as_text)) {
    return r;
  }
  boost::system::error_code ec;
  json::value doc = detail::parse_json(json_text, ec, std::move(sp), packet_parse_options());
  if (ec) {
    r = make_error_code(error::protocol_error);
  } else {
    r.emplace(inbound_from_value(std::move(doc), channel));  // its values keep doc's storage
  }
  return r;
}
}  // namespace

// Both only call decode_packet: bench/instructions.sh counts requests as calls of functions
// named decode_inbound.
boost::system::result<inbound_packet> decode_inbound(std::string_view json_text,
                                                     const json::value& channel,
                                                     json::storage_ptr sp) {
  return decode_packet(json_text, channel, std::move(sp), false);
}

boost::system::result<inbound_packet> decode_inbound(std::string_view json_text,
                                                     const json::value& channel,
                                                     json::storage_ptr sp, bool data_as_text) {
  return decode_packet(json_text, channel, std::move(sp), data_as_text);
}

void parse_deferred(inbound_packet& p) {
  // Both were checked by decode_inbound: they read.
  std::size_t used = 0;
  if (!p.data_text.empty()) {
    detail::read_simple_json(p.data_text, used, p.data);
    p.data_text = {};
  }
  if (!p.id_text.empty()) {
    p.id.emplace(p.data.storage());
    detail::read_simple_json(p.id_text, used, *p.id);
    p.id_text = {};
  }
}

inbound_reply reply_from_value(json::value doc) {
  inbound_reply r;
  auto* obj = doc.if_object();
  bool envelope = obj && !obj->empty();
  if (envelope) {
    for (const auto& kv : *obj) {
      const auto k = kv.key();
      if (k != "id" && k != "err" && k != "response" && k != "isDisposed" && k != "status") {
        envelope = false;
        break;
      }
    }
  }
  if (!envelope) {
    if (obj) {
      if (auto* id = obj->if_contains("id")) r.id = *id;
    }
    r.response = std::move(doc);
    r.disposed = true;
    return r;
  }
  if (auto* v = obj->if_contains("id")) r.id = std::move(*v);
  if (auto* v = obj->if_contains("err"); v && !is_falsy(*v)) r.err = std::move(*v);
  if (auto* v = obj->if_contains("response")) r.response = std::move(*v);
  if (auto* v = obj->if_contains("isDisposed")) r.disposed = !is_falsy(*v);
  return r;
}

boost::system::result<inbound_reply> decode_reply(std::string_view json_text) {
  // Filled in place: each move of a reply moves (and destroys) three JSON values.
  boost::system::result<inbound_reply> r(boost::system::in_place_value);
  if (decode_plain_reply(json_text, *r)) return r;
  boost::system::error_code ec;
  json::value doc = detail::parse_json(json_text, ec, {}, packet_parse_options());
  if (ec) return make_error_code(error::protocol_error);
  return reply_from_value(std::move(doc));
}

namespace {
// A request up to its id: `{"pattern":..,"data":..[,"metadata":..],"id":`.
void encode_request_head(std::string& out, const json::value& pattern, const json::value& data,
                         const json::object* metadata) {
  out += "{\"pattern\":";
  detail::write_json(pattern, out);
  out += ",\"data\":";
  detail::write_json(data, out);
  if (metadata) {
    out += ",\"metadata\":";
    detail::write_json(*metadata, out);
  }
  out += ",\"id\":";
}
}  // namespace

void encode_request(std::string& out, const json::value& pattern, const json::value& data,
                    const json::value& id, const json::object* metadata) {
  encode_request_head(out, pattern, data, metadata);
  detail::write_json(id, out);
  out += '}';
}

void encode_request(std::string& out, const json::value& pattern, const json::value& data,
                    std::string_view id, const json::object* metadata) {
  encode_request_head(out, pattern, data, metadata);
  detail::write_json_string(id, out);
  out += '}';
}

void encode_event(std::string& out, const json::value& pattern, const json::value& data,
                  const json::object* metadata) {
  out += "{\"pattern\":";
  detail::write_json(pattern, out);
  out += ",\"data\":";
  detail::write_json(data, out);
  if (metadata) {
    out += ",\"metadata\":";
    detail::write_json(*metadata, out);
  }
  out += '}';
}

void encode_value_reply(std::string& out, detail::value_writer write, std::string_view id_json) {
  out += "{\"response\":";
  write(out);
  out += ",\"isDisposed\":true,\"id\":";
  out += id_json;  // a plain string's text: written as it came
  out += '}';
}

void encode_reply(std::string& out, const reply_packet& reply, const json::value& id,
                  bool with_id) {
  // Whole pieces at a time: one append costs about what one character's does.
  switch (reply.type) {
    case reply_packet::kind::no_handler:
      // NestJS writes this one with the id first and without isDisposed.
      out += "{\"id\":";
      detail::write_json(id, out);
      out += ",\"status\":\"error\",\"err\":\"";
      out += no_handler_message;
      out += "\"}";
      return;
    case reply_packet::kind::value:
      out += "{\"response\":";
      detail::write_json(reply.body, out);
      if (reply.disposed) {
        out += with_id ? std::string_view(",\"isDisposed\":true,\"id\":")
                       : std::string_view(",\"isDisposed\":true");
      } else if (with_id) {
        out += ",\"id\":";
      }
      break;
    case reply_packet::kind::error:
      out += "{\"err\":";
      detail::write_json(reply.body, out);
      out += with_id ? std::string_view(",\"isDisposed\":true,\"id\":")
                     : std::string_view(",\"isDisposed\":true");
      break;
    case reply_packet::kind::end:
      out += with_id ? std::string_view("{\"isDisposed\":true,\"id\":")
                     : std::string_view("{\"isDisposed\":true");
      break;
  }
  if (with_id) detail::write_json(id, out);
  out += '}';
}

}  // namespace roost
