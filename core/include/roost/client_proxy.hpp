#pragma once
/// \file roost::client_proxy: calls handlers of a remote service, as NestJS's ClientProxy.

#include <roost/awaitable.hpp>
#include <roost/bulkhead.hpp>
#include <roost/circuit_breaker.hpp>
#include <roost/client_transport.hpp>
#include <roost/context.hpp>
#include <roost/errors.hpp>
#include <roost/headers.hpp>
#include <roost/json.hpp>
#include <roost/retry_policy.hpp>
#include <roost/route.hpp>
#include <roost/stream.hpp>
#include <roost/trace_context.hpp>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <any>
#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>

namespace roost {

class tracer;

/// Options of one call.
struct call_options {
  /// Fails the call with timeout_error when no (next) reply came in time; zero: the client's
  /// default timeout. With retries, each attempt has this timeout.
  std::chrono::milliseconds timeout{0};
  /// `send` only: when the caller stops waiting, retries included; the call then fails with
  /// timeout_error (at once, unsent, when it has passed already). Sent to the server with each
  /// attempt (docs/resilience.md, "Deadlines"). Unset: the call's timeout alone bounds it.
  std::optional<std::chrono::system_clock::time_point> deadline;
  /// `send` only: the call may be made twice without harm, so the client's retry_policy
  /// retries it (client_options::retry). Not idempotent: never retried.
  bool idempotent = false;
  /// NestJS 12 packet metadata (TCP, Redis) — travels in the packet as `metadata`; NATS
  /// sends it as headers.
  std::optional<json::object> metadata;
  /// Headers of the message (tracing, auth...): sent as packet metadata or the transport's own
  /// headers; a name also given in `metadata` takes that value.
  roost::headers headers;
  /// A transport's own options for this message, as NestJS's `RmqRecord`, `KafkaRecord`,
  /// `MqttRecord` (key and partition, QoS and retain, priority and expiration...): an object
  /// of the type the transport documents; other types are ignored.
  std::any record;
  /// The span this call is part of (W3C Trace Context): its `traceparent` names the call's
  /// own span (with the client's tracer) or this one as the parent. Unset: a client with a
  /// tracer starts a new trace, one without sends none.
  std::optional<trace_context> trace;

  /// The options of a call a handler makes while serving `ctx`: it inherits the deadline of
  /// the request being served (context::deadline()), so the whole chain of calls stops when
  /// the first caller gives up, and its trace (context::trace()), so the call is a child of
  /// the message being served.
  static call_options from(const context& ctx) {
    call_options o;
    o.deadline = ctx.deadline();
    if (const auto* t = ctx.trace()) o.trace = *t;
    return o;
  }
};

struct client_options {
  /// Timeout of calls that do not set their own; zero means none (NestJS's default, kept: a
  /// handler may legitimately take long). Give calls a timeout or a deadline: a call to a
  /// server that never answers otherwise waits for ever.
  std::chrono::milliseconds default_timeout{0};
  /// How `send` calls marked idempotent are retried; the default makes one attempt.
  retry_policy retry;
  /// Fails calls fast while their target keeps failing (`send` only); none by default.
  std::shared_ptr<circuit_breaker> breaker;
  /// Bounds the calls in flight (`send` only); none by default.
  std::shared_ptr<roost::bulkhead> bulkhead;
  /// Sends a `send` call's deadline (its deadline, or now + its timeout) to the server in the
  /// `x-roost-deadline` header (roost/deadline.hpp), which then does not start a handler for
  /// a caller that has already given up. NestJS servers ignore it.
  bool send_deadline = true;
  /// Runs in the calling coroutine before each call (send, stream, emit) is sent, and may change
  /// its options: add a header such as `authorization: Bearer ...` (a token source's, e.g.
  /// `roost::auth::client_credentials::bearer()`), set a timeout. A coroutine, as it may need
  /// I/O (fetching a token); what it throws fails the call. Empty: nothing runs.
  std::function<awaitable<void>(call_options&)> prepare;
  /// Records a span per call (`client` for send and stream, `producer` for emit) and sends its
  /// `traceparent` (docs/tracing.md); none by default: no span, and no header unless the call
  /// names its trace (call_options::trace).
  std::shared_ptr<roost::tracer> tracer;
};

/// Sends requests and events to a remote service over one client transport.
///
/// `send`, `stream` and `emit` may be called concurrently from any thread; requests are
/// multiplexed over the transport and matched to replies by id. The first call connects
/// lazily, as NestJS does. A call whose coroutine is cancelled (an `||` that another branch
/// won, a destroyed stream) removes its pending entry: nothing leaks and a late reply is
/// dropped.
class client_proxy {
 public:
  /// Takes a client transport (e.g. `roost::tcp::client({...})`). `ex` runs timers.
  client_proxy(executor ex, std::unique_ptr<client_transport> transport, client_options opts = {});
  /// Takes a client transport by value: `client_proxy c(ex, roost::tcp::client({.port = 3000}))`.
  template <class T>
  requires std::derived_from<std::remove_cvref_t<T>, client_transport> client_proxy(
      executor ex, T&& transport, client_options opts = {})
      : client_proxy(std::move(ex),
                     std::unique_ptr<client_transport>(
                         std::make_unique<std::remove_cvref_t<T>>(std::forward<T>(transport))),
                     opts) {}
  ~client_proxy();
  client_proxy(const client_proxy&) = delete;
  client_proxy& operator=(const client_proxy&) = delete;

  /// Connects now instead of on the first call. Throws connection_error.
  awaitable<void> connect();

  /// Sends a request and completes with its (last) reply value converted to `R`. Throws
  /// rpc_error (remote error), timeout_error, connection_error.
  template <class R = json::value, class T = json::value>
  awaitable<R> send(json::value pattern, const T& data, call_options opts = {}) {
    // Not a coroutine itself: `data` is converted before this returns, so the caller's
    // temporaries may go away before the call is awaited.
    auto v = send_value(std::move(pattern), json::value_from(data), std::move(opts));
    if constexpr (std::is_same_v<R, json::value>) {
      return v;
    } else {
      return convert_reply<R>(std::move(v));
    }
  }

  /// Sends a request and returns the stream of its reply values. Nothing is sent until the
  /// stream is first read (NestJS's cold observable). Destroying the stream ends the call.
  template <class R = json::value, class T = json::value>
  roost::stream<R> stream(json::value pattern, const T& data, call_options opts = {}) {
    auto values = stream_values(std::move(pattern), json::value_from(data), std::move(opts));
    if constexpr (std::is_same_v<R, json::value>) {
      return values;
    } else {
      return convert_stream<R>(std::move(values));
    }
  }

  /// Sends a stream of requests as one call (gRPC client streaming) and completes with its
  /// reply. The values are read from `requests` and sent as they come, while the reply is
  /// awaited; an error of `requests` cancels the call, which fails with rpc_error. Throws
  /// connection_error(invalid_argument) on a transport that sends one message per request.
  template <class R = json::value, class T>
  awaitable<R> send(json::value pattern, roost::stream<T> requests, call_options opts = {}) {
    auto v =
        send_stream_values(std::move(pattern), to_values(std::move(requests)), std::move(opts));
    if constexpr (std::is_same_v<R, json::value>) {
      return v;
    } else {
      return convert_reply<R>(std::move(v));
    }
  }

  /// Sends a stream of requests as one call and returns the stream of its replies (gRPC
  /// bidirectional streaming). Nothing is sent until the replies are first read; destroying
  /// them ends the call.
  template <class R = json::value, class T>
  roost::stream<R> stream(json::value pattern, roost::stream<T> requests, call_options opts = {}) {
    auto values =
        stream_stream_values(std::move(pattern), to_values(std::move(requests)), std::move(opts));
    if constexpr (std::is_same_v<R, json::value>) {
      return values;
    } else {
      return convert_stream<R>(std::move(values));
    }
  }

  /// Sends an event; completes when the transport accepted it.
  template <class T = json::value>
  awaitable<void> emit(json::value pattern, const T& data, call_options opts = {}) {
    return emit_value(std::move(pattern), json::value_from(data), std::move(opts));
  }

  /// Closes the connection; pending calls fail with connection_error("Connection closed").
  void close();

  /// The last connection status.
  connection_status status() const noexcept;
  /// Called on each status change (on the transport's executor).
  void on_status(std::function<void(connection_status)> f);

  /// Non-template cores of the calls above.
  awaitable<json::value> send_value(json::value pattern, json::value data, call_options opts);
  roost::stream<json::value> stream_values(json::value pattern, json::value data,
                                           call_options opts);
  awaitable<void> emit_value(json::value pattern, json::value data, call_options opts);
  awaitable<json::value> send_stream_values(json::value pattern,
                                            roost::stream<json::value> requests, call_options opts);
  roost::stream<json::value> stream_stream_values(json::value pattern,
                                                  roost::stream<json::value> requests,
                                                  call_options opts);

  /// Calls in flight.
  std::size_t pending() const noexcept;

 private:
  template <class R>
  static awaitable<R> convert_reply(awaitable<json::value> reply) {
    json::value v = co_await std::move(reply);
    if constexpr (!std::is_void_v<R>) co_return json::value_to<R>(v);
  }

  template <class R>
  static roost::stream<R> convert_stream(roost::stream<json::value> s) {
    for (;;) {
      auto v = co_await s.next();
      if (!v) break;
      co_yield json::value_to<R>(*v);
    }
  }

  template <class T>
  static roost::stream<json::value> to_values(roost::stream<T> s) {
    if constexpr (std::is_same_v<T, json::value>) {
      return s;
    } else {
      return values_of(std::move(s));
    }
  }
  template <class T>
  static roost::stream<json::value> values_of(roost::stream<T> s) {
    for (;;) {
      auto v = co_await s.next();
      if (!v) break;
      co_yield json::value_from(std::move(*v));
    }
  }

  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace roost
