#pragma once
/// \file roost::tcp::context, as NestJS's TcpContext.

#include <roost/context.hpp>

#include <string>

namespace roost::tcp {

/// What a handler knows about a message that came over TCP.
class context final : public roost::context {
 public:
  context(json::value&& pattern, std::optional<json::object>&& metadata, std::string remote);
  /// The client's address, "ip:port".
  const std::string& remote_endpoint() const noexcept { return remote_; }

 private:
  std::string remote_;
};

}  // namespace roost::tcp
