#pragma once
// A client's connection attempt between the status reports every client makes.

#include <roost/awaitable.hpp>
#include <roost/client_transport.hpp>

#include <memory>

namespace roost::detail {

/// Reports connecting to `l` (when set), then completes with what `open()` (returning
/// awaitable<T>) yields and reports connected, or reports disconnected and rethrows its error.
/// The caller's single_flight attempt stores the result after this returns.
template <class T, class Open>
awaitable<T> reported_attempt(std::shared_ptr<client_listener> l, Open open) {
  if (l) l->on_status(connection_status::connecting);
  T result{};
  try {
    result = co_await open();
  } catch (...) {
    if (l) l->on_status(connection_status::disconnected);
    throw;
  }
  if (l) l->on_status(connection_status::connected);
  co_return result;
}

}  // namespace roost::detail
