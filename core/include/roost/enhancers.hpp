#pragma once
/// \file roost::enhancers: guards, pipes, interceptors and exception filters (NestJS's
/// enhancers), attachable to a microservice (every transport), a router or one route.

#include <roost/awaitable.hpp>
#include <roost/context.hpp>
#include <roost/detail/handler.hpp>
#include <roost/errors.hpp>
#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace roost {

/// What a handler produced, as interceptors see it: `value` (empty for JavaScript's
/// `undefined`) or, for a streaming handler, `stream` (its values are not visible here).
using call_result = detail::handler_result;

namespace detail {
struct enhancer_run;
}  // namespace detail

/// Thrown by a pipe that refuses a payload: the caller gets
/// `{"status":"error","message":"Invalid payload: <problem>; <problem>..."}`, the same shape
/// as a payload that does not convert to the handler's type.
class payload_rejected : public rpc_exception {
 public:
  explicit payload_rejected(const std::vector<std::string>& problems);
};

/// Decides whether a message may reach its handler: returns true to let it through. A denial
/// answers a request with NestJS's `{"status":"error","message":"Forbidden resource"}` and
/// drops an event (logged at warn). `bool(context&)` or `awaitable<bool>(context&)`.
class guard {
 public:
  template <class F>
  requires std::invocable<F&, context&> guard(F f) {
    using R = std::invoke_result_t<F&, context&>;
    if constexpr (std::is_same_v<R, awaitable<bool>>) {
      async_ = std::move(f);
    } else {
      static_assert(std::is_convertible_v<R, bool>, "a guard returns bool or awaitable<bool>");
      sync_ = std::move(f);
    }
  }
  bool is_sync() const noexcept { return static_cast<bool>(sync_); }

 private:
  friend struct detail::enhancer_run;
  std::function<bool(context&)> sync_;
  std::function<awaitable<bool>(context&)> async_;
};

/// Sees the payload before it is converted to the handler's type: may replace it (assign to
/// it) or refuse it (throw payload_rejected, or any rpc_exception).
/// `void(json::value&, context&)` or `awaitable<void>(json::value&, context&)`.
class pipe {
 public:
  template <class F>
  requires std::invocable<F&, json::value&, context&> pipe(F f) {
    using R = std::invoke_result_t<F&, json::value&, context&>;
    if constexpr (std::is_same_v<R, awaitable<void>>) {
      async_ = std::move(f);
    } else {
      static_assert(std::is_void_v<R>, "a pipe returns void or awaitable<void>");
      sync_ = std::move(f);
    }
  }
  bool is_sync() const noexcept { return static_cast<bool>(sync_); }

 private:
  friend struct detail::enhancer_run;
  std::function<void(json::value&, context&)> sync_;
  std::function<awaitable<void>(json::value&, context&)> async_;
};

/// The rest of the chain, as an asynchronous interceptor calls it: later interceptors, the
/// pipes and the handler. Call it at most once; completes with the handler's result or throws
/// its error.
class next_handler {
 public:
  awaitable<call_result> operator()() const;

 private:
  friend struct detail::enhancer_run;
  next_handler(const detail::enhancer_run& run, std::size_t index) : run_(&run), index_(index) {}
  const detail::enhancer_run* run_;  // the chain being run, which awaits this call
  std::size_t index_;
};

/// Wraps the handler. Two forms:
/// - synchronous hooks (`interceptor::hooks`): `before` may answer instead of the handler
///   (return a result: the handler and later interceptors do not run), `after` may change the
///   result, `on_error` observes an error (it may throw another one instead). These keep a
///   route on the synchronous fast path.
/// - a coroutine around the rest of the chain (`interceptor::around`), as NestJS's
///   `intercept(context, next)`: it decides whether and when to call `next()`.
class interceptor {
 public:
  using before_fn = std::function<std::optional<call_result>(context&)>;
  using after_fn = std::function<void(context&, call_result&)>;
  using error_fn = std::function<void(context&, const std::exception_ptr&)>;
  using around_fn = std::function<awaitable<call_result>(context&, next_handler)>;

  static interceptor hooks(before_fn before, after_fn after = {}, error_fn on_error = {});
  static interceptor around(around_fn f);

  bool is_sync() const noexcept { return !around_; }

 private:
  friend struct detail::enhancer_run;
  interceptor() = default;
  before_fn before_;
  after_fn after_;
  error_fn on_error_;
  around_fn around_;
};

/// Turns an exception (from a guard, interceptor, pipe or handler) into the `err` sent back:
/// returns the value, or nothing to leave it to the next filter (and at last to the default
/// encoding). Rethrow the pointer to test its type.
/// `std::optional<json::value>(std::exception_ptr, context&)` or the same as an awaitable.
class exception_filter {
 public:
  using sync_fn = std::function<std::optional<json::value>(std::exception_ptr, context&)>;
  using async_fn =
      std::function<awaitable<std::optional<json::value>>(std::exception_ptr, context&)>;

  template <class F>
  requires std::invocable<F&, std::exception_ptr, context&> exception_filter(F f) {
    using R = std::invoke_result_t<F&, std::exception_ptr, context&>;
    if constexpr (std::is_same_v<R, awaitable<std::optional<json::value>>>) {
      async_ = std::move(f);
    } else {
      sync_ = std::move(f);
    }
  }
  bool is_sync() const noexcept { return static_cast<bool>(sync_); }

 private:
  friend struct detail::enhancer_run;
  sync_fn sync_;
  async_fn async_;
};

/// The enhancers of one scope: a microservice (`microservice::enhance()`, every transport), a
/// router (`router::enhance()`, all its routes) or one route (`router::enhance(pattern)`).
/// Set them up before the service runs; not modified afterwards. Within a scope, each kind
/// runs in the order added (filters: the last added is asked first, as NestJS's
/// `@UseFilters(a, b)` asks `b` first).
class enhancers {
 public:
  enhancers& use_guard(guard g);
  enhancers& use_pipe(pipe p);
  enhancers& use_interceptor(interceptor i);
  enhancers& use_filter(exception_filter f);

  bool empty() const noexcept { return count_ == 0; }
  /// true when every enhancer of the scope is synchronous
  bool is_sync() const noexcept { return sync_; }

 private:
  friend struct detail::enhancer_run;
  std::vector<guard> guards_;
  std::vector<pipe> pipes_;
  std::vector<interceptor> interceptors_;
  std::vector<exception_filter> filters_;
  std::size_t count_ = 0;  // of all kinds: one load tells a route without enhancers
  bool sync_ = true;
};

}  // namespace roost
