#pragma once
/// \file The interface a transport implements to receive messages (see
/// docs/writing-a-transport.md).

#include <roost/awaitable.hpp>

#include <cstddef>
#include <string_view>

namespace roost {

namespace detail {
/// A transport serving a long batch of requests read at once (a peer with many in flight)
/// writes their replies in parts of this many, not all at the end: the peer starts on the
/// first replies, and sends its next requests, while the server serves the rest, so both
/// sides work at once instead of in turn (at 256 in flight on two cores: 1.5-1.6x the
/// requests per second over TCP and Redis).
inline constexpr std::size_t replies_per_part = 32;
}  // namespace detail

class dispatcher;

/// The server side of a transport: it decodes inbound packets, builds their context, calls the
/// dispatcher, and writes the reply packets where they belong (socket, reply channel, inbox...).
/// Its functions are called from the microservice's coroutines; the transport serializes its
/// own state (a strand per connection).
class server_transport {
 public:
  virtual ~server_transport() = default;

  /// Name of the transport ("tcp", "redis"...), for logs.
  virtual std::string_view name() const noexcept = 0;

  /// Starts serving with `d` on the calling coroutine's executor; completes once the transport
  /// is ready for traffic (bound, connected, subscribed). Throws connection_error when it
  /// cannot start. The transport's own loops keep running after this completes.
  virtual awaitable<void> listen(dispatcher& d) = 0;

  /// Stops taking new messages (closes the listener, unsubscribes); messages already being
  /// served go on and their replies are still written.
  virtual void stop_accepting() = 0;

  /// Whether what stop_accepting() started is over: no message will reach the dispatcher
  /// through it any more (the broker confirmed the unsubscription or the consumer's cancel,
  /// and what it delivered before that was handed to the dispatcher). The microservice waits
  /// for it (at most its drain_timeout) before it refuses what still comes
  /// (dispatcher::stop_taking()) and drains the handlers, so a message already on its way
  /// when the stop began is served, not refused or lost. Asked from any thread. The default
  /// says true: stop_accepting() is then taken as done when it returns.
  virtual bool stopped() const noexcept { return true; }

  /// Closes every connection. In-flight replies not yet written are dropped.
  virtual void close() = 0;

  /// Whether what close() started is over: every connection shut, its last replies written
  /// (or given up at the transport's close deadline). The microservice waits for it (at most
  /// its drain_timeout) before its run ends, so that replies finished during the drain reach
  /// their callers. The default says true: close() is then taken as done when it returns.
  virtual bool closed() const noexcept { return true; }

  /// Whether messages can reach the service through it now (its listener open, its broker
  /// connection up and subscribed), for a readiness probe. Asked from any thread, after
  /// listen() completed. The default says true: the microservice's own state (listening, not
  /// draining) is then all a probe knows of this transport.
  virtual bool ready() const noexcept { return true; }
};

}  // namespace roost
