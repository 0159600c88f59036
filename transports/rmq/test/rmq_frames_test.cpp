// The frames the connection's thread writes in one go over plain TCP: the bytes AMQP 0-9-1
// defines, as rabbitmq-c itself reads them back.
#include "frames.hpp"

#include <amqp_framing.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace roost::rmq::detail {
namespace {

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

struct frame {
  std::uint8_t type;
  std::uint16_t channel;
  std::string payload;
};

// Splits `bytes` into frames, checking each one's size and end octet.
std::vector<frame> frames_of(const std::string& bytes) {
  std::vector<frame> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_GE(bytes.size() - at, 8u);
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[at + i]); };
    const std::uint32_t size = (std::uint32_t{byte(3)} << 24) | (std::uint32_t{byte(4)} << 16) |
                               (std::uint32_t{byte(5)} << 8) | byte(6);
    EXPECT_LE(at + 8 + size, bytes.size());
    EXPECT_EQ(byte(7 + size), 0xCE);
    out.push_back({byte(0), static_cast<std::uint16_t>((byte(1) << 8) | byte(2)),
                   bytes.substr(at + 7, size)});
    at += 8 + size;
  }
  return out;
}

TEST(rmq_frames, an_ack_is_one_method_frame) {
  std::string out = "before";
  amqp_basic_ack_t ack{5, 0};
  ASSERT_TRUE(append_method(out, 1, 131072, AMQP_BASIC_ACK_METHOD, &ack));
  // type 1, channel 1, size 13; basic (60) ack (80), tag 5, multiple 0; the end octet.
  EXPECT_EQ(hex(out.substr(6)),
            "010001"
            "0000000d"
            "003c0050"
            "0000000000000005"
            "00"
            "ce");
  EXPECT_EQ(out.substr(0, 6), "before");
}

TEST(rmq_frames, a_publish_is_method_header_and_body_frames) {
  const std::string body(250, 'x');
  amqp_basic_publish_t m{};
  m.routing_key = amqp_cstring_bytes("orders");
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_CORRELATION_ID_FLAG;
  p.correlation_id = amqp_cstring_bytes("42");
  std::string out;
  // A small frame size: the body goes in frames of at most 100 - 8 bytes.
  ASSERT_TRUE(append_publish(out, 3, 100, m, p, body));
  const auto frames = frames_of(out);
  ASSERT_EQ(frames.size(), 5u);
  for (const auto& f : frames) EXPECT_EQ(f.channel, 3);
  EXPECT_EQ(frames[0].type, AMQP_FRAME_METHOD);
  // basic.publish: ticket 0, exchange '', routing key 'orders', no mandatory, no immediate.
  EXPECT_EQ(hex(frames[0].payload),
            "003c0028"
            "0000"
            "00"
            "06" +
                hex("orders") + "00");
  EXPECT_EQ(frames[1].type, AMQP_FRAME_HEADER);
  amqp_pool_t pool;
  init_amqp_pool(&pool, 4096);
  void* decoded = nullptr;
  const std::string& header = frames[1].payload;
  EXPECT_EQ(hex(header.substr(0, 12)),
            "003c"
            "0000"
            "00000000000000fa");
  std::string props = header.substr(12);
  ASSERT_EQ(amqp_decode_properties(AMQP_BASIC_CLASS, &pool, {props.size(), props.data()}, &decoded),
            0);
  const auto* back = static_cast<const amqp_basic_properties_t*>(decoded);
  EXPECT_EQ(back->_flags, AMQP_BASIC_CORRELATION_ID_FLAG);
  EXPECT_EQ(
      std::string(static_cast<const char*>(back->correlation_id.bytes), back->correlation_id.len),
      "42");
  empty_amqp_pool(&pool);
  std::string joined;
  for (std::size_t i = 2; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].type, AMQP_FRAME_BODY);
    EXPECT_LE(frames[i].payload.size(), 92u);
    joined += frames[i].payload;
  }
  EXPECT_EQ(joined, body);
}

TEST(rmq_frames, what_cannot_be_encoded_leaves_the_buffer_as_it_was) {
  const std::string long_key(300, 'k');  // a short string holds 255 bytes at most
  amqp_basic_publish_t m{};
  m.routing_key = amqp_bytes_t{long_key.size(), const_cast<char*>(long_key.data())};
  amqp_basic_properties_t p{};
  std::string out = "kept";
  EXPECT_FALSE(append_publish(out, 1, 131072, m, p, "body"));
  EXPECT_EQ(out, "kept");
  // An empty body: no body frame at all.
  m.routing_key = amqp_cstring_bytes("q");
  ASSERT_TRUE(append_publish(out, 1, 131072, m, p, ""));
  EXPECT_EQ(frames_of(out.substr(4)).size(), 2u);
}

}  // namespace
}  // namespace roost::rmq::detail
