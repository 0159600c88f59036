#pragma once
/// \file roost::detail::thread_bridge: how the callbacks of a library with threads of its own
/// (nats.c, and rabbitmq-c, librdkafka, libmosquitto, gRPC next) reach our executor.

#include <roost/awaitable.hpp>

#include <boost/asio/post.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace roost::detail {

/// Hands items from any thread to one executor, in batches: everything pushed while the
/// previous batch was being served is served next, with one hand-over and at most one wake-up
/// of the executor per batch instead of one per item. Batches are served one at a time, in
/// the order their items were pushed (so order across the library's subscriptions is kept),
/// and a long run of items yields to the executor's other work between batches.
///
/// Held by shared_ptr: the library's callbacks hold it, and a batch being served holds it.
/// `serve` must not keep a strong reference to the owner of the bridge (the library may call
/// it while that owner is being torn down): capture a weak_ptr.
template <class T>
class thread_bridge : public std::enable_shared_from_this<thread_bridge<T>> {
 public:
  using batch = std::vector<T>;

  static std::shared_ptr<thread_bridge> make(executor ex, std::function<void(batch&)> serve) {
    return std::shared_ptr<thread_bridge>(new thread_bridge(std::move(ex), std::move(serve)));
  }

  /// Queues one item. Thread-safe; never blocks on the executor.
  void push(T item) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(item));
      if (std::exchange(posted_, true)) return;  // a drain is queued or running
    }
    schedule();
  }

  /// Items waiting to be served (for tests and metrics).
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

  /// True when every item pushed so far was handed to `serve` (none queued, no drain queued
  /// or running): a transport's shutdown asks it before it takes nothing more. Thread-safe.
  bool idle() const {
    std::lock_guard lock(mutex_);
    return !posted_;
  }

 private:
  thread_bridge(executor ex, std::function<void(batch&)> serve)
      : ex_(std::move(ex)), serve_(std::move(serve)) {}

  void schedule() {
    boost::asio::post(ex_, [self = this->shared_from_this()] { self->drain(); });
  }

  void drain() {
    batch b;
    {
      std::lock_guard lock(mutex_);
      b.swap(items_);
      items_.swap(spare_);  // the previous batch's capacity, for the next items
    }
    serve_(b);
    b.clear();
    {
      std::lock_guard lock(mutex_);
      if (spare_.capacity() < b.capacity()) spare_.swap(b);
      if (items_.empty()) {
        posted_ = false;
        return;
      }
    }
    schedule();  // more came meanwhile: served next, after the executor's other work
  }

  executor ex_;
  std::function<void(batch&)> serve_;
  mutable std::mutex mutex_;
  batch items_;
  batch spare_;
  bool posted_ = false;
};

}  // namespace roost::detail
