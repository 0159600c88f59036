#pragma once
/// \file An in-memory transport for unit tests of handlers and clients: no network, no broker,
/// but every packet goes through roost's real JSON codec, as on a wire.

#include <roost/client_transport.hpp>
#include <roost/server_transport.hpp>

#include <memory>

namespace roost::testing {

/// Connects in-memory clients to one in-memory server. Create it first, and keep it alive
/// while its clients and server are.
///
/// \code
/// roost::testing::memory_broker broker;
/// app.add_transport(broker.server());
/// roost::client_proxy client(ex, broker.client());
/// \endcode
class memory_broker {
 public:
  memory_broker();
  ~memory_broker();
  memory_broker(const memory_broker&) = delete;
  memory_broker& operator=(const memory_broker&) = delete;

  /// The server side (one per broker).
  std::unique_ptr<server_transport> server();
  /// A client side (as many as you like).
  std::unique_ptr<client_transport> client();

  /// Packets (requests, events and replies) that went through the broker, as JSON text.
  std::size_t packets() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace roost::testing
