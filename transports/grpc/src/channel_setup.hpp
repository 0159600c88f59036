#pragma once
// What a server and a client make of the options they share: credentials (TLS or plain text)
// and channel arguments (message size limits, keepalive).

#include <roost/grpc/options.hpp>

#include <functional>
#include <memory>

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace roost::grpc::detail {

/// Gives each channel argument the options set (name, value) to `add`.
void for_each_channel_arg(const proto_options& o, const std::function<void(const char*, int)>& add);

/// The server's credentials. Throws std::invalid_argument for TLS options that cannot be used
/// (a file that does not read, no certificate or key).
std::shared_ptr<::grpc::ServerCredentials> server_credentials(const proto_options& o);
/// The client's credentials. Throws std::invalid_argument as above, and for verify_peer off.
std::shared_ptr<::grpc::ChannelCredentials> client_credentials(const proto_options& o);

}  // namespace roost::grpc::detail
