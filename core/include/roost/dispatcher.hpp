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

  /// True when send_now() may be used: the transport queues a reply without waiting (a socket
  /// or broker connection with its own write queue). Lets dispatcher::try_dispatch serve a
  /// request without a coroutine.
  virtual bool can_send_now() const noexcept { return false; }
  /// Queues one reply packet at once. Called only when can_send_now(). Never throws.
  virtual void send_now(reply_packet reply) { (void)reply; }
};

/// The sink of a transport that queues replies without ever waiting (a socket's or a broker
/// connection's write buffer): it implements send_now() only.
class immediate_reply_sink : public reply_sink {
 public:
  awaitable<void> send(reply_packet reply) final;
  bool can_send_now() const noexcept final { return true; }
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
  /// queued (requests) or every event handler has finished; `ctx.handler_failed()` then tells
  /// whether a handler threw (for transports that acknowledge messages).
  awaitable<void> dispatch(inbound_packet& packet, context& ctx, reply_sink* sink);

  /// Serves the packet at once when nothing in it can suspend: its handlers are synchronous
  /// (they return a value, `std::optional` or `void`) and `sink` can_send_now(), or there is no
  /// handler. Returns false, having done nothing but set the context's route, otherwise; the
  /// transport then calls dispatch(). Saves the coroutine frames of the common case.
  bool try_dispatch(inbound_packet& packet, context& ctx, reply_sink* sink);
  /// try_dispatch() with the handlers of `route` (as dispatch_route()).
  bool try_dispatch_route(std::string route, inbound_packet& packet, context& ctx,
                          reply_sink* sink);
  /// Serves one packet with the handlers of `route`, whatever the packet's pattern says: for
  /// transports where the subscription that received a message picks its handler (NATS
  /// subjects with wildcards, as NestJS's ServerNats).
  awaitable<void> dispatch_route(std::string route, inbound_packet& packet, context& ctx,
                                 reply_sink* sink);

  /// Packets being served right now.
  std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  /// Completes once nothing is in flight, or when `deadline` passes; returns true when drained.
  awaitable<bool> drain(std::chrono::steady_clock::duration deadline) const;

  const router& routes() const noexcept { return router_; }
  const logger& log() const noexcept { return log_; }

 private:
  awaitable<void> serve_request(const router::entry* e, inbound_packet& p, context& ctx,
                                reply_sink& sink);
  awaitable<void> serve_event(const router::entry* e, inbound_packet& p, context& ctx);
  awaitable<void> send_result(detail::handler_result r, reply_sink& sink);
  json::value error_value(std::exception_ptr e, const context& ctx) const;

  const router& router_;
  logger log_;
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace roost
