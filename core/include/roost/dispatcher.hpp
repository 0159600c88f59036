#pragma once
/// \file roost::dispatcher: runs handlers for inbound packets and produces reply packets.

#include <roost/awaitable.hpp>
#include <roost/context.hpp>
#include <roost/log.hpp>
#include <roost/packet.hpp>
#include <roost/router.hpp>

#include <atomic>
#include <chrono>

namespace roost {

/// Where a transport receives the reply packets of one request. The transport adds the
/// request's id (or correlation) when it writes them.
class reply_sink {
 public:
  virtual ~reply_sink() = default;
  /// Writes one reply packet; completes when the transport has queued it. Never throws.
  virtual awaitable<void> send(reply_packet reply) = 0;
};

/// Serves inbound packets for a router: looks the route up, runs the handler(s), and writes
/// replies with NestJS's rules (one packet per value, `isDisposed` on the last one, merged
/// with the last value when the stream ends at once; errors mapped as NestJS's default
/// exception filter). Transports call dispatch() from any thread; it never throws.
class dispatcher {
 public:
  dispatcher(const router& r, logger log);

  /// Serves one packet. `ctx` holds the pattern and metadata; `sink` receives the replies of a
  /// request (`packet.id` set) and is unused for an event. Completes when the last reply was
  /// queued (requests) or every event handler has finished, with false when an event handler
  /// threw (so that a transport with acknowledgements can leave the message to be delivered
  /// again) and true otherwise: a request is answered even when its handler fails.
  awaitable<bool> dispatch(inbound_packet& packet, context& ctx, reply_sink* sink);

  /// Packets being served right now.
  std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  /// Completes once nothing is in flight, or when `deadline` passes; returns true when drained.
  awaitable<bool> drain(std::chrono::steady_clock::duration deadline) const;

  const router& routes() const noexcept { return router_; }
  const logger& log() const noexcept { return log_; }

 private:
  awaitable<void> serve_request(const router::entry* e, inbound_packet& p, context& ctx,
                                reply_sink& sink);
  awaitable<bool> serve_event(const router::entry* e, inbound_packet& p, context& ctx);
  awaitable<void> send_result(detail::handler_result r, reply_sink& sink);
  json::value error_value(std::exception_ptr e, const context& ctx) const;

  const router& router_;
  logger log_;
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace roost
