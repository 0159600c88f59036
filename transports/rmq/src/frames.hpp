#pragma once
// AMQP 0-9-1 frames as bytes, for writing several at once: rabbitmq-c writes each frame with a
// system call of its own (a reply is three: method, content header, body), while the
// connection's thread can write a whole batch of publishes and acks with one. Sans-I/O: the
// functions append to a buffer; rabbitmq-c encodes the methods and properties.

#include <amqp.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace roost::rmq::detail {

/// Appends the method frame of `method` (e.g. AMQP_BASIC_ACK_METHOD with an amqp_basic_ack_t).
/// False, `out` unchanged, when it cannot be encoded in a frame of `frame_max` bytes.
bool append_method(std::string& out, amqp_channel_t channel, std::size_t frame_max,
                   amqp_method_number_t method, void* decoded);

/// Appends the frames of a basic.publish: the method, the content header with `properties`,
/// and `body` in frames of at most `frame_max` bytes. False, `out` unchanged, when the method
/// or the properties cannot be encoded (a name over 255 bytes, properties over a frame).
bool append_publish(std::string& out, amqp_channel_t channel, std::size_t frame_max,
                    const amqp_basic_publish_t& method, const amqp_basic_properties_t& properties,
                    std::string_view body);

}  // namespace roost::rmq::detail
