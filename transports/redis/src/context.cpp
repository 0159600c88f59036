#include <roost/redis/context.hpp>

namespace roost::redis {

context::context(json::value pattern, const json::object* metadata, std::string channel)
    : roost::context("redis", std::move(pattern), metadata), channel_(std::move(channel)) {}

}  // namespace roost::redis
