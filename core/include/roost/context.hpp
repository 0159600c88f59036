#pragma once
/// \file What a handler knows about the message it serves.

#include <roost/acknowledgement.hpp>
#include <roost/headers.hpp>
#include <roost/json.hpp>
#include <roost/log.hpp>
#include <roost/serving_observer.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace roost {

class dispatcher;
class logger;
class tracer;
struct span;
struct trace_context;
namespace detail {
class request_channel;
struct dispatcher_state;
struct enhancer_run;
class data_shown_to_guards;
}  // namespace detail

/// The context of one inbound message, as NestJS's TcpContext, RedisContext, NatsContext...
/// Each transport derives its own (e.g. `roost::tcp::context`) with its extra accessors; a
/// handler that takes `roost::tcp::context&` gets it directly.
///
/// A context owns what it tells. It lives as long as the handler call that received it. Not
/// thread-safe; a handler uses it from its own coroutine only.
class context {
 public:
  /// `transport` is the transport's name, a string literal. `metadata` is NestJS 12 packet
  /// metadata; `h` the transport's own headers (NATS headers...): give either, the other is
  /// derived from it when asked for. Transports move what they built into it (every message
  /// builds one context, so the parts are taken by reference, not moved through by-value
  /// parameters); a copy of the pattern is made when given one to keep.
  context(std::string_view transport, json::value&& pattern,
          std::optional<json::object>&& metadata = std::nullopt, roost::headers&& h = {});
  context(std::string_view transport, const json::value& pattern,
          std::optional<json::object> metadata = std::nullopt, roost::headers h = {});
  context(const context&) = delete;
  context& operator=(const context&) = delete;
  virtual ~context();

  /// name of the transport: "tcp", "redis", "nats", ... ("memory" for roost::testing)
  std::string_view transport() const noexcept { return transport_; }
  /// the pattern as the client sent it (string, number or object, in the caller's key order)
  const json::value& pattern() const noexcept { return pattern_; }
  /// the normalized route the handler was found by
  const std::string& route() const noexcept { return route_; }
  /// NestJS 12 packet metadata, or the transport's headers as an object (first value of each
  /// name); null when the message carried neither.
  const json::object* metadata() const;
  /// The message's headers, whatever the transport: its own (NATS headers...), or the packet
  /// metadata as headers (string values as they are, others as JSON text).
  const roost::headers& headers() const;
  /// true for a request, false for an event
  bool is_request() const noexcept { return request_; }

  /// When the caller stops waiting for the reply (roost/deadline.hpp: the `x-roost-deadline`
  /// header, or gRPC's own deadline); nullopt when it set none. A client_proxy call made by
  /// the handler inherits it with `call_options::from(ctx)`.
  std::optional<std::chrono::system_clock::time_point> deadline() const;
  /// The time left until deadline() (zero once it has passed); nullopt without a deadline.
  std::optional<std::chrono::milliseconds> remaining() const;

  /// The span serving this message when the service traces (roost/tracer.hpp): its trace id,
  /// its own span id, and the caller's tracestate; nullptr when it does not trace. A client
  /// call made with `call_options::from(ctx)` is its child.
  const trace_context* trace() const noexcept;
  /// Logs a line about this message through the service's logger, under the transport's
  /// name, with the trace and span ids when it is traced (logger::log()). Nothing before the
  /// dispatcher serves the message.
  void log(log_level level, std::string_view message) const;

  /// The payload as it came, while the guards run and the interceptors see the call on its way
  /// in (what NestJS's `switchToRpc().getData()` gives them); null before, and from the pipes
  /// on (pipes and handlers get the payload as their argument; interceptors on the way out see
  /// the result).
  const json::value* guarded_data() const noexcept { return guarded_data_; }

  /// What enhancers attach to this message for its handler (a JWT guard's claims...), by name.
  /// Empty and unallocated until an enhancer sets something.
  json::object& attributes() noexcept { return attributes_; }
  const json::object& attributes() const noexcept { return attributes_; }

  /// The requests of a call that streams them (gRPC client and bidirectional streaming), for a
  /// handler that takes a `stream<T>`; nullptr on a transport that sends one message per call,
  /// whose data is then that stream's one value.
  virtual std::shared_ptr<detail::request_channel> request_stream() { return nullptr; }

  /// The transport's own context, or nullptr when this message came on another transport.
  template <class Context>
  Context* as() noexcept {
    return dynamic_cast<Context*>(this);
  }

  /// True once a handler serving this message threw (the dispatcher logged it or replied with
  /// the error). An event without a handler is not a failure.
  bool handler_failed() const noexcept { return failed_; }

  /// When the message's interceptors started running (set only on a route with interceptors,
  /// so that the timing of one costs nothing to the routes without).
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }

  /// Whether the message's transport acknowledges it (Redis Streams, JetStream, RabbitMQ with
  /// `noAck` false...).
  bool acknowledgeable() const noexcept { return static_cast<bool>(settle_); }
  /// Manual acknowledgement (`ack_policy::manual`): the message is done with. Returns false,
  /// doing nothing, when the message is not acknowledgeable, already settled (said at warn:
  /// settling twice is a handler's mistake) or can no longer be settled (settle_refusal(),
  /// said at warn). In automatic mode a handler may settle too; the dispatcher then leaves it
  /// as settled, and settles by its rule only what the handler did not. Call it before the
  /// handler returns (after a co_await too): the context ends with the handler.
  bool ack();
  /// Manual negative acknowledgement: delivered again when `requeue`, else rejected (see
  /// rejection()). Returns as ack() does.
  bool nack(bool requeue = true);
  /// Whether the message was settled (by the handler or by the dispatcher's rule).
  bool settled() const noexcept { return settled_; }

 protected:
  /// For a transport whose protocol carries a deadline of its own (gRPC): it wins over the
  /// header.
  void set_deadline(std::optional<std::chrono::system_clock::time_point> d) noexcept {
    deadline_ = d;
    deadline_read_ = true;
  }
  /// For a transport's context: makes the message acknowledgeable (when `a.settle` is set).
  void accept_settlement(acknowledgement a);
  /// Why the message can no longer be settled, or empty when it can; asked before each
  /// settlement. A transport whose settlements need the connection that delivered the message
  /// overrides it (RabbitMQ: once that connection is gone, the broker delivers the message
  /// again and an ack on another would mean nothing).
  virtual std::string settle_refusal() const { return {}; }
  /// What a handler's nack(false) asks for: dead-lettered when the policy's outcome for a
  /// failure is, else dropped. A transport whose broker dead-letters by each queue's own
  /// set-up overrides it (RabbitMQ: a rejection goes to the queue's dead-letter exchange, or
  /// is discarded).
  virtual settlement rejection() const noexcept {
    return policy_.on_failure == failure_outcome::dead_letter ? settlement::dead_letter
                                                              : settlement::drop;
  }

 private:
  friend class dispatcher;
  friend struct detail::dispatcher_state;
  friend struct detail::enhancer_run;
  friend class detail::data_shown_to_guards;
  friend class tracer;
  void settle(settlement s);
  /// A handler's ack() or nack() (`what`), unless already settled or refused (logged).
  bool settle_for_handler(settlement s, std::string_view what);
  /// After the handlers ran: the automatic rule, unless manual or settled already.
  void finish();

  std::string_view transport_;
  json::value pattern_;
  std::string route_;
  mutable std::optional<json::object> metadata_;
  mutable roost::headers headers_;
  mutable bool derived_ = false;        // metadata_ or headers_ was derived from the other
  mutable bool deadline_read_ = false;  // deadline_ was read from the headers (or set)
  mutable std::optional<std::chrono::system_clock::time_point> deadline_;
  const json::value* guarded_data_ = nullptr;  // set by enhancer_run until the pipes start
  json::object attributes_;
  bool request_ = false;
  bool failed_ = false;
  bool settled_ = false;
  serving_outcome failure_ = serving_outcome::ok;  // set only for a serving_observer
  settlement settled_as_ = settlement::ack;
  std::chrono::steady_clock::time_point started_{};
  ack_policy policy_;
  std::function<void(settlement)> settle_;
  const logger* log_ = nullptr;         // the dispatcher's, set when it serves the message
  mutable std::unique_ptr<span> span_;  // set by a tracer observing the dispatcher
};

}  // namespace roost
