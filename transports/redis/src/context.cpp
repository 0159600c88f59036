#include <roost/redis/context.hpp>

namespace roost::redis {

context::context(json::value pattern, const json::object* metadata, std::string channel,
                 std::string stream_id)
    : roost::context("redis", std::move(pattern), metadata),
      channel_(std::move(channel)),
      stream_id_(std::move(stream_id)) {}

}  // namespace roost::redis
