#include <roost/tcp/context.hpp>

namespace roost::tcp {

context::context(json::value pattern, const json::object* metadata, std::string remote)
    : roost::context("tcp", std::move(pattern), metadata), remote_(std::move(remote)) {}

}  // namespace roost::tcp
