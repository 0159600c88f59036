#include <roost/tcp/context.hpp>

namespace roost::tcp {

context::context(json::value pattern, const json::object* metadata, const std::string& remote)
    : roost::context("tcp", std::move(pattern), metadata), remote_(&remote) {}

}  // namespace roost::tcp
