#pragma once
// The pair of connections NestJS's Redis transport uses on each side (one publishes, one is
// subscribed), with the connect / reconnect loop both sides share: one attempt at a time,
// callers waiting on it, the retry policy (NestJS's retryAttempts / retryDelay, or roost's
// keep-trying backoff), and hooks to re-subscribe once both connections are back.

#include "connection.hpp"

#include <roost/awaitable.hpp>
#include <roost/client_transport.hpp>
#include <roost/log.hpp>
#include <roost/redis/options.hpp>

#include <boost/asio/any_completion_handler.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace roost::redis::detail {

class link : public std::enable_shared_from_this<link> {
 public:
  struct hooks {
    /// A push on the subscribed connection (on its strand).
    std::function<void(const redisReply&)> on_push;
    /// Both connections are up (again): subscribe here. Runs before waiting callers resume.
    std::function<void(connection& pub, connection& sub)> on_up;
    /// The connections were lost (not called after close()).
    std::function<void(std::string_view why)> on_down;
    std::function<void(connection_status)> on_status;
  };

  /// `pub_replies` false: the publishing connection asks for no replies (CLIENT REPLY OFF);
  /// for a side that never waits for the outcome of what it publishes (a server).
  link(connection_options o, logger log, std::string_view side, bool pub_replies = true);
  void set_hooks(hooks h) { hooks_ = std::move(h); }

  /// Completes once both connections are up, starting an attempt when none is in progress.
  /// Throws connection_error with the failure of the attempt it waited for (one attempt: a
  /// caller never waits through the backoff of several).
  awaitable<void> ensure_up();

  std::shared_ptr<connection> pub() const;
  std::shared_ptr<connection> sub() const;
  bool is_up() const;

  /// Closes both connections and stops reconnecting; waiting callers fail. A later
  /// ensure_up() connects again.
  void close();
  /// The same, except that the publishing connection first sends what is queued on it (a
  /// server's last replies), for at most `deadline`.
  void close_when_flushed(std::chrono::milliseconds deadline);
  /// True when no connection of it is open (after close() or close_when_flushed(), once the
  /// last one shut). Thread-safe.
  bool closed() const;

  const connection_options& options() const noexcept { return opts_; }
  const logger& log() const noexcept { return log_; }

 private:
  enum class state { idle, connecting, up };
  using waiter = std::pair<executor, boost::asio::any_completion_handler<void(std::exception_ptr)>>;

  static awaitable<void> connect_loop(std::shared_ptr<link> self, bool reconnecting,
                                      unsigned generation);
  void lost(const connection* which, std::string_view why);
  // close() (no flush) and close_when_flushed() (the publishing connection's queue first).
  void shut(std::optional<std::chrono::milliseconds> flush_within);
  void wake(std::exception_ptr e);
  std::chrono::milliseconds delay(unsigned failures) const;
  bool may_retry(unsigned failures) const;

  connection_options opts_;
  logger log_;
  std::string_view side_;
  bool pub_replies_;
  std::optional<boost::asio::ssl::context> tls_;
  hooks hooks_;

  mutable std::mutex mutex_;
  state state_ = state::idle;
  unsigned generation_ = 0;  // bumped by close(): the loops of earlier generations stop
  executor ex_;
  std::shared_ptr<connection> pub_, sub_;
  std::shared_ptr<connection> flushing_;  // close_when_flushed()'s, until it shuts
  std::vector<waiter> waiters_;
};

}  // namespace roost::redis::detail
