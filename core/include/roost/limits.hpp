#pragma once
/// \file roost::limits: what one server takes from its peers at once (docs/security.md,
/// "Limits").

#include <atomic>
#include <cstddef>
#include <string_view>

namespace roost {

/// What a server takes from its peers. Every transport's server options carry one, and its
/// URL sets it with the query parameters named below. The defaults never bite a NestJS peer
/// (NestJS has none of these): the message size is generous, the rest unlimited.
///
/// Beyond a limit, the peer that went over it is told (a request gets an error reply, a
/// connection is closed at once) and nothing else changes: other peers, and the requests
/// already running, carry on.
struct limits {
  /// The largest message served, in bytes (`maxMessageSize`). A larger one is refused before
  /// it is parsed: a request gets the error "Message too large", an event is dropped with a
  /// warning. 0: no limit.
  std::size_t max_message_size = 128u * 1024 * 1024;
  /// Messages one connection may have in flight (`maxInFlightPerConnection`): on TCP each
  /// client connection; on a broker (Redis, NATS) the server's own connection to the broker,
  /// which carries every message of the server. Beyond it a request gets the error "Too many
  /// requests in flight on this connection". 0: no limit.
  std::size_t max_in_flight_per_connection = 0;
  /// Messages the whole service may have in flight (`maxInFlight`), counted over every
  /// transport of the service; a server with this limit refuses a request when the service
  /// has this many running ("Too many requests in flight"). 0: no limit.
  std::size_t max_in_flight = 0;
  /// Connections a server keeps open at once (`maxConnections`; TCP and TLS, whose servers
  /// take connections): a connection beyond it is closed as soon as it is accepted, after a
  /// log line. 0: no limit.
  std::size_t max_connections = 0;
};

/// The errors a refused peer receives (the `message` of NestJS's error shape).
inline constexpr std::string_view too_many_in_flight_message = "Too many requests in flight";
inline constexpr std::string_view too_many_on_connection_message =
    "Too many requests in flight on this connection";
/// The error of a request that reaches a service once its shutdown began
/// (dispatcher::stop_taking()): the caller may send it again, to another instance.
inline constexpr std::string_view shutting_down_message = "The service is shutting down";

namespace detail {

/// One connection's view of its server's limits (a TCP connection, or a broker server's
/// connection), and what it has in flight: the transport owns one per connection and names it
/// to the dispatcher through its origin (roost/dispatcher.hpp). Counts only while a
/// per-connection limit is set, so that a server without one pays nothing for it. Counted
/// from any thread.
class flight_gauge {
 public:
  explicit flight_gauge(const roost::limits& l) noexcept
      : limits_(l), counts_(l.max_in_flight != 0 || l.max_in_flight_per_connection != 0) {}

  const roost::limits& limits() const noexcept { return limits_; }
  /// Whether an in-flight limit is set: one test on the way of every message.
  bool counts() const noexcept { return counts_; }
  /// Whether a message of `size` bytes goes over max_message_size.
  bool too_large(std::size_t size) const noexcept {
    return limits_.max_message_size != 0 && size > limits_.max_message_size;
  }
  /// Messages of this connection in flight (0 when it has no per-connection limit).
  std::size_t in_flight() const noexcept { return running_.load(std::memory_order_relaxed); }

  /// Counts one more message unless the connection has max_in_flight_per_connection already;
  /// false (nothing counted) then.
  bool enter() noexcept {
    if (running_.fetch_add(1, std::memory_order_relaxed) < limits_.max_in_flight_per_connection) {
      return true;
    }
    running_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void leave() noexcept { running_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  const roost::limits limits_;
  const bool counts_;
  std::atomic<std::size_t> running_{0};
};

}  // namespace detail
}  // namespace roost
