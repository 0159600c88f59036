#include "amqp_headers.hpp"

#include <cstdio>
#include <string>

namespace roost::rmq::detail {
namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string_view text_of(const amqp_bytes_t& b) noexcept {
  return b.len ? std::string_view(static_cast<const char*>(b.bytes), b.len) : std::string_view();
}

roost::headers headers_of(const amqp_basic_properties_t& p) {
  roost::headers h;
  if (!(p._flags & AMQP_BASIC_HEADERS_FLAG)) return h;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const auto& e = p.headers.entries[i];
    std::string key(text_of(e.key));
    const auto& v = e.value;
    switch (v.kind) {
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES:
        h.add(std::move(key), std::string(text_of(v.value.bytes)));
        break;
      case AMQP_FIELD_KIND_BOOLEAN:
        h.add(std::move(key), v.value.boolean ? "true" : "false");
        break;
      case AMQP_FIELD_KIND_I8:
        h.add(std::move(key), std::to_string(v.value.i8));
        break;
      case AMQP_FIELD_KIND_U8:
        h.add(std::move(key), std::to_string(v.value.u8));
        break;
      case AMQP_FIELD_KIND_I16:
        h.add(std::move(key), std::to_string(v.value.i16));
        break;
      case AMQP_FIELD_KIND_U16:
        h.add(std::move(key), std::to_string(v.value.u16));
        break;
      case AMQP_FIELD_KIND_I32:
        h.add(std::move(key), std::to_string(v.value.i32));
        break;
      case AMQP_FIELD_KIND_U32:
        h.add(std::move(key), std::to_string(v.value.u32));
        break;
      case AMQP_FIELD_KIND_I64:
        h.add(std::move(key), std::to_string(v.value.i64));
        break;
      case AMQP_FIELD_KIND_U64:
        h.add(std::move(key), std::to_string(v.value.u64));
        break;
      case AMQP_FIELD_KIND_F32:
        h.add(std::move(key), number_text(v.value.f32));
        break;
      case AMQP_FIELD_KIND_F64:
        h.add(std::move(key), number_text(v.value.f64));
        break;
      default:
        break;  // tables, arrays, decimals, timestamps, void: not text
    }
  }
  return h;
}

}  // namespace roost::rmq::detail
