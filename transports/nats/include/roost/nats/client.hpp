#pragma once
/// \file roost::nats::client: the client side of the NATS transport.

#include <roost/client_transport.hpp>
#include <roost/nats/options.hpp>

#include <memory>

namespace roost::nats {

/// Talks to a NestJS `Transport.NATS` server (or a roost one), as NestJS's ClientNats:
/// requests and events are published to the normalized route; replies come back on a reply
/// subject. Unlike NestJS (one inbox subscription per request) it holds one wildcard
/// subscription `<inboxPrefix>.<nuid>.*` and gives each request the reply subject
/// `<inboxPrefix>.<nuid>.<id>`, which saves a round trip per call; servers only see a reply
/// subject. A request nobody subscribes to fails at once with NestJS's message
/// `Empty response. There are no subscribers listening to that message ("<route>")`.
/// A call's metadata goes out as NATS headers. The library reconnects by itself (status
/// `reconnecting`, then `connected`); pending calls wait meanwhile, as with NestJS. When it
/// gives up, pending calls fail with "Connection closed" and the next call connects again.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "nats"; }
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

}  // namespace roost::nats
