#pragma once
/// \file roost::ws::client: the client side of the WebSocket transport.

#include <roost/client_transport.hpp>
#include <roost/ws/options.hpp>

#include <memory>

namespace roost::ws {

/// Talks to a roost WebSocket server over one socket: requests are packets with ids
/// (`{"pattern","data","id"}`), so replies and streamed replies are correlated; events go in
/// the gateway shape `{"event":E,"data":D}`, which a NestJS gateway serves too. What the server
/// pushes, and what a NestJS gateway answers (it has no ids), goes to
/// `client_options::on_push`. It connects on first use; when the connection drops, pending
/// calls fail with "Connection closed" and the next call connects again.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "ws"; }
  void set_listener(std::shared_ptr<client_listener> l) noexcept override;
  awaitable<void> connect() override;
  awaitable<void> send_request(const outbound_message& m) override;
  awaitable<void> send_event(const outbound_message& m) override;
  void close() override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::ws
