#include "frames.hpp"

#include <algorithm>
#include <cstdint>

namespace roost::rmq::detail {

namespace {

// A frame: type (1), channel (2), payload size (4), the payload, the end octet.
constexpr std::size_t frame_overhead = 8;
constexpr char frame_end = '\xCE';

void put16(std::string& out, std::size_t at, std::uint16_t v) {
  out[at] = static_cast<char>(v >> 8);
  out[at + 1] = static_cast<char>(v);
}

void put32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (24 - 8 * i));
}

void put64(std::string& out, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[at + i] = static_cast<char>(v >> (56 - 8 * i));
}

// Starts a frame at the end of `out` with room for `room` payload bytes; returns where the
// payload begins.
std::size_t open_frame(std::string& out, std::uint8_t type, amqp_channel_t channel,
                       std::size_t room) {
  const std::size_t start = out.size();
  out.resize(start + 7 + room);
  out[start] = static_cast<char>(type);
  put16(out, start + 1, channel);
  return start + 7;
}

// Ends the frame whose payload began at `payload` and is `size` bytes long.
void close_frame(std::string& out, std::size_t payload, std::size_t size) {
  put32(out, payload - 4, static_cast<std::uint32_t>(size));
  out.resize(payload + size);
  out.push_back(frame_end);
}

amqp_bytes_t room_at(std::string& out, std::size_t at, std::size_t size) {
  return amqp_bytes_t{size, out.data() + at};
}

// Encodes with `encode(buffer)` (returning the size or a negative status), trying a small
// buffer first and doubling it up to `limit`; the size, or -1.
template <class Encode>
int encode_growing(std::string& out, std::size_t at, std::size_t limit, Encode encode) {
  for (std::size_t room = std::min<std::size_t>(512, limit);; room = std::min(room * 2, limit)) {
    out.resize(at + room);
    const int n = encode(room_at(out, at, room));
    if (n >= 0) return n;
    if (room == limit) return -1;
  }
}

}  // namespace

bool append_method(std::string& out, amqp_channel_t channel, std::size_t frame_max,
                   amqp_method_number_t method, void* decoded) {
  const std::size_t start = out.size();
  const std::size_t limit = frame_max - frame_overhead;
  const std::size_t payload = open_frame(out, AMQP_FRAME_METHOD, channel, 4);
  put32(out, payload, method);
  const int n = encode_growing(out, payload + 4, limit - 4, [&](amqp_bytes_t room) {
    return amqp_encode_method(method, decoded, room);
  });
  if (n < 0) {
    out.resize(start);
    return false;
  }
  close_frame(out, payload, 4 + static_cast<std::size_t>(n));
  return true;
}

bool append_publish(std::string& out, amqp_channel_t channel, std::size_t frame_max,
                    const amqp_basic_publish_t& method, const amqp_basic_properties_t& properties,
                    std::string_view body) {
  const std::size_t start = out.size();
  auto m = method;
  if (!append_method(out, channel, frame_max, AMQP_BASIC_PUBLISH_METHOD, &m)) return false;
  // The content header: class (2), weight (2, always 0), body size (8), the properties.
  const std::size_t limit = frame_max - frame_overhead;
  const std::size_t payload = open_frame(out, AMQP_FRAME_HEADER, channel, 12);
  put16(out, payload, AMQP_BASIC_CLASS);
  put16(out, payload + 2, 0);
  put64(out, payload + 4, body.size());
  auto p = properties;
  const int n = encode_growing(out, payload + 12, limit - 12, [&](amqp_bytes_t room) {
    return amqp_encode_properties(AMQP_BASIC_CLASS, &p, room);
  });
  if (n < 0) {
    out.resize(start);
    return false;
  }
  close_frame(out, payload, 12 + static_cast<std::size_t>(n));
  for (std::size_t done = 0; done < body.size();) {
    const std::size_t chunk = std::min(limit, body.size() - done);
    const std::size_t at = out.size();
    out.push_back(static_cast<char>(AMQP_FRAME_BODY));
    out.append(6, '\0');
    put16(out, at + 1, channel);
    put32(out, at + 3, static_cast<std::uint32_t>(chunk));
    out.append(body.substr(done, chunk));
    out.push_back(frame_end);
    done += chunk;
  }
  return true;
}

}  // namespace roost::rmq::detail
