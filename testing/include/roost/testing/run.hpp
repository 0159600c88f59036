#pragma once
/// \file Running a coroutine test body with a hard deadline.

#include <roost/awaitable.hpp>

#include <chrono>
#include <functional>

namespace roost::testing {

/// Runs `body` on a fresh io_context (on `threads` threads) and returns when it completes.
/// Rethrows what the body threw. If the body has not completed after `deadline`, throws
/// std::runtime_error("test deadline exceeded") instead of hanging, so a stuck test fails.
void run(std::function<awaitable<void>()> body,
         std::chrono::milliseconds deadline = std::chrono::seconds(20), unsigned threads = 1);

}  // namespace roost::testing
