#include <roost/bulkhead.hpp>
#include <roost/errors.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <mutex>

namespace roost {
namespace detail {

namespace {

// One call waiting for a slot. Ends granted (a released slot passed to it), or given up
// (its wait ran out, or its caller cancelled it), whichever comes first.
struct bulkhead_waiter {
  enum class outcome { waiting, granted, timed_out, cancelled };
  std::mutex mutex;
  outcome state = outcome::waiting;
  boost::asio::any_completion_handler<void()> handler;
  executor handler_executor;

  // Ends the wait as `o` unless it has ended already; true when this call ended it.
  bool end(outcome o) {
    std::unique_lock lock(mutex);
    if (state != outcome::waiting) return false;
    state = o;
    wake(lock);
    return true;
  }

  // With the mutex held (kept until the handler is posted, as call_state::wake).
  void wake(std::unique_lock<std::mutex>& lock) {
    if (!handler) return;
    auto h = std::move(handler);
    boost::asio::post(std::move(handler_executor),
                      [h = std::move(h)]() mutable { std::move(h)(); });
    lock.unlock();
  }
};

}  // namespace

struct bulkhead_state {
  explicit bulkhead_state(bulkhead::options o) : opts(o) {}

  // A released slot goes to the first call still waiting, else back to the pool.
  void release() {
    std::lock_guard lock(mutex);
    while (!queue.empty()) {
      auto w = std::move(queue.front());
      queue.pop_front();
      if (w->end(bulkhead_waiter::outcome::granted)) return;
    }
    --in_flight;
  }

  const bulkhead::options opts;
  mutable std::mutex mutex;
  std::size_t in_flight = 0;
  std::deque<std::shared_ptr<bulkhead_waiter>> queue;  // may hold waiters that gave up
  std::size_t waiting = 0;
};

}  // namespace detail

namespace {

connection_error full(const bulkhead::options& o) {
  return connection_error(
      make_error_code(error::bulkhead_full),
      "Bulkhead full: " + std::to_string(o.max_in_flight) + " calls in flight to this target");
}

// Completes once the waiter's wait has ended. Not a coroutine: the operation owns `w`.
awaitable<void> wait_ended(std::shared_ptr<detail::bulkhead_waiter> w) {
  auto initiate = [w = std::move(w)](auto handler) {
    std::unique_lock lock(w->mutex);
    w->handler_executor = boost::asio::get_associated_executor(handler);
    boost::asio::any_completion_handler<void()>(std::move(handler)).swap(w->handler);
    auto slot = w->handler.get_cancellation_slot();
    if (slot.is_connected()) {
      slot.assign(
          [weak = std::weak_ptr<detail::bulkhead_waiter>(w)](boost::asio::cancellation_type) {
            if (auto s = weak.lock()) s->end(detail::bulkhead_waiter::outcome::cancelled);
          });
    }
    if (w->state != detail::bulkhead_waiter::outcome::waiting) w->wake(lock);
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void()>(
      std::move(initiate), boost::asio::use_awaitable);
}

}  // namespace

bulkhead::bulkhead(options o) : state_(std::make_shared<detail::bulkhead_state>(o)) {}

bulkhead::permit& bulkhead::permit::operator=(permit&& o) noexcept {
  if (this != &o) {
    if (state_) state_->release();
    state_ = std::move(o.state_);
  }
  return *this;
}

bulkhead::permit::~permit() {
  if (state_) state_->release();
}

awaitable<bulkhead::permit> bulkhead::acquire() {
  auto s = state_;
  auto w = std::make_shared<detail::bulkhead_waiter>();
  {
    std::lock_guard lock(s->mutex);
    if (s->opts.max_in_flight == 0 || s->in_flight < s->opts.max_in_flight) {
      ++s->in_flight;
      co_return permit(s);
    }
    if (s->waiting >= s->opts.max_waiting || s->opts.max_wait.count() <= 0) throw full(s->opts);
    ++s->waiting;
    s->queue.push_back(w);
  }
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(ex);
  timer.expires_after(s->opts.max_wait);
  timer.async_wait([w](boost::system::error_code ec) {
    if (!ec) w->end(detail::bulkhead_waiter::outcome::timed_out);
  });
  std::exception_ptr failure;
  try {
    auto ended = wait_ended(w);
    co_await std::move(ended);
  } catch (...) {
    failure = std::current_exception();
    w->end(detail::bulkhead_waiter::outcome::cancelled);
  }
  timer.cancel();
  detail::bulkhead_waiter::outcome outcome;
  {
    std::lock_guard lock(w->mutex);
    outcome = w->state;
  }
  {
    std::lock_guard lock(s->mutex);
    --s->waiting;
  }
  // A slot granted to a call that also got cancelled is its to hand back.
  if (outcome == detail::bulkhead_waiter::outcome::granted) {
    permit p(s);
    if (failure) std::rethrow_exception(failure);
    co_return p;
  }
  if (failure) std::rethrow_exception(failure);
  if (outcome == detail::bulkhead_waiter::outcome::cancelled) {
    throw boost::system::system_error(boost::asio::error::operation_aborted);
  }
  throw full(s->opts);
}

std::size_t bulkhead::in_flight() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->in_flight;
}

std::size_t bulkhead::waiting() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->waiting;
}

}  // namespace roost
