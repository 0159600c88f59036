#include <roost/rmq/context.hpp>

namespace roost::rmq {

context::context(json::value pattern, std::optional<json::object> metadata, roost::headers h,
                 message_info m, acknowledgement ack, std::function<std::string()> refusal)
    : roost::context("rmq", std::move(pattern), std::move(metadata), std::move(h)),
      message_(std::move(m)),
      refusal_(std::move(refusal)) {
  if (ack.settle) accept_settlement(std::move(ack));
}

}  // namespace roost::rmq
