#pragma once
/// \file roost::ws::context: what a handler knows about a WebSocket message.

#include <roost/context.hpp>
#include <roost/gateway.hpp>

#include <memory>
#include <string>

namespace roost::ws {

/// A message that came over a WebSocket. Its headers are the upgrade request's (names in
/// lower case), so a JWT guard finds the `authorization` the client connected with; a packet's
/// own NestJS 12 metadata stays in metadata().
class context final : public roost::context {
 public:
  context(json::value&& pattern, std::optional<json::object>&& metadata,
          std::shared_ptr<roost::peer> peer, std::shared_ptr<roost::gateway> gateway,
          bool gateway_shape);
  /// The connection the message came on: push to it, join it to rooms.
  roost::peer& peer() const noexcept { return *peer_; }
  const std::shared_ptr<roost::peer>& peer_ptr() const noexcept { return peer_; }
  /// The server's peers and rooms: broadcast, push to a room.
  roost::gateway& gateway() const noexcept { return *gateway_; }
  /// The client's address, "ip:port".
  const std::string& remote_endpoint() const noexcept { return peer_->remote_endpoint(); }
  /// True for a `{"event":E,"data":D}` message (answered as NestJS's platform-ws does), false
  /// for a packet with an id or a pattern.
  bool gateway_shape() const noexcept { return gateway_shape_; }

 private:
  std::shared_ptr<roost::peer> peer_;
  std::shared_ptr<roost::gateway> gateway_;
  bool gateway_shape_;
};

}  // namespace roost::ws
