#include <roost/tcp/context.hpp>

namespace roost::tcp {

context::context(json::value&& pattern, std::optional<json::object>&& metadata, std::string remote)
    : roost::context("tcp", std::move(pattern), std::move(metadata)), remote_(std::move(remote)) {}

}  // namespace roost::tcp
