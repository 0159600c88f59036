#pragma once
/// \file Interceptors that come with roost: logging, timing, a per-handler timeout and a cache.

#include <roost/enhancers.hpp>
#include <roost/log.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

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

struct cache_options {
  /// How long an answer is given again from the cache.
  std::chrono::milliseconds ttl = std::chrono::seconds(10);
  /// Answers kept at most; the least recently used goes first when full.
  std::size_t max_entries = 1000;
  /// Headers whose values are part of the key besides the route and the payload (an
  /// `authorization` or tenant header, when answers differ by caller).
  std::vector<std::string> headers;
};

/// Answers a request again, without running its pipes and handler, when the same route was
/// called with the same payload (equal as JSON: the order of an object's members does not
/// matter) and the same `options.headers` within `options.ttl`. Only successful, single-value
/// answers are kept: not errors, not streams, not events. For idempotent patterns only.
/// Identical requests that arrive while the first is still running are not merged: each runs
/// its handler (so the hooks stay synchronous and the route on the fast path). One cache per
/// call of this function: attach the same interceptor to several routes to share it (the route
/// is part of the key). Throws std::invalid_argument for a ttl or max_entries of zero.
interceptor cache_interceptor(cache_options options = {});

}  // namespace roost
