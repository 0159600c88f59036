#pragma once
// One attempt at a time for concurrent callers (a client's connect): the first caller makes the
// attempt, the others wait for it, and every one of them gets its result or its error.

#include <roost/awaitable.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace roost::detail {

/// Shares one attempt among the callers that ask while it runs. T is what an attempt yields
/// (copied to each waiting caller, so a handle such as a shared_ptr).
template <class T>
class single_flight {
 public:
  /// Completes with `ready()` when it is not empty, else with the result of the attempt in
  /// progress, or of a new one, `start()`, made in this caller's coroutine. `ready` runs under
  /// the lock that ends an attempt, so a caller cannot miss the value an attempt just stored
  /// (an attempt stores it before it returns) and start a second one. A failed attempt's
  /// exception is rethrown to every caller that waited for it. Waiting callers resume on their
  /// own executors. Thread-safe; `ready` must not call into this object.
  template <class Ready, class Start>
  awaitable<T> run(Ready ready, Start start) {
    bool wait = false;
    {
      std::lock_guard lock(mutex_);
      if (T current = ready()) co_return current;
      wait = std::exchange(in_flight_, true);
    }
    if (wait) {
      // in_flight_ may have been cleared since: park() then completes at once.
      T shared = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>,
                                                      void(std::exception_ptr, T)>(
          [this](auto handler) { this->park(std::move(handler)); }, boost::asio::use_awaitable);
      if (shared) co_return shared;
      // The attempt finished before this caller parked: try again.
      auto again = run(std::move(ready), std::move(start));
      co_return co_await std::move(again);
    }
    std::exception_ptr failure;
    T result{};
    try {
      result = co_await start();
    } catch (...) {
      failure = std::current_exception();
    }
    std::vector<waiter> wake;
    {
      std::lock_guard lock(mutex_);
      in_flight_ = false;
      wake.swap(waiters_);
    }
    for (auto& [ex, h] : wake) {
      boost::asio::post(ex, boost::asio::append(std::move(h), failure, result));
    }
    if (failure) std::rethrow_exception(failure);
    co_return result;
  }

  /// True while an attempt runs.
  bool in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

 private:
  // Boost 1.81's type-erased handler cannot post to its own executor: it is kept beside it.
  using handler_type = boost::asio::any_completion_handler<void(std::exception_ptr, T)>;
  using waiter = std::pair<executor, handler_type>;

  template <class Handler>
  void park(Handler handler) {
    auto ex = boost::asio::get_associated_executor(handler);
    std::unique_lock lock(mutex_);
    if (!in_flight_) {
      lock.unlock();
      boost::asio::post(ex, boost::asio::append(std::move(handler), std::exception_ptr(), T{}));
      return;
    }
    waiters_.emplace_back(std::move(ex), handler_type(std::move(handler)));
  }

  mutable std::mutex mutex_;
  bool in_flight_ = false;
  std::vector<waiter> waiters_;
};

}  // namespace roost::detail
