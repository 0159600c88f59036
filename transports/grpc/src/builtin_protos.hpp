#pragma once
/// \file The `.proto` files roost knows without a file on disk: the standard health service
/// (`grpc.health.v1`) and server reflection (`grpc.reflection.v1alpha`, `grpc.reflection.v1`). A
/// `protoPath` or an import of their names finds them, on the server and on the client alike.

#include <string_view>

namespace roost::grpc::detail {

/// `grpc/health/v1/health.proto`, the health checking protocol of gRPC.
inline constexpr std::string_view health_proto_name = "grpc/health/v1/health.proto";

/// `grpc/reflection/v1alpha/reflection.proto` and `grpc/reflection/v1/reflection.proto`, the
/// server reflection protocol of gRPC in its two packages.
inline constexpr std::string_view reflection_v1alpha_proto_name =
    "grpc/reflection/v1alpha/reflection.proto";
inline constexpr std::string_view reflection_v1_proto_name = "grpc/reflection/v1/reflection.proto";

/// The text of the built-in file `name`, or an empty view when there is none of that name.
std::string_view builtin_proto(std::string_view name) noexcept;

}  // namespace roost::grpc::detail
