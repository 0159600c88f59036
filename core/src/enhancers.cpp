#include <roost/enhancers.hpp>

#include "enhancer_run.hpp"

#include <utility>

namespace roost {

payload_rejected::payload_rejected(const std::vector<std::string>& problems)
    : rpc_exception([&] {
        std::string m = "Invalid payload: ";
        for (std::size_t i = 0; i < problems.size(); ++i) {
          if (i) m += "; ";
          m += problems[i];
        }
        return m;
      }()) {}

awaitable<call_result> next_handler::operator()() const {
  return run_->from(index_);
}

interceptor interceptor::hooks(before_fn before, after_fn after, error_fn on_error) {
  interceptor i;
  i.before_ = std::move(before);
  i.after_ = std::move(after);
  i.on_error_ = std::move(on_error);
  return i;
}

interceptor interceptor::around(around_fn f) {
  interceptor i;
  i.around_ = std::move(f);
  return i;
}

enhancers& enhancers::use_guard(guard g) {
  sync_ = sync_ && g.is_sync();
  ++count_;
  guards_.push_back(std::move(g));
  return *this;
}

enhancers& enhancers::use_pipe(pipe p) {
  sync_ = sync_ && p.is_sync();
  ++count_;
  pipes_.push_back(std::move(p));
  return *this;
}

enhancers& enhancers::use_interceptor(interceptor i) {
  sync_ = sync_ && i.is_sync();
  ++count_;
  interceptors_.push_back(std::move(i));
  return *this;
}

enhancers& enhancers::use_filter(exception_filter f) {
  sync_ = sync_ && f.is_sync();
  ++count_;
  filters_.push_back(std::move(f));
  return *this;
}

namespace detail {

bool denied(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const guard_denied&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::size_t enhancer_run::interceptor_count() const noexcept {
  std::size_t n = 0;
  for (const enhancers* s : scopes.scopes) n += s->interceptors_.size();
  return n;
}

const interceptor& enhancer_run::interceptor_at(std::size_t index) const noexcept {
  for (const enhancers* s : scopes.scopes) {
    if (index < s->interceptors_.size()) return s->interceptors_[index];
    index -= s->interceptors_.size();
  }
  return scopes.scopes[2]->interceptors_.back();  // not reached: index < interceptor_count()
}

void enhancer_run::start_timing() const {
  if (interceptor_count() > 0) ctx.started_ = std::chrono::steady_clock::now();
}

/// Shows the payload (context::guarded_data) to the guards and to the interceptors on their way
/// in, until the pipes start (hide()) or the call is over.
class data_shown_to_guards {
 public:
  data_shown_to_guards(context& ctx, const json::value& data) : ctx_(ctx) {
    ctx_.guarded_data_ = &data;
  }
  data_shown_to_guards(const data_shown_to_guards&) = delete;
  data_shown_to_guards& operator=(const data_shown_to_guards&) = delete;
  ~data_shown_to_guards() { hide(); }
  void hide() noexcept { ctx_.guarded_data_ = nullptr; }

 private:
  context& ctx_;
};

handler_result enhancer_run::call_sync() const {
  data_shown_to_guards shown(ctx, data);
  for (const enhancers* s : scopes.scopes) {
    for (const guard& g : s->guards_) {
      if (!g.sync_(ctx)) throw guard_denied();
    }
  }
  const std::size_t n = interceptor_count();
  if (n == 0) {
    // Guards and pipes only (the common case): nothing to unwind, the result goes straight out.
    shown.hide();
    for (const enhancers* s : scopes.scopes) {
      for (const pipe& p : s->pipes_) p.sync_(data, ctx);
    }
    return handler.call(data, ctx);
  }
  ctx.started_ = std::chrono::steady_clock::now();
  std::size_t entered = 0;  // interceptors whose `before` ran and let the call through
  std::optional<handler_result> result;
  std::exception_ptr failure;
  try {
    for (; entered < n; ++entered) {
      const interceptor& i = interceptor_at(entered);
      if (!i.before_) continue;
      auto answer = i.before_(ctx);
      if (answer) {
        result = std::move(*answer);
        break;
      }
    }
    if (!result) {
      shown.hide();
      for (const enhancers* s : scopes.scopes) {
        for (const pipe& p : s->pipes_) p.sync_(data, ctx);
      }
      result = handler.call(data, ctx);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  shown.hide();
  // On the way out, innermost first: an `after` that throws turns the call into a failure
  // that the outer interceptors' `on_error` see, as an error thrown in an RxJS map would.
  for (std::size_t k = entered; k-- > 0;) {
    const interceptor& i = interceptor_at(k);
    try {
      if (failure) {
        if (i.on_error_) i.on_error_(ctx, failure);
      } else if (i.after_) {
        i.after_(ctx, *result);
      }
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

awaitable<handler_result> enhancer_run::call() const {
  const data_shown_to_guards shown(ctx, data);  // until from() reaches the pipes
  for (const enhancers* s : scopes.scopes) {
    for (const guard& g : s->guards_) {
      bool allowed = false;
      if (g.sync_) {
        allowed = g.sync_(ctx);
      } else {
        allowed = co_await g.async_(ctx);
      }
      if (!allowed) throw guard_denied();
    }
  }
  start_timing();
  auto r = co_await from(0);
  co_return r;
}

awaitable<handler_result> enhancer_run::from(std::size_t index) const {
  if (index == interceptor_count()) {
    ctx.guarded_data_ = nullptr;  // the pipes and the handler take the payload as an argument
    for (const enhancers* s : scopes.scopes) {
      for (const pipe& p : s->pipes_) {
        if (p.sync_) {
          p.sync_(data, ctx);
        } else {
          co_await p.async_(data, ctx);
        }
      }
    }
    auto r = co_await handler(data, ctx);
    co_return r;
  }
  const interceptor& i = interceptor_at(index);
  if (i.around_) {
    auto r = co_await i.around_(ctx, next_handler(*this, index + 1));
    co_return r;
  }
  if (i.before_) {
    auto answer = i.before_(ctx);
    if (answer) {
      ctx.guarded_data_ = nullptr;  // the way out starts here
      co_return std::move(*answer);
    }
  }
  handler_result r;
  std::exception_ptr failure;
  try {
    r = co_await from(index + 1);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    ctx.guarded_data_ = nullptr;  // failed before the pipes, maybe: the way out starts here
    if (i.on_error_) i.on_error_(ctx, failure);
    std::rethrow_exception(failure);
  }
  if (i.after_) i.after_(ctx, r);
  co_return r;
}

std::optional<json::value> enhancer_run::filter_sync(const enhancer_scopes& s, std::exception_ptr e,
                                                     context& ctx) {
  for (std::size_t k = s.scopes.size(); k-- > 0;) {
    const auto& filters = s.scopes[k]->filters_;
    for (auto f = filters.rbegin(); f != filters.rend(); ++f) {
      auto v = f->sync_(e, ctx);
      if (v) return v;
    }
  }
  return std::nullopt;
}

awaitable<std::optional<json::value>> enhancer_run::filter(const enhancer_scopes& s,
                                                           std::exception_ptr e, context& ctx) {
  for (std::size_t k = s.scopes.size(); k-- > 0;) {
    const auto& filters = s.scopes[k]->filters_;
    for (auto f = filters.rbegin(); f != filters.rend(); ++f) {
      std::optional<json::value> v;
      if (f->sync_) {
        v = f->sync_(e, ctx);
      } else {
        v = co_await f->async_(e, ctx);
      }
      if (v) co_return v;
    }
  }
  co_return std::nullopt;
}

}  // namespace detail
}  // namespace roost
