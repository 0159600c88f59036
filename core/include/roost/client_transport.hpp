#pragma once
/// \file The interface a transport implements to send messages (see docs/writing-a-transport.md).

#include <roost/awaitable.hpp>
#include <roost/headers.hpp>
#include <roost/json.hpp>
#include <roost/packet.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <any>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roost {

/// Connection states reported by client_proxy::status(), as NestJS's `status` observable.
enum class connection_status { disconnected, connecting, connected, reconnecting, closed };

std::string_view to_string(connection_status s) noexcept;

/// One outgoing request or event.
struct outbound_message {
  const json::value& pattern;  ///< as the caller gave it
  const std::string& route;    ///< its normalized route (channel, subject, topic)
  const json::value& data;
  const std::string& id;          ///< empty for an event
  const json::object* metadata;   ///< NestJS 12 packet metadata, or nullptr
  const roost::headers* headers;  ///< the call's headers (already in `metadata` too)
  const std::any* record;         ///< the call's transport options, or nullptr
  /// The call's timeout (call_options::timeout, else the client's default); zero: none. A
  /// transport whose protocol carries a deadline (gRPC) sends it.
  std::chrono::milliseconds timeout{0};
};

/// What a client transport reports back to the client_proxy that owns it. Called on the
/// transport's own executor.
class client_listener {
 public:
  virtual ~client_listener() = default;
  /// A reply arrived. Replies with an unknown id must be ignored by the listener, not the
  /// transport, since only the listener knows which calls are pending.
  virtual void on_reply(inbound_reply reply) = 0;
  /// The connection was lost or closed: every pending call fails with `ec`.
  virtual void on_connection_lost(boost::system::error_code ec, std::string_view why) = 0;
  /// One of several connections was lost (a client balancing over several servers): only the
  /// pending calls among `ids` fail with `ec`; the others go on. By default every call fails.
  virtual void on_calls_lost(const std::vector<std::string>& ids, boost::system::error_code ec,
                             std::string_view why) {
    (void)ids;
    on_connection_lost(ec, why);
  }
  /// The connection status changed.
  virtual void on_status(connection_status s) = 0;
};

/// The client side of a transport. One client_proxy owns one client_transport. Functions may be
/// called from any thread; the transport serializes its own state.
class client_transport {
 public:
  virtual ~client_transport() = default;

  virtual std::string_view name() const noexcept = 0;

  /// Set once by the owning client_proxy before any other call. The transport shares the
  /// listener's ownership: it may report from its own threads (a connection closing on its
  /// executor) while the proxy is being destroyed on another.
  virtual void set_listener(std::shared_ptr<client_listener> l) noexcept = 0;

  /// Connects unless already connected; completes when connected. Throws connection_error.
  /// Concurrent calls share one attempt.
  virtual awaitable<void> connect() = 0;

  /// Sends a request, connecting first if needed; replies go to the listener. Completes once
  /// the request is handed to the wire (after any subscription it needs is in place).
  virtual awaitable<void> send_request(const outbound_message& m) = 0;

  /// The request `m` is finished (last reply, error, timeout or cancelled): release what the
  /// transport holds for it (reply subscriptions, inboxes). Never throws.
  virtual void end_request(const outbound_message& m) noexcept { (void)m; }

  /// Opens a request whose values follow one by one (gRPC client and bidirectional
  /// streaming), connecting first if needed; `m.data` is unused. Replies go to the listener as
  /// for send_request(). The values come with send_stream_value(), then end_request_stream().
  /// Default: throws connection_error(invalid_argument), the transport sends one message per
  /// request.
  virtual awaitable<void> open_request_stream(const outbound_message& m);
  /// Queues the next value of the request `id` opened by open_request_stream() (nothing once
  /// that request is finished). Throws connection_error(invalid_argument) for a value the
  /// transport cannot send; the caller then ends the request.
  virtual void send_stream_value(const std::string& id, const json::value& value) {
    (void)id;
    (void)value;
  }
  /// The values of the request `id` are all sent (`failed`: the caller's stream of them failed,
  /// and the request is cancelled instead). Never throws.
  virtual void end_request_stream(const std::string& id, bool failed) noexcept {
    (void)id;
    (void)failed;
  }

  /// Sends an event; completes when the transport has accepted it (NestJS's `emit` semantics).
  virtual awaitable<void> send_event(const outbound_message& m) = 0;

  /// Closes the connection; the listener gets on_connection_lost(connection_closed).
  virtual void close() = 0;
};

}  // namespace roost
