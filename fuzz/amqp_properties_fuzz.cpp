// Feeds arbitrary bytes to rabbitmq-c as a basic.publish content header's properties (the
// library's decoder stays uninstrumented) and reads what it decodes as the RabbitMQ transport
// does: the headers table as roost headers and the properties as text. Checked, besides the
// sanitizers: the headers are the table's entries of the kinds roost reads, in order, under
// their keys, strings with their exact bytes.
#include "amqp_headers.hpp"

#include <amqp_framing.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool read_as_text(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
    case AMQP_FIELD_KIND_BOOLEAN:
    case AMQP_FIELD_KIND_I8:
    case AMQP_FIELD_KIND_U8:
    case AMQP_FIELD_KIND_I16:
    case AMQP_FIELD_KIND_U16:
    case AMQP_FIELD_KIND_I32:
    case AMQP_FIELD_KIND_U32:
    case AMQP_FIELD_KIND_I64:
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_F32:
    case AMQP_FIELD_KIND_F64:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace rd = roost::rmq::detail;
  amqp_pool_t pool;
  init_amqp_pool(&pool, 4096);
  // The library reads the bytes only; a copy keeps the input's constness honest.
  std::string bytes(reinterpret_cast<const char*>(data), size);
  const amqp_bytes_t encoded{bytes.size(), bytes.data()};
  void* decoded = nullptr;
  if (amqp_decode_properties(AMQP_BASIC_CLASS, &pool, encoded, &decoded) == AMQP_STATUS_OK &&
      decoded) {
    const auto& p = *static_cast<const amqp_basic_properties_t*>(decoded);
    const auto h = rd::headers_of(p);
    auto it = h.begin();
    if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
      for (int i = 0; i < p.headers.num_entries; ++i) {
        const auto& e = p.headers.entries[i];
        if (!read_as_text(e.value)) continue;
        check(it != h.end() && it->first == rd::text_of(e.key));
        if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
          check(it->second == rd::text_of(e.value.value.bytes));
        }
        ++it;
      }
    }
    check(it == h.end());
    if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) (void)rd::text_of(p.correlation_id);
    if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) (void)rd::text_of(p.reply_to);
    if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) (void)rd::text_of(p.content_type);
  }
  empty_amqp_pool(&pool);
  return 0;
}
