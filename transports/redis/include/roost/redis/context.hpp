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
  context(json::value pattern, const json::object* metadata, std::string channel);
  /// The channel the message was published to (NestJS's `getChannel()`).
  const std::string& channel() const noexcept { return channel_; }

 private:
  std::string channel_;
};

}  // namespace roost::redis
