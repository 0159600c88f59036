#pragma once
// One framed TCP (or TLS) connection: a reader and a writer coroutine on a strand, a bounded
// write queue, the incomplete-message timeout and backpressure. Shared by server and client.

#include <roost/tcp/detail/frame_codec.hpp>

#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/net/outbox.hpp>
#include <roost/net/stream.hpp>
#include <roost/router.hpp>
#include <roost/tcp/options.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace roost::tcp::detail {

using socket_type = net::socket_type;
using strand_type = net::strand_type;

class connection : public std::enable_shared_from_this<connection> {
 public:
  /// Called on the strand for each complete frame; the text is valid during the call only.
  using frame_handler = std::function<void(connection&, std::string_view frame)>;
  /// Called once on the strand when the connection is gone; `why` is empty after close().
  using close_handler = std::function<void(connection&, std::string_view why)>;

  /// A connected stream (plain, or TLS with its handshake done). `serving`: a server's limits
  /// on what the peer sends (roost/limits.hpp), counted on this connection.
  connection(net::stream stream, strand_type strand, const limits& lim, const logger& log,
             std::string_view side, const roost::limits& serving = {});
  ~connection();

  /// Starts the reader and writer. Set the handlers first.
  void start(frame_handler on_frame, close_handler on_close);

  /// Queues a JSON text as one frame. Thread-safe. Returns false when the connection is
  /// closed, or closes it when its unsent bytes would exceed max_send_buffer_size.
  bool send(std::string_view json);
  /// Same, with the JSON text written by `encode(std::string& out)` straight into the write
  /// queue. A template, so that each reply's encoder is called directly, not through a
  /// std::function (docs/benchmarks.md).
  template <class Encode>
  bool send_with(Encode&& encode) {
    return after_push(outbox_.push([&](std::string& out) {
      const auto start = begin_frame(out);
      encode(out);
      end_frame(out, start);
    }));
  }
  /// Same, for an encoder that returns the UTF-16 length of what it appended (the frame's
  /// length prefix), so that the frame is not counted again.
  template <class Encode>
  bool send_counted(Encode&& encode) {
    return after_push(outbox_.push([&](std::string& out) {
      const auto start = begin_frame(out);
      end_frame(out, start, encode(out));
    }));
  }

  /// Closes the connection. Thread-safe; idempotent.
  void close();

  /// Closes the connection once what is queued has been written (or after `deadline`), so that
  /// events and replies already accepted still go out. Stops serving inbound frames at once.
  void close_when_flushed(std::chrono::milliseconds deadline = std::chrono::seconds(5));

  bool is_open() const noexcept { return outbox_.is_open(); }
  const std::string& remote() const noexcept { return remote_; }
  const strand_type& strand() const noexcept { return strand_; }
  roost::detail::flight_gauge& gauge() noexcept { return gauge_; }
  /// The last pattern this connection sent and its route; used on the reading strand only.
  roost::detail::route_memo& route_memo() noexcept { return route_memo_; }

 private:
  /// What send_with() reports for the outcome of a push; closes the connection on overflow.
  bool after_push(net::outbox::pushed r);
  boost::asio::awaitable<void> reader();
  void shut(std::string_view why);
  // The reader serves the frames of one read as a batch, then writes their replies at once.
  void end_batch();
  struct batch_guard {
    connection& c;
    explicit batch_guard(connection& conn) : c(conn) { c.outbox_.begin_batch(); }
    ~batch_guard() { c.end_batch(); }
    batch_guard(const batch_guard&) = delete;
    batch_guard& operator=(const batch_guard&) = delete;
  };

  net::stream stream_;
  strand_type strand_;
  limits limits_;
  logger log_;
  std::string_view side_;
  std::string remote_;
  roost::detail::flight_gauge gauge_;
  roost::detail::route_memo route_memo_;
  frame_decoder decoder_;
  frame_handler on_frame_;
  close_handler on_close_;
  // Set by close() before the posted shut() runs, so the reader serves no frame after a
  // handler asked to close (NestJS stops parsing the buffer at a bad frame).
  std::atomic<bool> closing_{false};

  net::outbox outbox_;                     // after stream_, which it writes to
  boost::asio::steady_timer idle_timer_;   // incomplete-message timeout
  boost::asio::steady_timer close_timer_;  // deadline of close_when_flushed()
};

}  // namespace roost::tcp::detail
