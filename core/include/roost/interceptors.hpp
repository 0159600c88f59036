#pragma once
/// \file Interceptors that come with roost: logging, timing and a per-handler timeout.

#include <roost/enhancers.hpp>
#include <roost/log.hpp>

#include <chrono>
#include <functional>

namespace roost {

/// Logs each call at debug level on its way in, and at info level with its duration on its
/// way out (at warn level when it failed). Synchronous: keeps the fast path.
interceptor logging_interceptor(logger log);

/// Calls `record` with the call's duration (guards excluded, pipes and handler included) once
/// the handler returned or threw. Synchronous: keeps the fast path.
interceptor timing_interceptor(
    std::function<void(const context&, std::chrono::nanoseconds)> record);

/// Fails a call that runs longer than `limit` with
/// `{"status":"error","message":"Request timed out"}`; the handler's coroutine is cancelled
/// (its pending operation completes with `operation_aborted`). A coroutine around the chain:
/// the route leaves the synchronous fast path, which a handler that cannot suspend would not
/// need anyway.
interceptor timeout_interceptor(std::chrono::milliseconds limit);

}  // namespace roost
