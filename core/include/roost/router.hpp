#pragma once
/// \file roost::router: patterns → handlers.

#include <roost/detail/handler.hpp>
#include <roost/detail/string_hash.hpp>
#include <roost/enhancers.hpp>
#include <roost/json.hpp>
#include <roost/route.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roost {

/// Maps message and event patterns to handlers, as NestJS's `@MessagePattern` and
/// `@EventPattern`.
///
/// A handler is any callable taking `()`, `(T)`, `(T, context&)` or `(context&)` — `context&`
/// may be a transport's own context type — and returning `R`, `awaitable<R>`, `stream<R>`,
/// `std::optional<R>` or `void`. `T` and `R` convert with Boost.JSON (`value_to`/`value_from`,
/// Boost.Describe structs, standard containers, `json::value` for raw access). A `T` that is a
/// `stream<U>` takes a stream of requests (gRPC client and bidirectional streaming; the one
/// message's data elsewhere), with a result of `awaitable<R>` or `stream<R>`.
///
/// Patterns are strings, numbers or JSON objects (`{{"cmd", "sum"}}`); they are normalized as
/// NestJS does, so `{{"role","math"},{"cmd","sum"}}` and `{{"cmd","sum"},{"role","math"}}` are
/// the same route. Register handlers before the microservice runs; a router is not modified
/// afterwards, and is then safe to use from several threads.
class router {
 public:
  struct entry {
    std::string route;
    json::value pattern;
    detail::erased_handler message;              ///< empty when only events are registered
    std::vector<detail::erased_handler> events;  ///< in registration order
    /// Transport options of the handler, as NestJS's handler `extras` (e.g. `{"queue":"q"}`
    /// for a NATS queue group); the last registration that gives any wins.
    json::object extras;
    /// The route's own enhancers (router::enhance(pattern)).
    roost::enhancers scope;
  };

  router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;
  ~router();

  /// Registers a request-response handler. A later registration of the same route replaces
  /// the earlier one, as in NestJS.
  template <class F>
  router& message(json::value pattern, F&& handler) {
    return add_message(std::move(pattern), detail::make_handler(std::forward<F>(handler)));
  }

  /// Registers an event handler. Every handler of a route runs, in registration order.
  template <class F>
  router& event(json::value pattern, F&& handler) {
    return add_event(std::move(pattern), detail::make_handler(std::forward<F>(handler)));
  }

  /// The same with transport extras, as NestJS's `@MessagePattern(p, extras)`:
  /// `r.message("sum", f, {{"queue", "workers"}})`.
  template <class F>
  router& message(json::value pattern, F&& handler, json::object extras) {
    add_message(pattern, detail::make_handler(std::forward<F>(handler)));
    return set_extras(std::move(pattern), std::move(extras));
  }
  template <class F>
  router& event(json::value pattern, F&& handler, json::object extras) {
    add_event(pattern, detail::make_handler(std::forward<F>(handler)));
    return set_extras(std::move(pattern), std::move(extras));
  }

  /// The enhancers of every route of this router (guards, pipes, interceptors, filters; see
  /// roost/enhancers.hpp), run after the microservice's and before each route's own.
  roost::enhancers& enhance() noexcept { return scope_; }
  const roost::enhancers& enhance() const noexcept { return scope_; }
  /// The enhancers of one route (creating its entry if needed), run after the router's.
  roost::enhancers& enhance(json::value pattern);

  /// The entry for a route, or nullptr.
  const entry* find(std::string_view route) const;
  /// Every registered route, in registration order (transports subscribe to these).
  std::vector<const entry*> entries() const;

  /// The pattern normalizer this router uses (clients and transports may share it).
  const route_normalizer& routes() const noexcept { return normalizer_; }

  router& add_message(json::value pattern, detail::erased_handler h);
  router& add_event(json::value pattern, detail::erased_handler h);
  /// Sets the extras of a pattern's entry (creating the entry if needed).
  router& set_extras(json::value pattern, json::object extras);

 private:
  entry& slot(json::value pattern);

  route_normalizer normalizer_;
  roost::enhancers scope_;
  std::unordered_map<std::string, std::size_t, detail::string_hash, std::equal_to<>> index_;
  std::vector<std::unique_ptr<entry>> entries_;
};

namespace detail {
/// The last string pattern one connection sent, and the route it was served by: clients send
/// the same pattern again and again, and comparing its text costs less than normalizing it and
/// hashing the route (dispatcher::serve(), docs/benchmarks.md). Right for as long as the router
/// is not modified, which it never is while it serves. Used by one thread at a time.
struct route_memo {
  std::string pattern;
  const router::entry* entry = nullptr;  ///< nullptr: nothing kept yet
};
}  // namespace detail

}  // namespace roost
