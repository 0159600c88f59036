#pragma once
// One WebSocket connection, server or client side: a reader and a writer coroutine on the
// connection's strand, a write queue bounded in bytes (beyond it the peer is disconnected),
// and Beast's keepalive pings and message size limit. A roost::peer, so that a gateway can
// push to it from any thread.

#include "kit_stream.hpp"

#include <roost/gateway.hpp>
#include <roost/limits.hpp>
#include <roost/log.hpp>
#include <roost/router.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace roost::ws::detail {

using strand_type = boost::asio::strand<boost::asio::any_io_executor>;
// Plain or TLS underneath (ws:// or wss://), one type for both.
using ws_stream = boost::beast::websocket::stream<kit_stream>;

class connection final : public roost::peer, public std::enable_shared_from_this<connection> {
 public:
  /// Called on the strand for each message; the text is valid during the call only.
  using message_handler = std::function<void(connection&, std::string_view text)>;
  /// Called once on the strand when the connection is gone; `why` is empty after close().
  using close_handler = std::function<void(connection&, std::string_view why)>;

  struct settings {
    std::size_t max_send_buffer_size;
    std::string_view side;  // "ws server" or "ws client", for logs
    const roost::limits* serving = nullptr;
    /// The reader pauses above this many unsent bytes (none: never).
    std::size_t send_high_water_mark = static_cast<std::size_t>(-1);
  };

  /// An open WebSocket (upgrade done), on `strand`.
  connection(ws_stream stream, strand_type strand, settings s, const logger& log, std::uint64_t id,
             roost::headers upgrade_headers, std::string remote);
  ~connection() override;

  /// Starts the reader and the writer. Set nothing after.
  void start(message_handler on_message, close_handler on_close);

  /// Queues one text message, written by `encode(std::string& out)`. Thread-safe. False when
  /// the connection is closed, or when the message takes the unsent bytes over
  /// max_send_buffer_size: the connection is then closed.
  template <class Encode>
  bool send_with(Encode&& encode) {
    std::string text;
    encode(text);
    return send_text(std::move(text));
  }
  bool send_text(std::string text);

  // roost::peer
  std::uint64_t id() const noexcept override { return id_; }
  const std::string& remote_endpoint() const noexcept override { return remote_; }
  const roost::headers& headers() const noexcept override { return headers_; }
  bool push(std::string_view event, const json::value& data) override;
  /// A normal close (code 1000), after what is queued has been written.
  void close() override;
  /// The same with code 1001 (going away), as a server that stops.
  void close_going_away();

  bool is_open() const noexcept { return open_.load(); }
  const strand_type& strand() const noexcept { return strand_; }
  roost::detail::flight_gauge& gauge() noexcept { return gauge_; }
  roost::detail::route_memo& route_memo() noexcept { return route_memo_; }

 private:
  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();
  boost::asio::awaitable<void> close_gracefully(unsigned short code);
  void begin_close(unsigned short code);
  void wake_writer();
  bool over_high_water();
  void shut(std::string_view why);

  ws_stream ws_;
  strand_type strand_;
  settings settings_;
  logger log_;
  std::uint64_t id_;
  roost::headers headers_;
  std::string remote_;
  roost::limits no_limits_;
  roost::detail::flight_gauge gauge_;
  roost::detail::route_memo route_memo_;
  boost::beast::flat_buffer read_buffer_;
  message_handler on_message_;
  close_handler on_close_;
  std::atomic<bool> open_{true};

  std::mutex mutex_;  // the queue, its size and the writer's state
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;  // unsent bytes: the queue and the message being written
  bool writer_waiting_ = false;
  bool closing_ = false;  // a close was asked: written after the queue
  unsigned short close_code_ = 1000;
  boost::asio::steady_timer writer_signal_;
  bool reader_paused_ = false;  // under mutex_: the writer wakes it once half is sent
  boost::asio::steady_timer drained_signal_;
};

}  // namespace roost::ws::detail
