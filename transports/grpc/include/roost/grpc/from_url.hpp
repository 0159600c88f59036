#pragma once
/// \file gRPC options from a URL: `grpc://localhost:5000/?package=math&protoPath=math.proto`.

#include <roost/grpc/options.hpp>
#include <roost/url.hpp>

#include <boost/system/result.hpp>

namespace roost::grpc {

/// Options from `grpc://HOST:PORT/?package=P&protoPath=FILE` with NestJS's option names,
/// `package`, `protoPath` and `includeDirs` each repeatable (several packages, files or
/// directories). A URL without a package or a proto file, another scheme, or TLS parameters
/// (`ca`, `cert`, `key`, `verify`, `servername`: TLS is not there yet) is
/// roost::error::invalid_argument.
boost::system::result<server_options> server_options_from(const url& u);
boost::system::result<client_options> client_options_from(const url& u);

}  // namespace roost::grpc
