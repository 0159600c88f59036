#pragma once
/// \file Small helpers the transports' broker tests share: polling for a condition, pausing,
/// calling and reading the error, quiet microservice options.

#include <roost/awaitable.hpp>
#include <roost/client_proxy.hpp>
#include <roost/json.hpp>
#include <roost/microservice.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace roost::testing {

/// Polls `pred` on the calling coroutine's executor until it holds (true) or `timeout` has
/// passed (false). For checks of order and counts, not of how fast something happens.
awaitable<bool> eventually(std::function<bool()> pred,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The same, polling every `every` (for a `pred` that asks a broker, say).
awaitable<bool> eventually(std::function<bool()> pred, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds every);

/// Waits `d` on the calling coroutine's executor.
awaitable<void> pause_for(std::chrono::milliseconds d);

/// The message of the rpc_error `c.send(pattern, data)` failed with; "" when it did not fail.
awaitable<std::string> error_of(client_proxy& c, json::value pattern, json::value data);

/// Sends `pattern` with the number 1 and counts the reply in `done` (a failed call throws).
awaitable<void> call_and_count(client_proxy& c, json::value pattern, std::atomic<int>& done);

/// A microservice for tests: one thread, a 5 s drain, no signal handling, and silent unless
/// ROOST_TEST_LOG is set.
microservice_options app_options();

/// `url` with `query` (`k=v&...`) added: after its `?` if it has one, else as `/?query`.
std::string with_query(const std::string& url, const std::string& query);

}  // namespace roost::testing
