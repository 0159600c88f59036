#pragma once
/// \file Server reflection (`grpc.reflection.v1alpha.ServerReflection` and its `v1` twin), what
/// grpcurl and Postman call to learn a server's services without their `.proto` files: the list
/// of services, and the files (as FileDescriptorProtos) by name or by a symbol they declare.
/// Served from gRPC's threads.

#include "protos.hpp"

#include <grpcpp/generic/async_generic_service.h>

#include <memory>
#include <string>
#include <vector>

namespace roost::grpc::detail {

class reflection_service : public std::enable_shared_from_this<reflection_service> {
 public:
  /// `protos` has the built-in reflection protos loaded; `services` are the full names listed.
  reflection_service(std::shared_ptr<const proto_set> protos, std::vector<std::string> services);

  /// The reactor of a call of `method`, or nullptr when it is not one of this service's.
  ::grpc::ServerGenericBidiReactor* reactor(const std::string& method);

  /// The response to one request (its wire bytes) of the protocol in `package`.
  std::string answer(const std::string& package, const std::string& request) const;

 private:
  std::shared_ptr<const proto_set> protos_;
  const std::vector<std::string> services_;
};

}  // namespace roost::grpc::detail
