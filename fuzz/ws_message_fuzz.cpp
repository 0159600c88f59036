// Feeds arbitrary messages to the WebSocket transport's decoding, as a server and as a client
// read them. Whatever comes, nothing crashes or leaks; what is read is valid JSON that reads
// back the same, and a failing gateway handler's answer to it is JSON too.
#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/ws/detail/message_codec.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check_json_text(const std::string& text) {
  roost::json::error_code ec;
  const auto back = roost::detail::parse_json(text, ec);
  if (ec || roost::detail::to_json(back) != text) std::abort();
}

void check_json(const roost::json::value& v) {
  check_json_text(roost::detail::to_json(v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace wd = roost::ws::detail;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto m = wd::decode_message(text)) {
    check_json(m->packet.pattern);
    check_json(m->packet.data);
    if (m->gateway) {
      std::string out;
      wd::encode_gateway_error(out, m->packet.data, m->packet.pattern, m->packet.data);
      check_json_text(out);
    }
  }
  if (auto c = wd::decode_client_message(text)) {
    check_json(c->data);
    std::string out;
    wd::encode_push(out, c->event, c->data);
    check_json_text(out);
  }
  return 0;
}
