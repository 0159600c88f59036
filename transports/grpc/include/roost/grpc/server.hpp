#pragma once
/// \file roost::grpc::server: the server side of the gRPC transport.

#include <roost/grpc/options.hpp>
#include <roost/server_transport.hpp>

#include <cstdint>
#include <memory>

namespace roost::grpc {

/// Serves gRPC calls (from NestJS's `ClientGrpc` or any gRPC client) with the handlers of
/// the patterns `{"service":S,"rpc":M}`, as NestJS's ServerGrpc: the `.proto` files are loaded
/// at run time, and each method of a service of the configured packages is served by the
/// handler of `{"service":<Service>,"rpc":<Method>}`, else of
/// `{"service":<package.Service>,"rpc":<Method>}`. Requests reach a handler as JSON and its
/// reply goes back as the method's response message (docs/transports/grpc.md); a handler
/// returning a `stream<T>` serves a server-streaming method. gRPC runs its own threads;
/// handlers run on the microservice's executor.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  std::string_view name() const noexcept override { return "grpc"; }
  /// Loads the protos and listens; throws connection_error when a proto does not load, a
  /// package is missing or the address cannot be bound.
  awaitable<void> listen(dispatcher& d) override;
  /// New calls are refused with UNAVAILABLE; calls in flight go on.
  void stop_accepting() override;
  /// True once the calls that came before the stop were handed to the dispatcher.
  bool stopped() const noexcept override;
  /// Stops the server: the calls finished by then send their answers (for at most 2 s), the
  /// others are cancelled; returns once gRPC's threads are done.
  void close() override;
  /// Its port is bound and gRPC serves it (from listen() to stop_accepting()).
  bool ready() const noexcept override;

  /// The port listened on (the one chosen for a `:0` URL), once listening; else 0.
  std::uint16_t port() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::grpc
