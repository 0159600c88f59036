#pragma once
/// \file roost::rmq::server: the server side of the RabbitMQ transport.

#include <roost/rmq/options.hpp>
#include <roost/server_transport.hpp>

#include <memory>

namespace roost::rmq {

/// Serves NestJS `Transport.RMQ` clients (and roost ones), as NestJS's ServerRMQ: asserts the
/// queue (unless `noAssert`), consumes it, routes each message by its JSON `pattern`, and
/// sends a request's replies to its `replyTo` with its `correlationId` (reply bodies carry no
/// `id`, as NestJS's). rabbitmq-c runs on a thread of the server's own; handlers run on the
/// microservice's executor. A lost connection is made again (re-declared, re-consumed) every
/// `reconnect_time`.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  std::string_view name() const noexcept override { return "rmq"; }
  /// Connects, asserts the queue and starts consuming. Throws connection_error (with the
  /// broker's reason: a queue declared elsewhere with other properties, say).
  awaitable<void> listen(dispatcher& d) override;
  /// Cancels the consumer: no new messages arrive; the replies of those in flight still go.
  void stop_accepting() override;
  /// True once the broker confirmed the cancel and the messages it delivered before were
  /// handed to the dispatcher (served, then acknowledged as the handlers end).
  bool stopped() const noexcept override;
  /// Sends what is queued (replies, acknowledgements) and closes the connection; returns
  /// once it is closed.
  void close() override;
  /// Connected and consuming: the broker confirmed every queue's consumer (basic.consume-ok)
  /// on the current connection. False from a lost connection until it is made again and
  /// consumes again, and from stop_accepting() on.
  bool ready() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::rmq
