#pragma once
/// \file roost::redis::context, as NestJS's RedisContext.

#include <roost/context.hpp>

#include <string>

namespace roost::redis {

/// What a handler knows about a message that came over Redis. Its pattern() is the route the
/// handler was found by: the channel, or in wildcards mode the glob that matched (the `pattern`
/// field of the message body is not used for routing, as in NestJS).
class context final : public roost::context {
 public:
  /// `ack`: for a Streams-mode entry, how it is settled (roost/acknowledgement.hpp).
  context(json::value pattern, std::optional<json::object> metadata, std::string channel,
          std::string stream_id = {}, acknowledgement ack = {});
  /// The channel the message was published to (NestJS's `getChannel()`); in the Streams mode,
  /// the stream it was read from.
  const std::string& channel() const noexcept { return channel_; }
  /// Streams mode: the entry's id (`1700000000000-0`); empty for pub/sub messages.
  const std::string& stream_id() const noexcept { return stream_id_; }

 private:
  std::string channel_;
  std::string stream_id_;
};

}  // namespace roost::redis
