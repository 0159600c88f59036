#pragma once
/// \file roost::grpc::client: the client side of the gRPC transport.

#include <roost/client_transport.hpp>
#include <roost/grpc/options.hpp>

#include <memory>

namespace roost::grpc {

/// Calls the methods of a gRPC server (NestJS's ServerGrpc, a roost one, or any gRPC server)
/// by the pattern `{"service":S,"rpc":M}` (S the service's name or its `package.Service` full
/// name), with JSON in and out converted by the loaded `.proto` files. A unary method replies
/// once; a server-streaming one replies once per message (`client_proxy::stream`). A status
/// other than OK fails the call with an `rpc_error` whose error is `{"code","details",
/// "message"}`, as grpc-js's errors. The call's headers go out as gRPC metadata (names
/// lowercased). gRPC has no events: `emit` fails with `invalid_argument`.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "grpc"; }
  void set_listener(std::shared_ptr<client_listener> l) noexcept override;
  /// Loads the protos and opens the channel (gRPC connects on the first call and reconnects
  /// by itself). Throws connection_error when a proto does not load.
  awaitable<void> connect() override;
  awaitable<void> send_request(const outbound_message& m) override;
  void end_request(const outbound_message& m) noexcept override;
  /// A client or bidirectional streaming method: its requests follow one by one.
  awaitable<void> open_request_stream(const outbound_message& m) override;
  void send_stream_value(const std::string& id, const json::value& value) override;
  void end_request_stream(const std::string& id, bool failed) noexcept override;
  awaitable<void> send_event(const outbound_message& m) override;
  /// Cancels the calls in flight and waits for gRPC to be done with them.
  void close() override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::grpc
