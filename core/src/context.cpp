#include <roost/context.hpp>

namespace roost {

context::context(std::string_view transport, json::value pattern, const json::object* metadata)
    : transport_(transport), pattern_(std::move(pattern)), metadata_(metadata) {}

context::~context() = default;

}  // namespace roost
