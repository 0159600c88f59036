#pragma once
// One connection to a Redis server: connect (TLS, AUTH, SELECT), then a reader and a writer
// coroutine on a strand. The writer sends everything queued since its last write in one go,
// so commands issued together are pipelined. Replies go to the handlers queued with their
// commands, in order; on a subscribed connection every reply is a push for push_handler.

#include <roost/redis/detail/resp.hpp>

#include <roost/log.hpp>
#include <roost/net/outbox.hpp>
#include <roost/net/stream.hpp>
#include <roost/redis/options.hpp>
#include <roost/server_transport.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace roost::redis::detail {

using strand_type = net::strand_type;

class connection : public std::enable_shared_from_this<connection> {
 public:
  /// The reply to a command, on the strand; nullptr when the connection was lost first.
  using reply_handler = std::function<void(const redisReply*)>;
  /// A reply on a subscribed connection (message, pmessage, subscribe confirmations...).
  using push_handler = std::function<void(const redisReply&)>;
  /// Called once on the strand when the connection is gone; `why` is empty after close().
  using close_handler = std::function<void(std::string_view why)>;

  /// Connects, runs the TLS handshake, AUTH and SELECT. Throws connection_error. Without
  /// `replies`, the connection then asks the server for none (CLIENT REPLY OFF): for a
  /// connection that only publishes and never looks at the outcome, that spares the broker the
  /// writes and this side a wake-up per batch; commands then take no reply handler.
  static boost::asio::awaitable<std::shared_ptr<connection>> open(const connection_options& o,
                                                                  boost::asio::ssl::context* tls,
                                                                  strand_type strand, logger log,
                                                                  std::string_view side,
                                                                  bool replies = true);

  ~connection();

  /// Called on the strand of a subscribed connection after every roost::detail::replies_per_part
  /// pushes and whenever the pushes read so far are all served, before the next read.
  using served_handler = std::function<void()>;

  /// Starts the reader and writer. `subscriber`: every reply goes to on_push.
  void start(bool subscriber, push_handler on_push, close_handler on_close,
             served_handler on_served = {});

  /// Queues a command; `h` (if any) gets its reply. Thread-safe. False when the connection is
  /// closed or holds more unsent bytes than allowed.
  bool command(std::span<const std::string_view> args, reply_handler h = {});
  bool command(std::initializer_list<std::string_view> args, reply_handler h = {}) {
    return command(std::span<const std::string_view>(args.begin(), args.size()), std::move(h));
  }
  bool publish(std::string_view channel, std::string_view payload, reply_handler h = {});

  /// Sends what is queued now, on the caller's thread, with one non-blocking send, when the
  /// writer has nothing in flight (plain TCP only; otherwise the writer sends it). For a
  /// subscriber serving a long batch of messages: its replies leave in parts while it serves
  /// the rest, and the last part without a hop to the writer. Thread-safe.
  void flush_now();

  /// Closes the connection. Thread-safe; idempotent.
  void close();
  /// Closes it once what is queued was sent, or after `deadline` (a server's last replies, at
  /// its shutdown). Thread-safe.
  void close_when_flushed(std::chrono::milliseconds deadline);
  bool is_open() const noexcept { return outbox_.is_open(); }
  const strand_type& strand() const noexcept { return strand_; }

  struct tag {};
  connection(tag, net::stream stream, strand_type strand, reader rd, std::size_t max_send,
             logger log, std::string_view side);

 private:
  template <class Build>
  bool enqueue(Build&& build, reply_handler&& h);
  boost::asio::awaitable<void> reader_loop();
  void shut(std::string_view why);

  net::stream stream_;
  strand_type strand_;
  reader reader_;
  logger log_;
  std::string_view side_;
  bool subscriber_ = false;
  bool replies_ = true;
  push_handler on_push_;
  close_handler on_close_;
  served_handler on_served_;

  net::outbox outbox_;                     // after stream_, which it writes to
  boost::asio::steady_timer close_timer_;  // bounds close_when_flushed(); on the strand
  std::deque<reply_handler> handlers_;     // one per command sent or queued, in order; under
                                           // outbox_'s lock, which orders the commands
};

}  // namespace roost::redis::detail
