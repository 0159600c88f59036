#pragma once
/// \file roost::mqtt::client: the client side of the MQTT transport.

#include <roost/client_transport.hpp>
#include <roost/mqtt/options.hpp>

#include <memory>

namespace roost::mqtt {

/// Talks to a NestJS `Transport.MQTT` server (or a roost one), as NestJS's ClientMqtt: a
/// request goes to the topic of its route after the client subscribed to that topic +
/// `/reply` (one subscription per topic, shared by the calls in flight, dropped after the
/// last), and its replies are matched by the `id` in their body. Events go to the route's
/// topic. A call's headers go as MQTT 5 user properties (and in the body as NestJS 12
/// `metadata`). A lost connection fails the pending calls and is made again.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "mqtt"; }
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

}  // namespace roost::mqtt
