#pragma once
/// \file roost::redis::client: the client side of the Redis transport.

#include <roost/client_transport.hpp>
#include <roost/redis/options.hpp>

#include <memory>

namespace roost::redis {

/// Talks to NestJS `Transport.REDIS` servers (or roost ones), as NestJS's ClientRedis: requests
/// and events are PUBLISHed to the route's channel on one connection; replies come on
/// `<route>.reply`, which a second connection SUBSCRIBEs to (once per channel, reference-counted
/// over the requests in flight, confirmed before the request is published) and filters by id.
///
/// It connects on first use. When a connection is lost, the calls pending at that moment fail
/// with connection_error ("Connection lost": Redis keeps no reply published while we were
/// away), and the client reconnects as `retry` says; calls made meanwhile wait for the next
/// attempt and fail with its error if it fails.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "redis"; }
  void set_listener(std::shared_ptr<client_listener> l) noexcept override;
  awaitable<void> connect() override;
  awaitable<void> send_request(const outbound_message& m) override;
  void end_request(const outbound_message& m) noexcept override;
  awaitable<void> send_event(const outbound_message& m) override;
  void close() override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::redis
