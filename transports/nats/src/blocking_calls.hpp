#pragma once
// The blocking nats.c calls of one connection (connect, flush, JetStream requests), each run on
// a thread of its own that posts its result to the caller's executor. Asio makes a posted
// handler runnable before it wakes the executor's thread, so the caller may resume, finish and
// destroy the executor while that thread is still inside post(): a thread must not outlive the
// executor it posts to. join() waits for them; the connection's close() calls it, and the
// connection's owner closes it before letting its executor go.

#include <roost/awaitable.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace roost::nats::detail {

class blocking_calls {
 public:
  blocking_calls() = default;
  blocking_calls(const blocking_calls&) = delete;
  blocking_calls& operator=(const blocking_calls&) = delete;
  ~blocking_calls() { join(); }

  /// Runs `f` on a thread of its own and completes with its result on the caller's executor.
  /// The thread owns everything it touches, so an abandoned caller costs nothing but the
  /// result (and a join() that waits for `f` to return).
  template <class R>
  awaitable<R> run(std::function<R()> f) {
    auto init = [this, f = std::move(f)](auto handler) mutable {
      this->start([f = std::move(f), h = std::move(handler)]() mutable {
        R r = f();
        auto ex = boost::asio::get_associated_executor(h);
        boost::asio::post(ex, boost::asio::append(std::move(h), std::move(r)));
      });
    };
    R r = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(R)>(
        init, boost::asio::use_awaitable);
    co_return r;
  }

  /// Waits for every thread started so far (one calling it from its own thread is left to
  /// finish alone). Thread-safe.
  void join() {
    std::vector<entry> all;
    {
      std::lock_guard lock(mutex_);
      all.swap(threads_);
    }
    for (auto& e : all) {
      if (e.thread.get_id() == std::this_thread::get_id()) {
        e.thread.detach();
      } else {
        e.thread.join();
      }
    }
  }

 private:
  struct entry {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  template <class F>
  void start(F body) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard lock(mutex_);
    // Threads that are done are joined here, so a long-lived connection keeps none of them.
    std::erase_if(threads_, [](entry& e) {
      if (!*e.done) return false;
      e.thread.join();
      return true;
    });
    threads_.push_back({std::thread([body = std::move(body), done]() mutable {
                          body();
                          *done = true;
                        }),
                        done});
  }

  std::mutex mutex_;
  std::vector<entry> threads_;
};

}  // namespace roost::nats::detail
