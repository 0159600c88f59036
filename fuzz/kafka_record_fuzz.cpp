// Feeds arbitrary records to the Kafka transport's record decoding, as a server and as a client
// read them: the input is split at 0x1E bytes into the value, then header names and values.
// Whatever comes, nothing crashes or leaks, and the data a handler gets is valid JSON (bad
// UTF-8 made good), which reads back the same.
#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/kafka/detail/record.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

void check_json(const roost::json::value& v) {
  const std::string text = roost::detail::to_json(v);
  roost::json::error_code ec;
  const auto back = roost::detail::parse_json(text, ec);
  if (ec || roost::detail::to_json(back) != text) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace kd = roost::kafka::detail;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  std::size_t from = 0;
  for (;;) {
    const auto at = all.find('\x1e', from);
    parts.push_back(all.substr(from, at == std::string_view::npos ? at : at - from));
    if (at == std::string_view::npos) break;
    from = at + 1;
  }
  kd::record r;
  r.topic = "fuzz";
  // An empty first part is a null value (a tombstone).
  if (!parts[0].empty()) r.value.emplace(parts[0]);
  for (std::size_t i = 1; i + 1 < parts.size(); i += 2) {
    r.headers.add(std::string(parts[i]), std::string(parts[i + 1]));
  }
  const auto in = kd::decode_inbound(r);
  check_json(in.packet.data);
  if (in.packet.id) check_json(*in.packet.id);
  if (const auto reply = kd::decode_reply(r)) {
    if (reply->response) check_json(*reply->response);
    if (reply->err) check_json(*reply->err);
    // A server answers with what it read: its reply encodes whatever came.
    const auto out = kd::encode_reply(roost::reply_packet::value(in.packet.data, true), "id");
    (void)out;
  }
  return 0;
}
