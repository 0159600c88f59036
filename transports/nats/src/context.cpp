#include <roost/nats/context.hpp>

namespace roost::nats {

context::context(json::value pattern, std::string subject, roost::headers h, acknowledgement ack)
    : roost::context("nats", std::move(pattern), std::nullopt, std::move(h)),
      subject_(std::move(subject)) {
  if (ack.settle) accept_settlement(std::move(ack));
}

}  // namespace roost::nats
