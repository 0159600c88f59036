#pragma once
/// \file roost::bulkhead: at most so many calls in flight to one target.

#include <roost/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace roost {

namespace detail {
struct bulkhead_state;
}  // namespace detail

/// Bounds the calls a client_proxy has in flight (`client_options::bulkhead`): a slow target
/// then holds at most `max_in_flight` of the caller's calls, not all of them. A call beyond
/// the limit waits for a free slot, at most `max_wait` and with at most `max_waiting` calls
/// waiting; otherwise it fails at once with connection_error(error::bulkhead_full). Thread-safe;
/// give one bulkhead to several clients to bound them together.
class bulkhead {
 public:
  struct options {
    /// Calls in flight at once.
    std::size_t max_in_flight = 64;
    /// Calls waiting for a slot; 0: none wait, a call beyond the limit fails at once.
    std::size_t max_waiting = 0;
    /// How long a call waits for a slot.
    std::chrono::milliseconds max_wait{0};
  };

  /// A slot held by one call; released when destroyed.
  class permit {
   public:
    permit() = default;
    explicit permit(std::shared_ptr<detail::bulkhead_state> s) : state_(std::move(s)) {}
    permit(permit&&) noexcept = default;
    permit& operator=(permit&& o) noexcept;
    ~permit();

   private:
    std::shared_ptr<detail::bulkhead_state> state_;
  };

  explicit bulkhead(options o);

  /// A slot, when one is free or frees in time. Throws connection_error(error::bulkhead_full).
  awaitable<permit> acquire();

  std::size_t in_flight() const noexcept;
  std::size_t waiting() const noexcept;

 private:
  std::shared_ptr<detail::bulkhead_state> state_;
};

}  // namespace roost
