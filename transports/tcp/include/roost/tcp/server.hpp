#pragma once
/// \file roost::tcp::server: the server side of the TCP transport.

#include <roost/server_transport.hpp>
#include <roost/tcp/options.hpp>

#include <cstdint>
#include <memory>

namespace roost::tcp {

/// Serves NestJS `Transport.TCP` clients (and roost ones): `<N>#<JSON>` frames, requests
/// multiplexed over each connection, replies on the same socket. Each connection has its own
/// strand: its handlers run one at a time, interleaved at their `co_await`s; connections run in
/// parallel on the microservice's threads.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  /// The port it listens on (useful with port 0), once listen() completed.
  std::uint16_t port() const noexcept;
  /// Connections open right now.
  std::size_t connections() const noexcept;

  std::string_view name() const noexcept override { return "tcp"; }
  awaitable<void> listen(dispatcher& d) override;
  void stop_accepting() override;
  void close() override;
  /// Exact: true from listen() until stop_accepting(), while its listener is open.
  bool ready() const noexcept override;
  /// True once close() shut every connection (after its last replies were written).
  bool closed() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::tcp
