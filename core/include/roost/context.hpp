#pragma once
/// \file What a handler knows about the message it serves.

#include <roost/json.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace roost {

/// The context of one inbound message, as NestJS's TcpContext, RedisContext, NatsContext...
/// Each transport derives its own (e.g. `roost::tcp::context`) with its extra accessors; a
/// handler that takes `roost::tcp::context&` gets it directly.
///
/// A context lives as long as the handler call that received it. Not thread-safe; a handler
/// uses it from its own coroutine only.
class context {
 public:
  /// `transport` must outlive the context (a string literal); `metadata` too, when given.
  context(std::string_view transport, json::value pattern, const json::object* metadata = nullptr);
  context(const context&) = delete;
  context& operator=(const context&) = delete;
  virtual ~context();

  /// name of the transport: "tcp", "redis", "nats", ... ("memory" for roost::testing)
  std::string_view transport() const noexcept { return transport_; }
  /// the pattern as the client sent it (string, number or object, in the caller's key order)
  const json::value& pattern() const noexcept { return pattern_; }
  /// the normalized route the handler was found by
  const std::string& route() const noexcept { return route_; }
  /// NestJS 12 packet metadata (or transport headers), null when none was sent
  const json::object* metadata() const noexcept { return metadata_; }
  /// true for a request, false for an event
  bool is_request() const noexcept { return request_; }

  /// The transport's own context, or nullptr when this message came on another transport.
  template <class Context>
  Context* as() noexcept {
    return dynamic_cast<Context*>(this);
  }

  /// True once a handler serving this message threw (the dispatcher logged it or replied with
  /// the error). Transports that acknowledge events (JetStream, Redis Streams) leave an event
  /// whose handler threw to be delivered again. An event without a handler is not a failure.
  bool handler_failed() const noexcept { return failed_; }

  /// Set by the dispatcher.
  void set_request(bool request) noexcept { request_ = request; }
  void set_handler_failed() noexcept { failed_ = true; }
  void set_route(std::string route) { route_ = std::move(route); }

 private:
  std::string_view transport_;
  json::value pattern_;
  std::string route_;
  const json::object* metadata_;
  bool request_ = false;
  bool failed_ = false;
};

}  // namespace roost
