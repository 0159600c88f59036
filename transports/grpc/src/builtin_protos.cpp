#include "builtin_protos.hpp"

namespace roost::grpc::detail {

namespace {

// The messages and service of gRPC's health checking protocol (its numbers and names are the
// protocol; what tools such as load balancers and probes call).
constexpr std::string_view health_proto = R"(syntax = "proto3";

package grpc.health.v1;

message HealthCheckRequest {
  string service = 1;
}

message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}

service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
)";

}  // namespace

std::string_view builtin_proto(std::string_view name) noexcept {
  if (name == health_proto_name) return health_proto;
  return {};
}

}  // namespace roost::grpc::detail
