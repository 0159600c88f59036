#include <roost/kafka/context.hpp>

namespace roost::kafka {

context::context(json::value pattern, roost::headers h, message_info m, acknowledgement ack,
                 std::function<void(const json::value&)> retriable)
    : roost::context("kafka", std::move(pattern), std::nullopt, std::move(h)),
      message_(std::move(m)),
      retriable_(std::move(retriable)) {
  if (ack.settle) accept_settlement(std::move(ack));
}

}  // namespace roost::kafka
