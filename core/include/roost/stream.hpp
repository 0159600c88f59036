#pragma once
/// \file roost::stream<T>: an asynchronous sequence of values, the result type of streaming
/// handlers and of client_proxy::stream.

#include <roost/awaitable.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace roost {

/// An asynchronous generator. A handler that streams its reply is a coroutine returning
/// `stream<T>`: it may `co_yield` values and `co_await` any `roost::awaitable`:
///
/// \code
/// r.message("count", [](int n) -> roost::stream<int> {
///   for (int i = 0; i < n; ++i) co_yield i;
/// });
/// \endcode
///
/// The consumer reads it with `co_await s.next()`, which completes with the next value or
/// `std::nullopt` at the end, and rethrows what the body threw. Destroying a stream cancels
/// the operation its body is waiting for (terminal cancellation) and frees the body's frame.
/// A stream is used by one consumer at a time; it is not thread-safe.
template <class T>
class stream {
 public:
  using value_type = T;
  class promise_type;

  stream() noexcept = default;
  stream(stream&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  stream& operator=(stream&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() { reset(); }

  /// Completes with the next value, or std::nullopt once the stream has ended. Rethrows the
  /// exception that ended the body, if any.
  awaitable<std::optional<T>> next() {
    const executor ex = co_await boost::asio::this_coro::executor;
    if (!poll(ex)) co_await wait_ready();
    co_return take();
  }

  /// Low-level: runs the body inline until it yields, ends, or suspends on an asynchronous
  /// operation, which then runs on `ex`. Returns true when a value or the end is ready to take.
  bool poll(const executor& ex) {
    if (!handle_) return true;
    auto& p = handle_.promise();
    if (!p.executor_) p.executor_ = ex;
    if (p.state_ == state::idle) {
      p.state_ = state::running;
      handle_.resume();
    }
    return p.state_ == state::has_value || p.state_ == state::done;
  }

  /// Low-level: completes once poll() would return true.
  awaitable<void> wait_ready() {
    auto& p = handle_.promise();
    if (p.state_ != state::waiting) co_return;
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void()>(
        [&p](auto handler) {
          // Not operator=: in Boost 1.81 it wraps the handler in itself instead of moving it.
          boost::asio::any_completion_handler<void()>(std::move(handler)).swap(p.on_ready_);
        },
        boost::asio::use_awaitable);
  }

  /// Low-level: takes the value poll() made ready, or returns nullopt at the end (rethrowing the
  /// body's exception).
  std::optional<T> take() {
    if (!handle_) return std::nullopt;
    auto& p = handle_.promise();
    if (p.state_ == state::has_value) {
      p.state_ = state::idle;
      return std::exchange(p.value_, std::nullopt);
    }
    if (p.error_) std::rethrow_exception(std::exchange(p.error_, nullptr));
    return std::nullopt;
  }

  /// true once the body has finished.
  bool done() const noexcept { return !handle_ || handle_.promise().state_ == state::done; }

 private:
  enum class state : unsigned char { idle, running, waiting, has_value, done };

  template <class U>
  class async_awaiter;

  explicit stream(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

  void reset() noexcept {
    if (!handle_) return;
    auto& p = handle_.promise();
    *p.alive_ = false;
    if (p.state_ == state::waiting && p.cancel_) {
      p.cancel_->emit(boost::asio::cancellation_type::terminal);
    }
    handle_.destroy();
    handle_ = {};
  }

  std::coroutine_handle<promise_type> handle_;
};

template <class T>
class stream<T>::promise_type {
 public:
  stream get_return_object() noexcept {
    return stream{std::coroutine_handle<promise_type>::from_promise(*this)};
  }
  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_always final_suspend() noexcept {
    state_ = state::done;
    return {};
  }
  template <class U = T>
  requires std::is_constructible_v<T, U&&> std::suspend_always yield_value(U&& value) {
    value_.emplace(std::forward<U>(value));
    state_ = state::has_value;
    return {};
  }
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  /// The body may co_await any roost::awaitable; it runs on the consumer's executor.
  template <class U>
  async_awaiter<U> await_transform(awaitable<U> op) {
    return async_awaiter<U>{this, std::move(op)};
  }

 private:
  friend class stream;

  // Called after an asynchronous step resumed the body: wakes the consumer if it waits.
  void resumed() {
    if ((state_ == state::has_value || state_ == state::done) && on_ready_) {
      boost::asio::post(executor_, [h = std::move(on_ready_)]() mutable { std::move(h)(); });
    }
  }

  std::optional<T> value_;
  std::exception_ptr error_;
  state state_ = state::idle;
  executor executor_;
  boost::asio::any_completion_handler<void()> on_ready_;
  // Cancels the operation in flight. co_spawn keeps that operation's cancellation state inside
  // the signal, so the operation's completion handler shares ownership: the signal must outlive
  // the operation even when the stream is destroyed first. A new one per operation, so that
  // starting the next operation never frees the state of one that is still finishing.
  std::shared_ptr<boost::asio::cancellation_signal> cancel_;
  // Shared with the completion of the operation in flight, which may outlive the frame.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

template <class T>
template <class U>
class stream<T>::async_awaiter {
 public:
  async_awaiter(promise_type* p, awaitable<U> op) : promise_(p), op_(std::move(op)) {}

  bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<promise_type> h) {
    promise_->state_ = state::waiting;
    promise_->cancel_ = std::make_shared<boost::asio::cancellation_signal>();
    auto completion = [this, h, alive = promise_->alive_, keep = promise_->cancel_](
                          std::exception_ptr e, auto... r) {
      (void)keep;
      if (!*alive) return;  // the stream was destroyed while this operation ran
      error_ = e;
      if constexpr (!std::is_void_v<U>) {
        if (!e) result_.emplace(std::move(r)...);
      }
      h.promise().state_ = state::running;
      h.resume();
      h.promise().resumed();
    };
    boost::asio::co_spawn(
        promise_->executor_, std::move(op_),
        boost::asio::bind_cancellation_slot(promise_->cancel_->slot(), std::move(completion)));
  }

  U await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<U>) return std::move(*result_);
  }

 private:
  promise_type* promise_;
  awaitable<U> op_;
  std::exception_ptr error_;
  std::conditional_t<std::is_void_v<U>, std::monostate, std::optional<U>> result_;
};

/// Reads a stream to its end and completes with all its values (rethrows what its body threw).
template <class T>
awaitable<std::vector<T>> collect(stream<T> s) {
  std::vector<T> out;
  for (;;) {
    auto v = co_await s.next();
    if (!v) break;
    out.push_back(std::move(*v));
  }
  co_return out;
}

}  // namespace roost
