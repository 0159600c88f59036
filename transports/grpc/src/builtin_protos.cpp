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

// gRPC's server reflection protocol (what grpcurl and Postman call), the same in both of its
// packages: v1alpha, which most tools call, and v1.
#define ROOST_REFLECTION_PROTO(package)                               \
  "syntax = \"proto3\";\n"                                            \
  "package " package                                                  \
  ";\n"                                                               \
  "service ServerReflection {\n"                                      \
  "  rpc ServerReflectionInfo(stream ServerReflectionRequest)\n"      \
  "      returns (stream ServerReflectionResponse);\n"                \
  "}\n"                                                               \
  "message ServerReflectionRequest {\n"                               \
  "  string host = 1;\n"                                              \
  "  oneof message_request {\n"                                       \
  "    string file_by_filename = 3;\n"                                \
  "    string file_containing_symbol = 4;\n"                          \
  "    ExtensionRequest file_containing_extension = 5;\n"             \
  "    string all_extension_numbers_of_type = 6;\n"                   \
  "    string list_services = 7;\n"                                   \
  "  }\n"                                                             \
  "}\n"                                                               \
  "message ExtensionRequest {\n"                                      \
  "  string containing_type = 1;\n"                                   \
  "  int32 extension_number = 2;\n"                                   \
  "}\n"                                                               \
  "message ServerReflectionResponse {\n"                              \
  "  string valid_host = 1;\n"                                        \
  "  ServerReflectionRequest original_request = 2;\n"                 \
  "  oneof message_response {\n"                                      \
  "    FileDescriptorResponse file_descriptor_response = 4;\n"        \
  "    ExtensionNumberResponse all_extension_numbers_response = 5;\n" \
  "    ListServiceResponse list_services_response = 6;\n"             \
  "    ErrorResponse error_response = 7;\n"                           \
  "  }\n"                                                             \
  "}\n"                                                               \
  "message FileDescriptorResponse {\n"                                \
  "  repeated bytes file_descriptor_proto = 1;\n"                     \
  "}\n"                                                               \
  "message ExtensionNumberResponse {\n"                               \
  "  string base_type_name = 1;\n"                                    \
  "  repeated int32 extension_number = 2;\n"                          \
  "}\n"                                                               \
  "message ListServiceResponse {\n"                                   \
  "  repeated ServiceResponse service = 1;\n"                         \
  "}\n"                                                               \
  "message ServiceResponse {\n"                                       \
  "  string name = 1;\n"                                              \
  "}\n"                                                               \
  "message ErrorResponse {\n"                                         \
  "  int32 error_code = 1;\n"                                         \
  "  string error_message = 2;\n"                                     \
  "}\n"

constexpr std::string_view reflection_v1alpha_proto =
    ROOST_REFLECTION_PROTO("grpc.reflection.v1alpha");
constexpr std::string_view reflection_v1_proto = ROOST_REFLECTION_PROTO("grpc.reflection.v1");

#undef ROOST_REFLECTION_PROTO

}  // namespace

std::string_view builtin_proto(std::string_view name) noexcept {
  if (name == health_proto_name) return health_proto;
  if (name == reflection_v1alpha_proto_name) return reflection_v1alpha_proto;
  if (name == reflection_v1_proto_name) return reflection_v1_proto;
  return {};
}

}  // namespace roost::grpc::detail
