#pragma once
/// \file An in-memory transport for unit tests of handlers and clients: no network, no broker,
/// but every packet goes through roost's real JSON codec, as on a wire. Also a transport module:
/// `memory://NAME` URLs reach memory_broker::named(NAME).

#include <roost/client_transport.hpp>
#include <roost/server_transport.hpp>

#include <memory>
#include <string>

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

  /// The broker called `name`: every call with the same name, and every `memory://NAME` URL
  /// (`roost::make_server` / `roost::make_client`), shares one for as long as a broker, server
  /// or client of it is alive; after that the name starts afresh. Thread-safe.
  static memory_broker named(const std::string& name);

  /// The server side (one per broker).
  std::unique_ptr<server_transport> server();
  /// A client side (as many as you like).
  std::unique_ptr<client_transport> client();

  /// Packets (requests, events and replies) that went through the broker, as JSON text.
  std::size_t packets() const noexcept;

  struct state;

 private:
  explicit memory_broker(std::shared_ptr<state> s);

  std::shared_ptr<state> state_;
};

}  // namespace roost::testing
