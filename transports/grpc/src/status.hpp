#pragma once
/// \file How NestJS's errors become gRPC statuses and back (docs/transports/grpc.md,
/// "Errors").

#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <grpcpp/support/status.h>

namespace roost::grpc::detail {

/// The status of a handler's error as NestJS's exception filter and grpc-js give it: an
/// object's integer `code` (1 to 16) is the status, and its `details` (a string, with such a
/// code) or else its `message` the text; anything else is UNKNOWN with the `message` (a guard's
/// "Forbidden resource", "Internal server error", an `rpc_exception("...")`'s text).
::grpc::Status status_of_error(const json::value& err);

/// The error a client reports for a status other than OK, as grpc-js's: `{"code":5,
/// "details":"...","message":"5 NOT_FOUND: ..."}`.
json::value error_of_status(const ::grpc::Status& s);

}  // namespace roost::grpc::detail
