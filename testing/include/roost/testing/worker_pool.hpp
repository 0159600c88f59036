#pragma once
/// \file roost::testing::worker_pool: a handler's work of known capacity, for the tests and the
/// benchmark of the adaptive concurrency limit (roost/adaptive_limit.hpp).

#include <roost/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>

namespace roost::testing {

/// `workers` slots, each busy `cost` per call, the other calls waiting their turn first come
/// first served (a database's connection pool, a thread pool): it completes `workers / cost`
/// calls a second at most, whatever their number, and a call's latency grows with the calls
/// waiting. It waits on timers, so its capacity holds on a loaded machine. Used from one
/// thread (the coroutines of a one-thread io_context).
class worker_pool {
 public:
  worker_pool(std::size_t workers, std::chrono::microseconds cost);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// One call: waits for a slot, holds it `cost`, and completes.
  awaitable<void> work();

 private:
  struct turn;
  std::size_t free_;
  std::chrono::microseconds cost_;
  std::deque<std::shared_ptr<turn>> waiting_;
};

}  // namespace roost::testing
