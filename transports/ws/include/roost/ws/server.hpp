#pragma once
/// \file roost::ws::server: the server side of the WebSocket transport.

#include <roost/gateway.hpp>
#include <roost/server_transport.hpp>
#include <roost/ws/options.hpp>

#include <cstdint>
#include <memory>

namespace roost::ws {

/// Serves WebSocket clients at `ws://host:port/path`: browsers and `ws` clients speaking to a
/// NestJS gateway (`{"event":E,"data":D}`, answered as platform-ws answers), and roost clients
/// (packets with ids, replies and streams correlated). Each connection has its own strand.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  /// The port it listens on (useful with port 0), once listen() completed.
  std::uint16_t port() const noexcept;
  /// The connected peers, their rooms and the connect and disconnect hooks.
  roost::gateway& gateway() noexcept;
  const std::shared_ptr<roost::gateway>& gateway_ptr() const noexcept;

  std::string_view name() const noexcept override { return "ws"; }
  awaitable<void> listen(dispatcher& d) override;
  void stop_accepting() override;
  /// Closes every connection once what is queued on it went out (close code 1001).
  void close() override;
  /// Its listener is open (from listen() to stop_accepting()).
  bool ready() const noexcept override;
  /// True once close() shut every connection (its last replies written, the peer's close
  /// frame received or the close timed out).
  bool closed() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::ws
