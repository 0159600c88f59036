#include <roost/detail/request_channel.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace roost::detail {

namespace asio = boost::asio;

// The reader waiting for a value: its handler, and the executor it resumes on (kept apart:
// Boost 1.81's erased handler cannot post itself).
struct request_channel::waiter_state {
  asio::any_completion_handler<void()> handler;
  executor ex;
  bool cancelled = false;  // woken by the reader's cancellation, not by a value
};

request_channel::request_channel() = default;

std::shared_ptr<request_channel> request_channel::make() {
  return std::shared_ptr<request_channel>(new request_channel());
}

std::shared_ptr<request_channel> single_request(json::value v) {
  auto c = request_channel::make();
  c->push(std::move(v));
  c->finish();
  return c;
}

void request_channel::push(json::value v) {
  std::unique_lock lock(mutex_);
  if (ended_) return;
  values_.push_back(std::move(v));
  wake(lock);
}

void request_channel::finish() {
  std::unique_lock lock(mutex_);
  if (ended_) return;
  ended_ = true;
  wake(lock);
}

void request_channel::fail(std::exception_ptr e) {
  std::unique_lock lock(mutex_);
  if (ended_) return;
  ended_ = true;
  error_ = std::move(e);
  wake(lock);
}

void request_channel::wake(std::unique_lock<std::mutex>& lock) {
  if (!waiter_) return;
  auto w = std::move(waiter_);
  lock.unlock();
  // The handler is moved out: it owns the reader's frame, which owns `w`.
  auto h = std::move(w->handler);
  asio::post(w->ex, [h = std::move(h)]() mutable { std::move(h)(); });
}

std::optional<json::value> request_channel::take_locked() {
  if (!values_.empty()) {
    json::value v = std::move(values_.front());
    values_.pop_front();
    return v;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

awaitable<std::optional<json::value>> request_channel::next() {
  auto self = shared_from_this();
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (ready()) co_return take_locked();
    }
    auto w = std::make_shared<waiter_state>();
    // A named lambda: GCC 12 destroys a temporary lambda argument of a co_awaited
    // async_initiate twice.
    auto wait = [self, w](auto handler) {
      std::unique_lock lock(self->mutex_);
      w->ex = asio::get_associated_executor(handler);
      // Not operator=: in Boost 1.81 it wraps the handler in itself instead of moving it.
      asio::any_completion_handler<void()>(std::move(handler)).swap(w->handler);
      auto slot = w->handler.get_cancellation_slot();
      if (slot.is_connected()) {
        slot.assign([weak = std::weak_ptr<request_channel>(self),
                     weak_w = std::weak_ptr<waiter_state>(w)](asio::cancellation_type) {
          auto s = weak.lock();
          auto ww = weak_w.lock();
          if (!s || !ww) return;
          std::unique_lock l(s->mutex_);
          if (s->waiter_ != ww) return;  // woken already
          ww->cancelled = true;
          s->wake(l);
        });
      }
      self->waiter_ = w;
      if (self->ready()) self->wake(lock);
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(std::move(wait),
                                                                         asio::use_awaitable);
    if (w->cancelled) throw boost::system::system_error(asio::error::operation_aborted);
  }
}

}  // namespace roost::detail
