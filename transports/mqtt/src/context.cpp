#include <roost/mqtt/context.hpp>

namespace roost::mqtt {

context::context(json::value pattern, std::optional<json::object> metadata, roost::headers h,
                 std::string topic, packet_info p)
    : roost::context("mqtt", std::move(pattern), std::move(metadata), std::move(h)),
      topic_(std::move(topic)),
      packet_(std::move(p)) {}

}  // namespace roost::mqtt
