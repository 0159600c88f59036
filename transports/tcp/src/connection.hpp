#pragma once
// One framed TCP (or TLS) connection: a reader and a writer coroutine on a strand, a bounded
// write queue, the incomplete-message timeout and backpressure. Shared by server and client.

#include <roost/tcp/detail/frame_codec.hpp>

#include <roost/log.hpp>
#include <roost/tcp/options.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace roost::tcp::detail {

using socket_type = boost::asio::ip::tcp::socket;
using tls_stream = boost::asio::ssl::stream<socket_type>;
using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

class connection : public std::enable_shared_from_this<connection> {
 public:
  /// Called on the strand for each complete frame; the text is valid during the call only.
  using frame_handler = std::function<void(connection&, std::string_view frame)>;
  /// Called once on the strand when the connection is gone; `why` is empty after close().
  using close_handler = std::function<void(connection&, std::string_view why)>;

  /// A connected plain socket.
  connection(socket_type socket, strand_type strand, const limits& lim, const logger& log,
             std::string_view side);
  /// A connected TLS stream whose handshake is done.
  connection(std::unique_ptr<tls_stream> stream, strand_type strand, const limits& lim,
             const logger& log, std::string_view side);
  ~connection();

  /// Starts the reader and writer. Set the handlers first.
  void start(frame_handler on_frame, close_handler on_close);

  /// Queues a JSON text as one frame. Thread-safe. Returns false when the connection is
  /// closed, or closes it when its unsent bytes would exceed max_send_buffer_size.
  bool send(std::string_view json);
  /// Same, with the JSON text written by `encode` straight into the write queue.
  bool send_with(const std::function<void(std::string& out)>& encode);

  /// Closes the connection. Thread-safe; idempotent.
  void close();

  /// Closes the connection once what is queued has been written (or after `deadline`), so that
  /// events and replies already accepted still go out. Stops serving inbound frames at once.
  void close_when_flushed(std::chrono::milliseconds deadline = std::chrono::seconds(5));

  bool is_open() const noexcept { return open_.load(); }
  const std::string& remote() const noexcept { return remote_; }
  const strand_type& strand() const noexcept { return strand_; }

 private:
  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();
  template <class Buffers>
  boost::asio::awaitable<std::size_t> write_some(const Buffers& b);
  void shut(std::string_view why);
  // The reader serves the frames of one read as a batch, then writes their replies at once.
  void begin_batch();
  void end_batch();
  struct batch_guard {
    connection& c;
    explicit batch_guard(connection& conn) : c(conn) { c.begin_batch(); }
    ~batch_guard() { c.end_batch(); }
    batch_guard(const batch_guard&) = delete;
    batch_guard& operator=(const batch_guard&) = delete;
  };
  void wake(boost::asio::steady_timer& t);

  connection(socket_type plain, std::unique_ptr<tls_stream> tls, strand_type strand,
             const limits& lim, const logger& log, std::string_view side);
  socket_type& socket() noexcept { return tls_ ? tls_->next_layer() : plain_; }

  // Only TLS connections carry an OpenSSL stream: its record buffers cost ~34 KiB each.
  socket_type plain_;
  std::unique_ptr<tls_stream> tls_;
  strand_type strand_;
  limits limits_;
  logger log_;
  std::string_view side_;
  std::string remote_;
  frame_decoder decoder_;
  frame_handler on_frame_;
  close_handler on_close_;
  std::atomic<bool> open_{true};
  // Set by close() before the posted shut() runs, so the reader serves no frame after a
  // handler asked to close (NestJS stops parsing the buffer at a bad frame).
  std::atomic<bool> closing_{false};

  std::mutex queue_mutex_;
  std::string queue_;  // frames waiting for the writer
  std::size_t queued_bytes_ = 0;
  bool writer_waiting_ = false;
  bool writer_busy_ = false;  // the writer has bytes in flight (taken out of queue_)
  bool batching_ = false;                     // the reader is serving a batch (see end_batch())
  boost::asio::steady_timer writer_signal_;   // wakes the writer
  boost::asio::steady_timer drained_signal_;  // wakes a reader paused by backpressure
  boost::asio::steady_timer idle_timer_;      // incomplete-message timeout
  boost::asio::steady_timer close_timer_;     // deadline of close_when_flushed()
  bool reader_paused_ = false;
  bool close_when_flushed_ = false;  // guarded by queue_mutex_
};

}  // namespace roost::tcp::detail
