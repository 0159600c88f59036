#pragma once
/// \file The requests of a call that streams them (gRPC client and bidirectional streaming), from
/// the transport that reads them to the handler that takes a `stream<T>`.

#include <roost/awaitable.hpp>
#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>

namespace roost::detail {

/// A queue of request values with one reader. The transport pushes from any thread (a
/// library's own); the handler's stream reads on its executor. The transport ends it with
/// finish() (the client sent its last request) or fail() (cancelled, a request that does not
/// decode): the reader then sees the end, or the error, after the values queued before.
class request_channel : public std::enable_shared_from_this<request_channel> {
 public:
  static std::shared_ptr<request_channel> make();

  void push(json::value v);
  void finish();
  void fail(std::exception_ptr e);

  /// The next request, or nullopt at the end; throws the error given to fail(). Cancelling
  /// the awaiting coroutine (a destroyed stream) ends the wait.
  awaitable<std::optional<json::value>> next();

 private:
  struct waiter_state;
  request_channel();
  // The next value or the end, when there is one to take now (under the mutex).
  bool ready() const noexcept { return !values_.empty() || ended_; }
  std::optional<json::value> take_locked();
  void wake(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::deque<json::value> values_;
  bool ended_ = false;
  std::exception_ptr error_;
  std::shared_ptr<waiter_state> waiter_;
};

/// A stream of one request (a transport that does not stream requests gives a handler that
/// takes a stream its message's data alone).
std::shared_ptr<request_channel> single_request(json::value v);

}  // namespace roost::detail
