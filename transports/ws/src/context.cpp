#include <roost/ws/context.hpp>

namespace roost::ws {

context::context(json::value&& pattern, std::optional<json::object>&& metadata,
                 std::shared_ptr<roost::peer> peer, std::shared_ptr<roost::gateway> gateway,
                 bool gateway_shape)
    : roost::context("ws", std::move(pattern), std::move(metadata),
                     roost::headers(peer->headers())),
      peer_(std::move(peer)),
      gateway_(std::move(gateway)),
      gateway_shape_(gateway_shape) {}

}  // namespace roost::ws
