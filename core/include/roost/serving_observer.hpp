#pragma once
/// \file roost::serving_observer: what sees every message the dispatcher serves, on every
/// transport (metrics, and later tracing).

#include <cstdint>
#include <string_view>

namespace roost {

class context;

/// How the dispatcher finished with one message.
enum class serving_outcome : unsigned char {
  ok,               ///< handled (an event's handlers all returned; a request got its reply)
  handler_error,    ///< a handler threw an rpc_exception: the caller got the error it chose
  internal_error,   ///< a handler threw anything else ("Internal server error")
  no_handler,       ///< no handler for the pattern
  invalid_payload,  ///< the payload did not convert, or a pipe refused it
  forbidden,        ///< a guard denied it
  too_large,        ///< refused for its size (limits.hpp, max_message_size)
  overloaded,       ///< refused for the messages in flight (limits.hpp, max_in_flight...)
  expired,          ///< a request whose caller's deadline had passed: not served
  shutting_down,    ///< came after the service's shutdown began (dispatcher::stop_taking())
};

/// The outcome's name, as metrics label it: "ok", "handler_error", "no_handler"...
std::string_view to_string(serving_outcome o) noexcept;

/// What the dispatcher tells an observer once a message is served.
struct served_message {
  serving_outcome outcome = serving_outcome::ok;
  /// True when the route is one the router serves: `context::route()` is then one of a
  /// bounded set, else it is whatever the peer sent (label it as one "unmatched" value).
  bool routed = false;
};

/// An observer's state for one message, from begin() to end(): what it found at the start (a
/// metrics series, a tracing span) and when.
struct observation {
  void* state = nullptr;
  std::uint64_t value = 0;
};

/// Sees the start and the end of every message a dispatcher serves, whatever its transport
/// (dispatcher::observe()). Without one, the dispatcher pays a single test per message.
///
/// begin() is called once the context knows its route, before any enhancer or handler runs,
/// with whether the route is one the router serves (as served_message::routed); end() once the
/// last reply was queued (a stream's too) or every event handler returned, with what begin()
/// returned. Both are called on the thread serving the message, possibly many at once on
/// different threads: an observer is thread-safe. They must not throw.
class serving_observer {
 public:
  virtual ~serving_observer() = default;
  virtual observation begin(const context& ctx, bool routed) noexcept = 0;
  virtual void end(const context& ctx, const served_message& m, observation o) noexcept = 0;
};

}  // namespace roost
