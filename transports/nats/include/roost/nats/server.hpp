#pragma once
/// \file roost::nats::server: the server side of the NATS transport.

#include <roost/nats/options.hpp>
#include <roost/server_transport.hpp>

#include <memory>

namespace roost::nats {

/// Serves NestJS `Transport.NATS` clients (and roost ones), as NestJS's ServerNats: one
/// subscription per handler route (NATS wildcards `*` and `>` allowed), in the queue group of
/// the handler's extras (`{"queue": ...}`) or of the server's `queue` option; replies go to
/// the message's reply subject. nats.c delivers messages on its own threads; handlers run on
/// the microservice's executor, in parallel.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  std::string_view name() const noexcept override { return "nats"; }
  /// Connects, subscribes every route of the dispatcher's router and waits until the server
  /// has registered the subscriptions. Throws connection_error.
  awaitable<void> listen(dispatcher& d) override;
  /// Drains the subscriptions (NestJS's `gracefulShutdown`): messages already received are
  /// still served, no new ones arrive.
  void stop_accepting() override;
  /// True once every subscription's drain is over and its last messages were handed to the
  /// dispatcher.
  bool stopped() const noexcept override;
  /// Flushes the replies written so far (up to `grace_period`) and closes the connection.
  void close() override;
  /// Its connection is up (the client library resubscribes on a reconnection before it says
  /// so), listen() has completed, and it is not stopped.
  bool ready() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::nats
