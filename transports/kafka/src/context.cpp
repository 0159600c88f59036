#include <roost/kafka/context.hpp>

namespace roost::kafka {

context::context(json::value pattern, roost::headers h, message_info m, acknowledgement ack)
    : roost::context("kafka", std::move(pattern), std::nullopt, std::move(h)),
      message_(std::move(m)) {
  if (ack.settle) accept_settlement(std::move(ack));
}

}  // namespace roost::kafka
