#pragma once
// The sending half of a connection: a write queue that callers on any thread append to, the
// writer coroutine that empties it, a direct non-blocking send for a queue that fills while
// the strand is busy anyway, a limit on unsent bytes, backpressure for the reader, and a
// close that waits for what was accepted.

#include <roost/awaitable.hpp>
#include <roost/net/stream.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace roost::net {

/// One per connection, beside its stream (which must outlive it). The queue is one string
/// that the writer swaps with its own (double buffering: both keep their capacity), so a
/// message costs its encoding into the queue and nothing more: no allocation, no virtual
/// call, and a wake-up of the writer only when it sleeps. Members marked "on the strand" run
/// on the connection's strand; the others are thread-safe.
class outbox {
 public:
  /// What push() does with a message that takes the unsent bytes past max_bytes.
  enum class overflow {
    refuse,  ///< refuse it once the limit is passed (the connection stays)
    close,   ///< drop the queue and report it: the caller closes the connection
  };
  struct limits {
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
    outbox::overflow on_overflow = overflow::refuse;
    /// over_high_water() holds above this many unsent bytes; the reader waits then.
    std::size_t high_water_mark = std::numeric_limits<std::size_t>::max();
  };
  enum class pushed { ok, closed, overflow };

  outbox(net::stream& s, const strand_type& strand, limits lim);
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  /// Starts the writer (run_writer()) on the strand. `owner`, the connection, is kept alive
  /// while it runs and while a wake-up for it is posted. `on_end(why)` runs on the strand when
  /// the writer ends on its own: after a write error (its message), or once flushed after
  /// close_when_flushed() (empty); not when the outbox was closed.
  void start_writer(std::shared_ptr<void> owner, std::function<void(std::string_view)> on_end);

  /// Appends a message: `build(std::string& queue)` appends its bytes, under the lock that
  /// orders messages (so a caller may record something that must follow the same order, such
  /// as the handler of a command's reply). Wakes the writer unless a batch is open.
  template <class Build>
  pushed push(Build&& build) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!open_) return pushed::closed;
      if (limits_.on_overflow == overflow::refuse && queued_ > limits_.max_bytes) {
        return pushed::overflow;
      }
      const std::size_t before = queue_.size();
      build(queue_);
      queued_ += queue_.size() - before;
      if (limits_.on_overflow == overflow::close && queued_ > limits_.max_bytes) {
        queue_.clear();
        return pushed::overflow;
      }
      wake = !batching_ && std::exchange(writer_waiting_, false);
    }
    if (wake) wake_writer_later();
    return pushed::ok;
  }

  /// Runs `f()` under the lock of push().
  template <class F>
  decltype(auto) locked(F&& f) {
    std::lock_guard lock(mutex_);
    return std::forward<F>(f)();
  }

  /// On the strand: the pushes that follow wake no writer until end_batch().
  void begin_batch();
  /// On the strand: ends a batch. When the writer has nothing in flight, a plain stream sends
  /// what is queued at once with one non-blocking write (instead of a post, a timer and a
  /// resumption of the writer); what the socket does not take, and any error, is left to the
  /// writer. True when close_when_flushed() asked for a close and all is sent: close now.
  bool end_batch();
  /// The same without a batch, from any thread (a connection whose strand is busy serving
  /// messages that another connection reads). On a TLS stream, it leaves all to the writer.
  bool flush_now();

  /// Reader side, on the strand: true when more than high_water_mark bytes wait; the reader
  /// then waits with async_wait_drained() until the writer has sent half of them.
  bool over_high_water();
  template <class Token>
  auto async_wait_drained(Token&& token) {
    drained_signal_.expires_at(std::chrono::steady_clock::time_point::max());
    return drained_signal_.async_wait(std::forward<Token>(token));
  }

  /// On the strand: the writer ends (on_end) once all queued bytes are sent. True when
  /// nothing is queued now: close at once.
  bool close_when_flushed();

  /// On the strand: closes the stream (under the lock, as flush_now() may be writing to it
  /// from another thread), drops the queue and wakes the writer and a waiting reader. `also`
  /// runs under the lock. False when it was closed already.
  template <class F>
  bool close(F&& also) {
    {
      std::lock_guard lock(mutex_);
      if (!open_.exchange(false)) return false;
      stream_.close();
      std::forward<F>(also)();
      queue_.clear();
    }
    cancel_signals();
    return true;
  }
  bool close() {
    return close([] {});
  }

  bool is_open() const noexcept { return open_.load(); }

 private:
  // Under the lock: the direct send of end_batch() and flush_now(). True when the queue is
  // empty afterwards.
  bool write_now();
  // Sends what is queued until the outbox closes (false) or, after close_when_flushed(), until
  // nothing is left (true). Throws boost::system::system_error when a write fails.
  awaitable<bool> run_writer();
  void wake_writer_later();
  void cancel_signals();

  net::stream& stream_;
  strand_type strand_;
  limits limits_;
  std::weak_ptr<void> owner_;
  std::atomic<bool> open_{true};

  std::mutex mutex_;
  std::string queue_;       // bytes waiting for the writer
  std::size_t queued_ = 0;  // unsent bytes: the queue and what the writer has in flight
  bool writer_waiting_ = false;
  bool writer_busy_ = false;  // the writer has bytes in flight (taken out of queue_)
  bool batching_ = false;
  bool reader_paused_ = false;
  bool close_when_flushed_ = false;
  boost::asio::steady_timer writer_signal_;   // wakes the writer
  boost::asio::steady_timer drained_signal_;  // wakes a reader paused by backpressure
};

}  // namespace roost::net
