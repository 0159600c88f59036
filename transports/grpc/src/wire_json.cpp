#include "wire_json.hpp"

#include <google/protobuf/descriptor.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>

namespace roost::grpc::detail {

namespace pb = google::protobuf;
using field = pb::FieldDescriptor;

namespace {

// ---- the wire format ----------------------------------------------------------------------

enum wire_type : int { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

template <class T>
bool get_fixed(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&v, in.data(), sizeof(T));  // little-endian, as the wire
  in.remove_prefix(sizeof(T));
  return true;
}

bool get_bytes(std::string_view& in, std::string_view& out) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

template <class T>
void put_fixed(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_tag(std::string& out, int number, wire_type t) {
  put_varint(out, (static_cast<std::uint64_t>(number) << 3) | t);
}

void put_bytes(std::string& out, std::string_view b) {
  put_varint(out, b.size());
  out.append(b);
}

wire_type wire_type_of(const field* f) {
  switch (f->type()) {
    case field::TYPE_DOUBLE:
    case field::TYPE_FIXED64:
    case field::TYPE_SFIXED64:
      return fixed64;
    case field::TYPE_FLOAT:
    case field::TYPE_FIXED32:
    case field::TYPE_SFIXED32:
      return fixed32;
    case field::TYPE_STRING:
    case field::TYPE_BYTES:
    case field::TYPE_MESSAGE:
      return length_delimited;
    default:
      return varint;
  }
}

// ---- base64 and UTF-8 ---------------------------------------------------------------------

constexpr char base64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(std::string_view in, std::string& out) {
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                   (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += base64_chars[(n >> 18) & 63];
    out += base64_chars[(n >> 12) & 63];
    out += base64_chars[(n >> 6) & 63];
    out += base64_chars[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += base64_chars[(n >> 18) & 63];
    out += base64_chars[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += base64_chars[(n >> 18) & 63];
    out += base64_chars[(n >> 12) & 63];
    out += base64_chars[(n >> 6) & 63];
    out += '=';
  }
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Standard or URL-safe, padded or not (as protobuf's JSON parser takes).
bool base64_decode(std::string_view in, std::string& out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return bits < 6;  // a single character left over is not base64
}

// Well-formed sequences of one to four bytes (proto3 strings must be UTF-8).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i++]);
    const int more = c < 0x80           ? 0
                     : (c >> 5) == 0x6  ? 1
                     : (c >> 4) == 0xe  ? 2
                     : (c >> 3) == 0x1e ? 3
                                        : -1;
    if (more < 0) return false;
    for (int k = 0; k < more; ++k) {
      if (i >= s.size() || (static_cast<unsigned char>(s[i++]) >> 6) != 0x2) return false;
    }
  }
  return true;
}

// ---- wire to JSON -------------------------------------------------------------------------

// A float or double as protobuf's printer writes it, read back as JSON: an integral value
// within the printer's plain digits is an integer; NaN and the infinities are strings.
json::value number_of(double d, double integral_below) {
  if (std::isnan(d)) return json::string("NaN");
  if (std::isinf(d)) return json::string(d > 0 ? "Infinity" : "-Infinity");
  if (d == std::trunc(d) && std::fabs(d) < integral_below) {
    return json::value(static_cast<std::int64_t>(d));
  }
  return json::value(d);
}

json::value float_of(float f) {
  if (!std::isfinite(f)) return number_of(f, 0);
  // The shortest text that reads back as this float, as the printer's.
  char b[32];
  const auto r = std::to_chars(b, b + sizeof(b), f);
  double d = 0;
  std::from_chars(b, r.ptr, d);
  return number_of(d, 1e6);
}

json::value decimal(std::uint64_t v, bool is_signed) {
  char b[24];
  const auto r = is_signed ? std::to_chars(b, b + sizeof(b), static_cast<std::int64_t>(v))
                           : std::to_chars(b, b + sizeof(b), v);
  return json::string(std::string_view(b, static_cast<std::size_t>(r.ptr - b)));
}

std::int64_t zigzag32(std::uint64_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  return static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
}
std::uint64_t zigzag64(std::uint64_t v) {
  return (v >> 1) ^ (~(v & 1) + 1);
}

bool message_to_json(const pb::Descriptor* d, std::string_view in, json::object& out);

// One value of field `f`, of wire type `t`, read from `in`.
bool value_to_json(const field* f, wire_type t, std::string_view& in, json::value& out) {
  std::uint64_t v = 0;
  if (t != wire_type_of(f)) return false;
  switch (f->type()) {
    case field::TYPE_INT32:
    case field::TYPE_ENUM:
      if (!get_varint(in, v)) return false;
      out = static_cast<std::int64_t>(static_cast<std::int32_t>(v));
      return true;
    case field::TYPE_SINT32:
      if (!get_varint(in, v)) return false;
      out = zigzag32(v);
      return true;
    case field::TYPE_UINT32:
      if (!get_varint(in, v)) return false;
      out = static_cast<std::int64_t>(static_cast<std::uint32_t>(v));
      return true;
    case field::TYPE_BOOL:
      if (!get_varint(in, v)) return false;
      out = v != 0;
      return true;
    case field::TYPE_INT64:
      if (!get_varint(in, v)) return false;
      out = decimal(v, true);
      return true;
    case field::TYPE_UINT64:
      if (!get_varint(in, v)) return false;
      out = decimal(v, false);
      return true;
    case field::TYPE_SINT64:
      if (!get_varint(in, v)) return false;
      out = decimal(zigzag64(v), true);
      return true;
    case field::TYPE_FIXED64:
    case field::TYPE_SFIXED64:
      if (!get_fixed(in, v)) return false;
      out = decimal(v, f->type() == field::TYPE_SFIXED64);
      return true;
    case field::TYPE_FIXED32: {
      std::uint32_t u = 0;
      if (!get_fixed(in, u)) return false;
      out = static_cast<std::int64_t>(u);
      return true;
    }
    case field::TYPE_SFIXED32: {
      std::int32_t s = 0;
      if (!get_fixed(in, s)) return false;
      out = static_cast<std::int64_t>(s);
      return true;
    }
    case field::TYPE_DOUBLE: {
      double x = 0;
      if (!get_fixed(in, x)) return false;
      out = number_of(x, 1e15);
      return true;
    }
    case field::TYPE_FLOAT: {
      float x = 0;
      if (!get_fixed(in, x)) return false;
      out = float_of(x);
      return true;
    }
    case field::TYPE_STRING: {
      std::string_view s;
      if (!get_bytes(in, s) || !valid_utf8(s)) return false;
      out = json::string(s);
      return true;
    }
    case field::TYPE_BYTES: {
      std::string_view s;
      if (!get_bytes(in, s)) return false;
      std::string text;
      base64_encode(s, text);
      out = json::string(text);
      return true;
    }
    case field::TYPE_MESSAGE: {
      std::string_view s;
      if (!get_bytes(in, s)) return false;
      json::object o;
      if (!message_to_json(f->message_type(), s, o)) return false;
      out = std::move(o);
      return true;
    }
    default:
      return false;
  }
}

// The value of a field not on the wire (a map entry's), as the printer shows it.
json::value default_of(const field* f) {
  switch (f->cpp_type()) {
    case field::CPPTYPE_INT64:
    case field::CPPTYPE_UINT64:
      return json::string("0");
    case field::CPPTYPE_BOOL:
      return false;
    case field::CPPTYPE_STRING:
      return json::string();
    case field::CPPTYPE_MESSAGE:
      return json::object();
    default:
      return json::value(std::int64_t(0));
  }
}

// A map entry: its key as the JSON object's key, and its value.
bool entry_to_json(const field* f, std::string_view in, json::object& map) {
  const pb::Descriptor* entry = f->message_type();
  const field* key_field = entry->map_key();
  const field* value_field = entry->map_value();
  json::value key = default_of(key_field), value = default_of(value_field);
  while (!in.empty()) {
    std::uint64_t tag = 0;
    if (!get_varint(in, tag)) return false;
    const auto number = static_cast<int>(tag >> 3);
    const auto t = static_cast<wire_type>(tag & 7);
    const field* which = number == 1 ? key_field : number == 2 ? value_field : nullptr;
    if (!which || !value_to_json(which, t, in, number == 1 ? key : value)) return false;
  }
  std::string name;
  if (key.is_string()) {
    name = key.get_string();
  } else if (key.is_bool()) {
    name = key.get_bool() ? "true" : "false";
  } else {
    name = std::to_string(key.as_int64());
  }
  map[name] = std::move(value);
  return true;
}

bool message_to_json(const pb::Descriptor* d, std::string_view in, json::object& out) {
  std::set<int> messages_seen;  // a message field twice would merge: left to protobuf
  while (!in.empty()) {
    std::uint64_t tag = 0;
    if (!get_varint(in, tag)) return false;
    const auto number = static_cast<int>(tag >> 3);
    const auto t = static_cast<wire_type>(tag & 7);
    const field* f = d->FindFieldByNumber(number);
    if (!f) return false;  // unknown fields: left to protobuf
    const std::string& name = f->json_name();
    if (f->is_map()) {
      std::string_view entry;
      if (t != length_delimited || !get_bytes(in, entry)) return false;
      auto& slot = out[name];
      if (!slot.is_object()) slot = json::object();
      if (!entry_to_json(f, entry, slot.get_object())) return false;
    } else if (f->is_repeated()) {
      auto& slot = out[name];
      if (!slot.is_array()) slot = json::array();
      auto& list = slot.get_array();
      if (t == length_delimited && wire_type_of(f) != length_delimited) {
        std::string_view packed;  // packed numbers
        if (!get_bytes(in, packed)) return false;
        while (!packed.empty()) {
          if (!value_to_json(f, wire_type_of(f), packed, list.emplace_back(nullptr))) return false;
        }
      } else if (!value_to_json(f, t, in, list.emplace_back(nullptr))) {
        return false;
      }
    } else {
      if (f->type() == field::TYPE_MESSAGE && !messages_seen.insert(number).second) return false;
      if (!value_to_json(f, t, in, out[name])) return false;
    }
  }
  return true;
}

// ---- JSON to wire -------------------------------------------------------------------------

bool integer_of(const json::value& v, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (v.is_int64()) {
    out = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(hi)) return false;
    out = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_string()) {
    const auto& s = v.get_string();
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  } else {
    return false;  // a double that may be integral: left to protobuf
  }
  return out >= lo && out <= hi;
}

bool unsigned_of(const json::value& v, std::uint64_t hi, std::uint64_t& out) {
  if (v.is_uint64()) {
    out = v.get_uint64();
  } else if (v.is_int64()) {
    if (v.get_int64() < 0) return false;
    out = static_cast<std::uint64_t>(v.get_int64());
  } else if (v.is_string()) {
    const auto& s = v.get_string();
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  } else {
    return false;
  }
  return out <= hi;
}

bool real_of(const json::value& v, double& out) {
  if (v.is_number()) {
    out = v.to_number<double>();
    return true;
  }
  if (!v.is_string()) return false;
  const auto& s = v.get_string();
  if (s == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
  } else if (s == "Infinity") {
    out = std::numeric_limits<double>::infinity();
  } else if (s == "-Infinity") {
    out = -std::numeric_limits<double>::infinity();
  } else {
    return false;
  }
  return true;
}

bool message_to_wire(const pb::Descriptor* d, const json::object& in, std::string& out);

// One value of field `f`, without its tag (a length-delimited one with its length).
bool value_to_wire(const field* f, const json::value& v, std::string& out) {
  constexpr auto i32_min = std::numeric_limits<std::int32_t>::min();
  constexpr auto i32_max = std::numeric_limits<std::int32_t>::max();
  constexpr auto u32_max = std::numeric_limits<std::uint32_t>::max();
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double x = 0;
  switch (f->type()) {
    case field::TYPE_INT32:
      if (!integer_of(v, i32_min, i32_max, i)) return false;
      put_varint(out, static_cast<std::uint64_t>(i));
      return true;
    case field::TYPE_SINT32:
      if (!integer_of(v, i32_min, i32_max, i)) return false;
      put_varint(out, static_cast<std::uint32_t>((static_cast<std::uint32_t>(i) << 1) ^
                                                 static_cast<std::uint32_t>(i >> 31)));
      return true;
    case field::TYPE_SFIXED32:
      if (!integer_of(v, i32_min, i32_max, i)) return false;
      put_fixed(out, static_cast<std::int32_t>(i));
      return true;
    case field::TYPE_UINT32:
      if (!unsigned_of(v, u32_max, u)) return false;
      put_varint(out, u);
      return true;
    case field::TYPE_FIXED32:
      if (!unsigned_of(v, u32_max, u)) return false;
      put_fixed(out, static_cast<std::uint32_t>(u));
      return true;
    case field::TYPE_INT64:
    case field::TYPE_SINT64:
    case field::TYPE_SFIXED64:
      if (!integer_of(v, std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::int64_t>::max(), i)) {
        return false;
      }
      if (f->type() == field::TYPE_INT64) {
        put_varint(out, static_cast<std::uint64_t>(i));
      } else if (f->type() == field::TYPE_SINT64) {
        put_varint(out, (static_cast<std::uint64_t>(i) << 1) ^ static_cast<std::uint64_t>(i >> 63));
      } else {
        put_fixed(out, i);
      }
      return true;
    case field::TYPE_UINT64:
    case field::TYPE_FIXED64:
      if (!unsigned_of(v, std::numeric_limits<std::uint64_t>::max(), u)) return false;
      if (f->type() == field::TYPE_UINT64) {
        put_varint(out, u);
      } else {
        put_fixed(out, u);
      }
      return true;
    case field::TYPE_DOUBLE:
      if (!real_of(v, x)) return false;
      put_fixed(out, x);
      return true;
    case field::TYPE_FLOAT:
      if (!real_of(v, x)) return false;
      if (std::isfinite(x) && std::fabs(x) > std::numeric_limits<float>::max()) return false;
      put_fixed(out, static_cast<float>(x));
      return true;
    case field::TYPE_BOOL:
      if (!v.is_bool()) return false;
      put_varint(out, v.get_bool() ? 1 : 0);
      return true;
    case field::TYPE_ENUM:
      if (v.is_string()) {
        const auto* e = f->enum_type()->FindValueByName(std::string(v.get_string()));
        if (!e) return false;
        i = e->number();
      } else if (!integer_of(v, i32_min, i32_max, i)) {
        return false;
      }
      put_varint(out, static_cast<std::uint64_t>(i));
      return true;
    case field::TYPE_STRING:
      if (!v.is_string()) return false;
      put_bytes(out, v.get_string());
      return true;
    case field::TYPE_BYTES: {
      if (!v.is_string()) return false;
      std::string bytes;
      if (!base64_decode(v.get_string(), bytes)) return false;
      put_bytes(out, bytes);
      return true;
    }
    case field::TYPE_MESSAGE: {
      if (!v.is_object()) return false;
      std::string inner;
      if (!message_to_wire(f->message_type(), v.get_object(), inner)) return false;
      put_bytes(out, inner);
      return true;
    }
    default:
      return false;
  }
}

// A map's key, from the JSON object's key.
bool key_to_wire(const field* f, std::string_view key, std::string& out) {
  if (f->type() == field::TYPE_STRING) return value_to_wire(f, json::string(key), out);
  if (f->type() == field::TYPE_BOOL) {
    if (key != "true" && key != "false") return false;
    return value_to_wire(f, json::value(key == "true"), out);
  }
  return value_to_wire(f, json::string(key), out);  // integers are read from strings too
}

bool message_to_wire(const pb::Descriptor* d, const json::object& in, std::string& out) {
  for (const auto& [key, v] : in) {
    const std::string name(key);
    const field* f = d->FindFieldByCamelcaseName(name);
    if (!f) f = d->FindFieldByName(name);
    for (int i = 0; !f && i < d->field_count(); ++i) {  // a json_name of the proto's own
      if (d->field(i)->json_name() == name) f = d->field(i);
    }
    if (!f || v.is_null()) continue;  // unknown names are ignored, as protobuf.js's fromObject
    if (f->is_map()) {
      if (!v.is_object()) return false;
      for (const auto& [k, item] : v.get_object()) {
        std::string entry;
        put_tag(entry, 1, wire_type_of(f->message_type()->map_key()));
        if (!key_to_wire(f->message_type()->map_key(), k, entry)) return false;
        const field* value_field = f->message_type()->map_value();
        put_tag(entry, 2, wire_type_of(value_field));
        if (!value_to_wire(value_field, item, entry)) return false;
        put_tag(out, f->number(), length_delimited);
        put_bytes(out, entry);
      }
    } else if (f->is_repeated()) {
      if (!v.is_array()) return false;
      const auto& list = v.get_array();
      if (f->is_packed()) {
        if (list.empty()) continue;
        std::string packed;
        for (const auto& item : list) {
          if (!value_to_wire(f, item, packed)) return false;
        }
        put_tag(out, f->number(), length_delimited);
        put_bytes(out, packed);
      } else {
        for (const auto& item : list) {
          put_tag(out, f->number(), wire_type_of(f));
          if (!value_to_wire(f, item, out)) return false;
        }
      }
    } else {
      put_tag(out, f->number(), wire_type_of(f));
      if (!value_to_wire(f, v, out)) return false;
    }
  }
  return true;
}

bool direct(const pb::Descriptor* d, std::set<const pb::Descriptor*>& seen) {
  if (!seen.insert(d).second) return true;  // already looked at (a recursive message)
  if (d->file()->package() == "google.protobuf") return false;  // a well-known type
  if (d->extension_range_count() > 0) return false;
  for (int i = 0; i < d->field_count(); ++i) {
    const field* f = d->field(i);
    if (f->type() == field::TYPE_GROUP) return false;
    if (f->type() == field::TYPE_MESSAGE && !direct(f->message_type(), seen)) return false;
  }
  return true;
}

}  // namespace

bool direct(const pb::Descriptor* d) {
  std::set<const pb::Descriptor*> seen;
  return direct(d, seen);
}

bool wire_to_json(const pb::Descriptor* d, std::string_view bytes, json::value& out) {
  json::object o;
  if (!message_to_json(d, bytes, o)) return false;
  out = std::move(o);
  return true;
}

bool json_to_wire(const pb::Descriptor* d, const json::value& value, std::string& out) {
  if (!value.is_object()) return false;
  out.clear();
  return message_to_wire(d, value.get_object(), out);
}

}  // namespace roost::grpc::detail
