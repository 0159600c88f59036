#pragma once
/// \file The gRPC transport (NestJS `Transport.GRPC`).

#include <roost/grpc/client.hpp>
#include <roost/grpc/context.hpp>
#include <roost/grpc/from_url.hpp>
#include <roost/grpc/options.hpp>
#include <roost/grpc/server.hpp>
