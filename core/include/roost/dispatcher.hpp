#pragma once
/// \file roost::dispatcher: runs handlers for inbound packets and produces reply packets.

#include <roost/awaitable.hpp>
#include <roost/context.hpp>
#include <roost/enhancers.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/packet.hpp>
#include <roost/router.hpp>
#include <roost/serving_observer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace roost {

class adaptive_limit;

/// Where a transport receives the reply packets of one request. The dispatcher gives the
/// request's id with each packet; the transport writes it where its protocol puts it.
class reply_sink {
 public:
  virtual ~reply_sink() = default;
  /// Writes one reply packet; completes when the transport has queued it. Never throws.
  virtual awaitable<void> send(reply_packet reply, const json::value& id) = 0;

  /// True when send_now() may be used: the transport queues a reply without waiting (a socket
  /// or broker connection with its own write queue). Lets the dispatcher serve a request
  /// whose handler cannot suspend without a coroutine.
  virtual bool can_send_now() const noexcept { return false; }
  /// Queues one reply packet at once. Called only when can_send_now(). Never throws.
  virtual void send_now(reply_packet reply, const json::value& id) {
    (void)reply;
    (void)id;
  }
  /// Queues at once the last reply packet of a request, with the value `write` appends (a
  /// typed handler's result, written without a json::value) and the id's JSON text
  /// (inbound_packet::id_text). Called only when can_send_now(), for packets decoded with
  /// their data as text. Never throws but what `write` throws. Without an override, the value
  /// and the id are read back from their text and given to send_now().
  virtual void send_value_now(detail::value_writer write, std::string_view id_json);
};

/// The sink of a transport that queues replies without ever waiting (a socket's or a broker
/// connection's write buffer): it implements send_now() only.
class immediate_reply_sink : public reply_sink {
 public:
  awaitable<void> send(reply_packet reply, const json::value& id) final;
  bool can_send_now() const noexcept final { return true; }
};

/// The error a request gets when its caller's deadline passed before it was served (the
/// `message` of NestJS's error shape).
inline constexpr std::string_view deadline_exceeded_message = "Deadline exceeded";

namespace detail {
struct dispatcher_state;
}  // namespace detail

/// What a transport gives dispatcher::serve() beside the packet: how to build the message's
/// context, and, for messages that can be answered, the sink of its replies. It is moved into
/// the coroutine that serves the message when a handler can suspend, so it owns what it needs
/// then (`retain()`, when present, is called just before: a transport may hold plain
/// references while the message is served at once, and take shared ownership only here).
///
/// \code
/// struct my_origin {
///   my::context make_context(json::value pattern, std::optional<json::object> metadata);
///   my_reply_sink make_sink();  // optional: without it, every message is an event
///   void retain();              // optional
///   detail::flight_gauge& gauge();  // optional: the connection's limits (roost/limits.hpp)
///   detail::route_memo& route_memo();  // optional: the connection's last pattern and route
/// };
/// \endcode
///
/// The gauge and the memo, when there are, must live as long as the origin keeps the connection
/// (they are members of the connection, or of the server a broker transport's origin holds);
/// the memo is only used by serve(), on the thread (or strand) that reads the connection.
template <class O>
concept inbound_origin = std::movable<O> &&
    requires(O& o, json::value pattern, std::optional<json::object> metadata) {
  { o.make_context(std::move(pattern), std::move(metadata)) } -> std::derived_from<context>;
};

/// Serves inbound packets for a router: looks the route up, runs the handler(s), and writes
/// replies with NestJS's rules (one packet per value, `isDisposed` on the last one, merged
/// with the last value when the stream ends at once; errors mapped as NestJS's default
/// exception filter), then settles acknowledgeable messages (roost/acknowledgement.hpp).
///
/// A dispatcher is a handle: copies share one state, and every message being served holds it,
/// so a transport or a handler in flight never outlives what it uses (the router excepted,
/// which the application owns and keeps until its services are gone). Thread-safe.
class dispatcher {
 public:
  dispatcher(const router& r, logger log);

  /// The one way in for transports: serves one inbound message. Handlers that cannot suspend
  /// (they return a value, `std::optional` or `void`) whose replies the sink takes at once
  /// run before this returns, without a coroutine; otherwise a coroutine started on `ex` owns
  /// the packet (moved, or copied out of a scratch buffer) and the origin.
  ///
  /// `route`: the route the handler is found by when the transport knows it (the
  /// subscription that received the message: NATS subjects and Redis channels, wildcards
  /// included); empty: normalized once from the packet's pattern. Never throws.
  ///
  /// `ex` is taken as it is (a strand, say) and only used to start that coroutine: converting
  /// it to `roost::executor` for every message would cost an allocation on the path that needs
  /// no executor at all.
  template <class Executor, inbound_origin Origin>
  void serve(const Executor& ex, inbound_packet& packet, Origin origin,
             std::string_view route = {}) {
    detail::flight_gauge* gauge = nullptr;
    if constexpr (requires { origin.gauge(); }) gauge = &origin.gauge();
    detail::route_memo* memo = nullptr;
    if constexpr (requires { origin.route_memo(); }) memo = &origin.route_memo();
    plan p = prepare(packet, route, answerable<Origin>(), immediate<Origin>(), gauge, memo);
    serve_planned(ex, p, packet, origin);
  }

  /// Answers a message the transport did not decode because it is larger than its
  /// connection's `max_message_size` (`origin.gauge().too_large(text.size())`): a request
  /// (its id found by peek_inbound(), which does not parse the message) gets the error
  /// "Message too large", an event is dropped with a warning (an acknowledgeable one is
  /// dropped with the broker: it would never be served). Never throws.
  template <class Executor, inbound_origin Origin>
  void refuse_too_large(const Executor& ex, std::string_view text, const json::value& channel,
                        Origin origin, std::string_view route = {}) {
    auto packet = peek_inbound(text, channel);
    std::size_t limit = 0;
    if constexpr (requires { origin.gauge(); }) limit = origin.gauge().limits().max_message_size;
    plan p = prepare_too_large(packet, route, answerable<Origin>(), immediate<Origin>(),
                               text.size(), limit);
    serve_planned(ex, p, packet, origin);
  }

  /// Serves one packet with a context the caller built, from a coroutine of its own (tests,
  /// and transports that serve each message in a coroutine anyway). `sink` receives the
  /// replies of a request (`packet.id` set) and is unused for an event. Completes when the
  /// last reply was queued or every event handler finished.
  awaitable<void> dispatch(inbound_packet& packet, context& ctx, reply_sink* sink,
                           std::string_view route = {});

  /// The microservice-wide enhancers: they apply to every route of the router, on every
  /// transport this dispatcher serves, before the router's and the route's own. Set them up
  /// before serving; shared by the copies of this dispatcher.
  enhancers& enhance() noexcept;

  /// Reports every message served from now on to `o` (metrics, tracing); nullptr stops it.
  /// Set it before serving: it is not synchronized with the messages in flight. Shared by the
  /// copies of this dispatcher.
  void observe(std::shared_ptr<serving_observer> o) noexcept;
  /// The observer observe() set, or nullptr (to chain another before it: tracer::chain()).
  const std::shared_ptr<serving_observer>& observer() const noexcept;

  /// Refuses, from now on, the messages beyond `l`'s limit (roost/adaptive_limit.hpp), on every
  /// transport, as a static `max_in_flight` does (roost/limits.hpp), and gives it the latency
  /// of those it admits; nullptr: no adaptive limit. Set it before serving: it is not
  /// synchronized with the messages in flight. Shared by the copies of this dispatcher.
  void limit(std::shared_ptr<adaptive_limit> l) noexcept;
  /// The limit limit() set, or nullptr (for its metrics).
  const std::shared_ptr<adaptive_limit>& limiter() const noexcept;

  /// Packets being served right now (from serve() until their last reply is queued).
  std::size_t in_flight() const noexcept;
  /// Requests answered with deadline_exceeded_message instead of being served: their caller's
  /// deadline (context::deadline()) had passed when they came to be served.
  std::size_t expired_requests() const noexcept;

  /// Completes once nothing is in flight, or when `deadline` passes; returns true when drained.
  awaitable<bool> drain(std::chrono::steady_clock::duration deadline) const;

  /// From now on every message is refused instead of served (the shutdown's drain, once the
  /// transports stopped taking messages): a request gets shutting_down_message, an
  /// acknowledgeable event is handed back to its broker (redelivered), another event is
  /// dropped with a warning. Thread-safe; shared by the copies of this dispatcher.
  void stop_taking() noexcept;
  /// Serves again after stop_taking() (a microservice started again after its shutdown).
  void start_taking() noexcept;

  const router& routes() const noexcept;
  const logger& log() const noexcept;

  /// How one message will be served: decided once, before its context is built. Counts as
  /// in flight while it lives. It is given back to the dispatcher that made it (serve_now() or
  /// run(), members of a dispatcher whose state the plan counts in), so it points to that
  /// state without owning it: every message pays for no reference count.
  class plan {
   public:
    plan(plan&&) noexcept;
    plan& operator=(plan&&) = delete;
    ~plan();

    bool synchronous = false;  ///< nothing in it can suspend: serve_now()
    bool request = false;      ///< answered (the packet has an id and there is a sink)

   private:
    friend class dispatcher;
    friend struct detail::dispatcher_state;
    // Why a message is answered with an error instead of being served (roost/limits.hpp).
    enum class refusal : unsigned char { none, too_large, service, connection, stopping };
    plan(detail::dispatcher_state* s, const router::entry* e, std::string route);
    detail::dispatcher_state* state_;
    const router::entry* entry_;
    std::string route_;
    std::size_t ahead_ = 0;                  // messages of the service in flight before this one
    detail::flight_gauge* gauge_ = nullptr;  // counted in, when it has a per-connection limit
    std::size_t size_ = 0, limit_ = 0;       // of a message refused for its size
    // When it started, on the adaptive limit's clock, when one admitted it (timed_).
    std::chrono::steady_clock::time_point started_{};
    bool timed_ = false;
    bool enhanced_ = false;  // some scope of the route has enhancers
    bool direct_ = false;    // served from the data's text (call_direct)
    refusal refused_ = refusal::none;
  };

  /// The parts of serve(), for transports that cannot use it as it is. With a `gauge` (the
  /// connection's, roost/limits.hpp), a message over its in-flight limits is planned as a
  /// refusal, as is one over the adaptive limit (limit()), which serve_now() or run() answer with
  /// the error. With a `memo` (the connection's), a string pattern equal to the last one found is
  /// not looked up again.
  plan prepare(const inbound_packet& packet, std::string_view route, bool answerable,
               bool immediate_sink, detail::flight_gauge* gauge = nullptr,
               detail::route_memo* memo = nullptr) const;
  /// The plan of refuse_too_large(): a message of `size` bytes over `limit`.
  plan prepare_too_large(const inbound_packet& packet, std::string_view route, bool answerable,
                         bool immediate_sink, std::size_t size, std::size_t limit) const;
  /// Serves `p` at once (p.synchronous); its route moves to `ctx`.
  void serve_now(plan& p, inbound_packet& packet, context& ctx, reply_sink* sink) const;
  awaitable<void> run(plan p, inbound_packet& packet, context& ctx, reply_sink* sink) const;

 private:
  template <class Origin>
  static constexpr bool answerable() {
    return requires(Origin o) {
      o.make_sink();
    };
  }
  template <class Origin>
  static constexpr bool immediate() {
    if constexpr (answerable<Origin>()) {
      return std::derived_from<decltype(std::declval<Origin&>().make_sink()), immediate_reply_sink>;
    } else {
      return false;
    }
  }

  // Inlined into serve(), as it was before refuse_too_large() shared it: as a call, it cost
  // every message the origin's move and a frame (docs/benchmarks.md, "Limits").
  template <class Executor, class Origin>
  [[gnu::always_inline]] inline void serve_planned(const Executor& ex, plan& p,
                                                   inbound_packet& packet, Origin& origin) {
    if (p.synchronous) {
      // What a handler can keep (its context's pattern and metadata; payloads are converted)
      // is copied out of the transport's scratch buffer.
      auto ctx = origin.make_context(take_pattern(packet), metadata_copy(packet));
      if constexpr (answerable<Origin>()) {
        if (p.request) {
          auto sink = origin.make_sink();
          serve_now(p, packet, ctx, &sink);
          return;
        }
      }
      serve_now(p, packet, ctx, nullptr);
      return;
    }
    if constexpr (requires { origin.retain(); }) origin.retain();
    boost::asio::co_spawn(ex,
                          serve_later(*this, std::move(p), take_packet(packet), std::move(origin)),
                          boost::asio::detached);
  }

  template <class Origin>
  static awaitable<void> serve_later(dispatcher d, plan p, inbound_packet packet, Origin origin) {
    auto ctx = origin.make_context(std::move(packet.pattern), std::move(packet.metadata));
    if constexpr (requires { origin.make_sink(); }) {
      if (p.request) {
        auto sink = origin.make_sink();
        co_await d.run(std::move(p), packet, ctx, &sink);
        co_return;
      }
    }
    co_await d.run(std::move(p), packet, ctx, nullptr);
  }

  /// The pattern for a context that owns it: moved out when it uses the default storage.
  static json::value take_pattern(inbound_packet& p);
  static std::optional<json::object> metadata_copy(const inbound_packet& p);
  /// The packet moved out when its values use the default storage, copied otherwise.
  static inbound_packet take_packet(inbound_packet& p);

  std::shared_ptr<detail::dispatcher_state> state_;
};

}  // namespace roost
