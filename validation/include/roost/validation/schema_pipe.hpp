#pragma once
/// \file roost::validation::schema_pipe: a pipe that refuses payloads a JSON Schema does not
/// accept.

#include <roost/enhancers.hpp>
#include <roost/validation/json_schema.hpp>

namespace roost::validation {

/// A synchronous pipe (the route keeps the fast path) that lets a payload `schema` accepts
/// through unchanged and refuses any other with roost::payload_rejected, listing every problem:
/// `{"status":"error","message":"Invalid payload: /items/0/qty: minimum 1, got 0; /customer:
/// required property missing"}`, the shape of a payload that does not convert to the handler's
/// type.
pipe schema_pipe(json_schema schema);

}  // namespace roost::validation
