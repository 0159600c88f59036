#include <roost/redis/context.hpp>

namespace roost::redis {

context::context(json::value pattern, std::optional<json::object> metadata, std::string channel,
                 std::string stream_id, acknowledgement ack)
    : roost::context("redis", std::move(pattern), std::move(metadata)),
      channel_(std::move(channel)),
      stream_id_(std::move(stream_id)) {
  if (ack.settle) accept_settlement(std::move(ack));
}

}  // namespace roost::redis
