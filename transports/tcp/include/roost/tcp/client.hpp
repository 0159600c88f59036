#pragma once
/// \file roost::tcp::client: the client side of the TCP transport.

#include <roost/client_transport.hpp>
#include <roost/tcp/options.hpp>

#include <memory>

namespace roost::tcp {

/// Talks to a NestJS `Transport.TCP` server (or a roost one) over one multiplexed
/// connection, as NestJS's ClientTCP. It connects on first use; when the connection drops,
/// pending calls fail with "Connection closed" and the next call connects again.
/// With client_options::endpoints it balances over several servers instead, one connection
/// each (docs/transports/tcp.md, "Several servers").
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "tcp"; }
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

}  // namespace roost::tcp
