#pragma once
/// \file How the dispatcher runs one handler call through its enhancers (private to core).

#include <roost/enhancers.hpp>

#include <array>
#include <cstddef>
#include <exception>
#include <optional>

namespace roost::detail {

/// Thrown when a guard says no: the reply is NestJS's `RpcException('Forbidden resource')`.
class guard_denied : public rpc_exception {
 public:
  guard_denied() : rpc_exception(std::string("Forbidden resource")) {}
};

/// True when `e` is a guard's denial. A denied event is not a failed one: delivering it again
/// (an acknowledging transport's outcome for a failure) would be denied again.
bool denied(const std::exception_ptr& e) noexcept;

/// The scopes that apply to one route, outermost first: microservice, router, route.
struct enhancer_scopes {
  std::array<const enhancers*, 3> scopes;

  bool empty() const noexcept {
    return scopes[0]->empty() && scopes[1]->empty() && scopes[2]->empty();
  }
  bool is_sync() const noexcept {
    return scopes[0]->is_sync() && scopes[1]->is_sync() && scopes[2]->is_sync();
  }
};

/// One handler call through guards, interceptors and pipes, in NestJS's order (guards
/// outermost first, interceptors outermost first on the way in and last on the way out, pipes
/// outermost first, then the handler). Lives on the caller's frame for the whole call.
struct enhancer_run {
  const enhancer_scopes& scopes;
  const erased_handler& handler;
  json::value& data;
  context& ctx;

  /// Every enhancer is synchronous (scopes.is_sync()) and so is the handler.
  handler_result call_sync() const;
  awaitable<handler_result> call() const;
  /// The chain from the interceptor at `index` (counted across scopes) inward.
  awaitable<handler_result> from(std::size_t index) const;

  /// The exception filters' answer for `e`: the route's filters first, then the router's,
  /// then the microservice's, each scope's last added first; nothing when none handles it.
  static std::optional<json::value> filter_sync(const enhancer_scopes& s, std::exception_ptr e,
                                                context& ctx);
  static awaitable<std::optional<json::value>> filter(const enhancer_scopes& s,
                                                      std::exception_ptr e, context& ctx);

 private:
  std::size_t interceptor_count() const noexcept;
  const interceptor& interceptor_at(std::size_t index) const noexcept;
  void start_timing() const;
};

}  // namespace roost::detail
