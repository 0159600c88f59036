#pragma once
/// \file Adapting typed handlers to the one signature the dispatcher calls. Kept thin: the
/// templates only convert arguments and results; everything else is compiled in the library.

#include <roost/awaitable.hpp>
#include <roost/context.hpp>
#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/detail/payload.hpp>
#include <roost/detail/request_channel.hpp>
#include <roost/detail/value_writer.hpp>
#include <roost/errors.hpp>
#include <roost/stream.hpp>

#include <boost/json/value_from.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

namespace roost::detail {

/// A streamed result seen by the dispatcher, whatever its element type.
class reply_source {
 public:
  virtual ~reply_source() = default;
  virtual bool poll(const executor& ex) = 0;
  virtual awaitable<void> wait_ready() = 0;
  virtual std::optional<json::value> take() = 0;
};

/// `Hold` is what the stream's body may refer to (the handler's payload argument).
template <class T, class Hold = std::monostate>
class stream_source final : public reply_source {
 public:
  explicit stream_source(stream<T> s, std::unique_ptr<Hold> hold = nullptr)
      : hold_(std::move(hold)), stream_(std::move(s)) {}
  bool poll(const executor& ex) override { return stream_.poll(ex); }
  awaitable<void> wait_ready() override { return stream_.wait_ready(); }
  std::optional<json::value> take() override {
    auto v = stream_.take();
    if (!v) return std::nullopt;
    return json::value_from(std::move(*v));
  }

 private:
  std::unique_ptr<Hold> hold_;  // destroyed after the stream, which may refer to it
  stream<T> stream_;
};

/// What a handler produced: nothing (JavaScript's undefined), one value, or a stream.
struct handler_result {
  std::optional<json::value> value;
  std::unique_ptr<reply_source> stream;
};

/// Where a handler served from its payload's text (erased_handler::call_direct) puts its
/// reply: the transport's output, written without a json::value.
class direct_reply {
 public:
  /// The handler's value, appended by `write`.
  virtual void value(value_writer write) = 0;
  /// No value (JavaScript's undefined): the reply ends without one.
  virtual void none() = 0;

 protected:
  ~direct_reply() = default;
};

/// A handler behind one signature. Handlers that cannot suspend (they return a value,
/// `std::optional` or `void`) are kept synchronous, so a transport can serve them inline
/// without a coroutine (dispatcher::try_dispatch); the others are coroutines.
class erased_handler {
 public:
  using async_fn = std::function<awaitable<handler_result>(json::value& data, context& ctx)>;
  using sync_fn = std::function<handler_result(json::value& data, context& ctx)>;
  /// The synchronous handler again, served from its payload's JSON text (a value of
  /// read_simple_json's set): false, with nothing run, when the text does not read as the
  /// parameter's own kind (the general path then converts it, or answers its error).
  using direct_fn = std::function<bool(std::string_view data, context& ctx, direct_reply& out)>;

  erased_handler() = default;
  static erased_handler from_async(async_fn f) {
    erased_handler h;
    h.async_ = std::move(f);
    return h;
  }
  static erased_handler from_sync(sync_fn f, direct_fn direct = {}) {
    erased_handler h;
    h.sync_ = std::move(f);
    h.direct_ = std::move(direct);
    return h;
  }

  explicit operator bool() const noexcept { return async_ || sync_; }
  /// true when the handler runs to its end without suspending (call() may be used)
  bool is_sync() const noexcept { return static_cast<bool>(sync_); }
  /// Runs a synchronous handler. Throws what it throws.
  handler_result call(json::value& data, context& ctx) const { return sync_(data, ctx); }
  /// true when call_direct() may be used
  bool has_direct() const noexcept { return static_cast<bool>(direct_); }
  /// Runs the handler on its payload's text (see direct_fn). Throws what it throws.
  bool call_direct(std::string_view data, context& ctx, direct_reply& out) const {
    return direct_(data, ctx, out);
  }
  /// Runs any handler.
  awaitable<handler_result> operator()(json::value& data, context& ctx) const;

 private:
  async_fn async_;
  sync_fn sync_;
  direct_fn direct_;
};

template <class F>
struct callable_traits : callable_traits<decltype(&std::remove_cvref_t<F>::operator())> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R (*)(A...)> {};

template <class A>
inline constexpr bool is_context_arg =
    std::is_lvalue_reference_v<A>&& std::is_base_of_v<context, std::remove_cvref_t<A>>;

template <class T>
struct is_stream : std::false_type {};
template <class T>
struct is_stream<stream<T>> : std::true_type {};
template <class T>
struct is_awaitable : std::false_type {};
template <class T>
struct is_awaitable<awaitable<T>> : std::true_type {};

/// Throws the error reply for a payload that does not convert (an rpc_exception naming the field).
[[noreturn]] void throw_payload_problem(const payload_problem& p);
/// Throws a logic_error for a handler that asked for another transport's context.
[[noreturn]] void throw_wrong_context(const context& ctx);

template <class A>
A& context_arg(context& ctx) {
  using C = std::remove_cvref_t<A>;
  if constexpr (std::is_same_v<C, context>) {
    return ctx;
  } else {
    auto* c = dynamic_cast<C*>(&ctx);
    if (!c) throw_wrong_context(ctx);
    return *c;
  }
}

template <class A>
std::remove_cvref_t<A> payload_arg(json::value& data) {
  std::remove_cvref_t<A> out{};
  if (auto p = convert_payload(data, out)) throw_payload_problem(*p);
  return out;
}

/// true when the handler's first parameter is its payload
template <class F>
constexpr bool takes_payload() {
  using args = typename callable_traits<F>::args;
  if constexpr (std::tuple_size_v<args> == 0) {
    return false;
  } else {
    return !is_context_arg<std::tuple_element_t<0, args>>;
  }
}

/// The converted payload a handler receives (std::monostate when it takes none).
template <class F, bool = takes_payload<F>()>
struct payload_of {
  using type = std::monostate;
};
template <class F>
struct payload_of<F, true> {
  using type = std::remove_cvref_t<std::tuple_element_t<0, typename callable_traits<F>::args>>;
};
template <class F>
using payload_of_t = typename payload_of<F>::type;

template <class F>
payload_of_t<F> read_payload(json::value& data) {
  if constexpr (takes_payload<F>()) {
    return payload_arg<payload_of_t<F>>(data);
  } else {
    (void)data;
    return {};
  }
}

/// The requests a handler taking a `stream<T>` reads: the transport's stream of them, or the
/// message's data alone.
std::shared_ptr<request_channel> requests_of(json::value& data, context& ctx);

/// The stream of converted requests; a request that does not convert ends it with the error.
template <class T>
stream<T> typed_requests(std::shared_ptr<request_channel> requests) {
  for (;;) {
    auto next = requests->next();
    auto v = co_await std::move(next);
    if (!v) co_return;
    if constexpr (std::is_same_v<T, json::value>) {
      co_yield std::move(*v);
    } else {
      co_yield payload_arg<T>(*v);
    }
  }
}

template <class F>
payload_of_t<F> read_payload(json::value& data, context& ctx) {
  using P = payload_of_t<F>;
  if constexpr (is_stream<P>::value) {
    return typed_requests<typename P::value_type>(requests_of(data, ctx));
  } else {
    (void)ctx;
    return read_payload<F>(data);
  }
}

/// The payload as the parameter `A` takes it: a reference to the caller's object, or moved.
template <class A, class P>
decltype(auto) pass_payload(P& p) {
  if constexpr (std::is_lvalue_reference_v<A>) {
    return (p);
  } else {
    return std::move(p);
  }
}

template <class R>
handler_result to_result(R&& r) {
  using T = std::remove_cvref_t<R>;
  if constexpr (is_stream<T>::value) {
    return {std::nullopt, std::make_unique<stream_source<typename T::value_type>>(std::move(r))};
  } else if constexpr (is_optional<T>::value) {
    if (!r) return {};
    return {json::value_from(std::move(*r)), nullptr};
  } else {
    return {json::value_from(std::forward<R>(r)), nullptr};
  }
}

/// Calls `f` with the already converted payload. The caller keeps `payload` alive for as long
/// as the handler's result may use it: a coroutine handler that takes `const T&` refers to it
/// after this returns.
template <class F>
decltype(auto) invoke_handler(F& f, payload_of_t<F>& payload, context& ctx) {
  using args = typename callable_traits<F>::args;
  constexpr auto n = std::tuple_size_v<args>;
  if constexpr (n == 0) {
    (void)payload;
    (void)ctx;
    return f();
  } else if constexpr (n == 1) {
    using A0 = std::tuple_element_t<0, args>;
    if constexpr (is_context_arg<A0>) {
      (void)payload;
      return f(context_arg<A0>(ctx));
    } else {
      (void)ctx;
      return f(pass_payload<A0>(payload));
    }
  } else {
    static_assert(n == 2, "a handler takes (), (T), (T, context&) or (context&)");
    using A0 = std::tuple_element_t<0, args>;
    using A1 = std::tuple_element_t<1, args>;
    static_assert(is_context_arg<A1>, "the second parameter of a handler must be a context&");
    return f(pass_payload<A0>(payload), context_arg<A1>(ctx));
  }
}

/// true when a handler's payload type reads straight from text (read_simple_as), or it takes none
template <class P>
inline constexpr bool reads_from_text = std::is_same_v<P, std::monostate> ||
                                        requires(std::string_view s, P& p) {
  read_simple_as(s, p);
};

template <class T>
inline constexpr bool is_char_type =
    std::is_same_v<T, char> || std::is_same_v<T, signed char> || std::is_same_v<T, unsigned char> ||
    std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> || std::is_same_v<T, char16_t> ||
    std::is_same_v<T, char32_t>;

/// Gives a handler's result to `out`, written as json::value_from(r) would be: numbers, booleans
/// and strings straight, anything else through the json::value it converts to (converted
/// before anything is written, so that a conversion that throws leaves no partial reply).
template <class R>
void put_result(direct_reply& out, R&& r) {
  using T = std::remove_cvref_t<R>;
  if constexpr (is_optional<T>::value) {
    if (!r) {
      out.none();
    } else {
      put_result(out, std::move(*r));
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    const bool b = r;
    out.value(
        [b](std::string& s) { s += b ? std::string_view("true") : std::string_view("false"); });
  } else if constexpr (std::is_floating_point_v<T>) {
    const double d = static_cast<double>(r);
    out.value([d](std::string& s) { write_json_number(d, s); });
  } else if constexpr (std::is_integral_v<T> && !is_char_type<T>) {
    if constexpr (std::is_signed_v<T>) {
      const std::int64_t i = r;
      out.value([i](std::string& s) { write_json_integer(i, s); });
    } else {
      const std::uint64_t u = r;
      out.value([u](std::string& s) { write_json_integer(u, s); });
    }
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    const std::string_view v = r;
    out.value([v](std::string& s) { write_json_string(v, s); });
  } else if constexpr (std::is_same_v<T, json::value>) {
    out.value([&r](std::string& s) { write_json(r, s); });
  } else {
    const json::value v = json::value_from(std::forward<R>(r));
    out.value([&v](std::string& s) { write_json(v, s); });
  }
}

/// The direct form of a synchronous handler (erased_handler::direct_fn).
template <class Fn, class P, class R>
bool call_direct(Fn& f, std::string_view text, context& ctx, direct_reply& out) {
  P payload{};
  if constexpr (!std::is_same_v<P, std::monostate>) {
    // The text is the data decode_inbound checked (data_text): read without its grammar's tests
    // where there is such a reader.
    if constexpr (requires { read_checked_as(text, payload); }) {
      if (!read_checked_as(text, payload)) return false;
    } else if (!read_simple_as(text, payload)) {
      return false;
    }
  } else {
    (void)text;
  }
  if constexpr (std::is_void_v<R>) {
    invoke_handler(f, payload, ctx);
    out.none();
  } else {
    put_result(out, invoke_handler(f, payload, ctx));
  }
  return true;
}

template <class F>
erased_handler make_handler(F&& f) {
  using Fn = std::decay_t<F>;  // a function decays to a pointer
  using R = typename callable_traits<Fn>::result;
  using P = payload_of_t<Fn>;
  if constexpr (is_stream<R>::value) {
    return erased_handler::from_async(
        [f = Fn(std::forward<F>(f))](json::value& data,
                                     context& ctx) mutable -> awaitable<handler_result> {
          // The stream runs after this returns: it owns the payload its body may refer to.
          auto payload = std::make_unique<P>(read_payload<Fn>(data, ctx));
          auto s = invoke_handler(f, *payload, ctx);
          co_return handler_result{std::nullopt,
                                   std::make_unique<stream_source<typename R::value_type, P>>(
                                       std::move(s), std::move(payload))};
        });
  } else if constexpr (is_awaitable<R>::value) {
    return erased_handler::from_async(
        [f = Fn(std::forward<F>(f))](json::value& data,
                                     context& ctx) mutable -> awaitable<handler_result> {
          // Lives in this frame until the handler is done, so it may take the payload by reference.
          P payload = read_payload<Fn>(data, ctx);
          if constexpr (std::is_void_v<typename R::value_type>) {
            co_await invoke_handler(f, payload, ctx);
            co_return handler_result{};
          } else {
            // Kept out of the call's arguments: GCC 12 miscompiles some co_await sub-expressions.
            auto value = co_await invoke_handler(f, payload, ctx);
            co_return to_result(std::move(value));
          }
        });
  } else {
    static_assert(!is_stream<P>::value,
                  "a handler taking a stream of requests returns awaitable<R> or stream<R>");
    // One callable for both forms: a handler with state sees every call.
    auto fn = std::make_shared<Fn>(std::forward<F>(f));
    erased_handler::sync_fn sync = [fn](json::value& data, context& ctx) -> handler_result {
      P payload = read_payload<Fn>(data, ctx);
      if constexpr (std::is_void_v<R>) {
        invoke_handler(*fn, payload, ctx);
        return handler_result{};
      } else {
        return to_result(invoke_handler(*fn, payload, ctx));
      }
    };
    if constexpr (reads_from_text<P>) {
      return erased_handler::from_sync(
          std::move(sync), [fn](std::string_view text, context& ctx, direct_reply& out) {
            return call_direct<Fn, P, R>(*fn, text, ctx, out);
          });
    } else {
      return erased_handler::from_sync(std::move(sync));
    }
  }
}

}  // namespace roost::detail
