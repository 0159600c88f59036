#pragma once
/// \file roost::redis::server: the server side of the Redis transport.

#include <roost/redis/options.hpp>
#include <roost/server_transport.hpp>

#include <memory>

namespace roost::redis {

/// Serves NestJS `Transport.REDIS` clients (and roost ones): SUBSCRIBEs to every handler's
/// route (PSUBSCRIBE in wildcards mode) on one connection and PUBLISHes replies to
/// `<channel>.reply` on another, as NestJS's ServerRedis. A lost connection is retried as
/// `retry` says (for ever by default), and the subscriptions are made again.
///
/// Every server subscribed to a channel gets every message (Redis pub/sub is a broadcast): run
/// one instance per route, or several that may all answer. Handlers run in parallel on the
/// microservice's threads.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  std::string_view name() const noexcept override { return "redis"; }
  awaitable<void> listen(dispatcher& d) override;
  /// Unsubscribes (pub/sub) or stops reading (streams); what arrives until the server
  /// confirmed it is still served.
  void stop_accepting() override;
  /// True once the server confirmed the unsubscription (streams: the last read came back).
  bool stopped() const noexcept override;
  /// Closes the connections once the replies and acknowledgements queued were sent.
  void close() override;
  /// True once both connections shut.
  bool closed() const noexcept override;
  /// Exact: its connection up, every channel (or stream group) confirmed by the server, and
  /// not stopped.
  bool ready() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::redis
