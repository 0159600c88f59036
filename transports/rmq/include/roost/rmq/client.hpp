#pragma once
/// \file roost::rmq::client: the client side of the RabbitMQ transport.

#include <roost/client_transport.hpp>
#include <roost/rmq/options.hpp>

#include <memory>

namespace roost::rmq {

/// Talks to a NestJS `Transport.RMQ` server (or a roost one), as NestJS's ClientRMQ: asserts
/// the queue (unless `noAssert`), publishes requests and events to it, and takes replies by
/// direct reply-to (`replyTo` = `amq.rabbitmq.reply-to`), matching them by their AMQP
/// `correlationId`, which is the request's id. A call's headers go out as AMQP headers. A
/// lost connection fails the pending calls; the next call connects again.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "rmq"; }
  void set_listener(std::shared_ptr<client_listener> l) noexcept override;
  awaitable<void> connect() override;
  awaitable<void> send_request(const outbound_message& m) override;
  awaitable<void> send_event(const outbound_message& m) override;
  void close() override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::rmq
