#include "connection.hpp"

#include <roost/ws/detail/message_codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>

namespace roost::ws::detail {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using asio::use_awaitable;

connection::connection(ws_stream stream, strand_type strand, settings s, const logger& log,
                       std::uint64_t id, roost::headers upgrade_headers, std::string remote)
    : ws_(std::move(stream)),
      strand_(std::move(strand)),
      settings_(s),
      log_(log),
      id_(id),
      headers_(std::move(upgrade_headers)),
      remote_(std::move(remote)),
      gauge_(s.serving ? *s.serving : no_limits_),
      writer_signal_(strand_),
      drained_signal_(strand_) {
  ws_.text(true);
}

connection::~connection() = default;

void connection::start(message_handler on_message, close_handler on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  auto self = shared_from_this();
  asio::co_spawn(
      strand_, [self] { return self->reader(); }, asio::detached);
  asio::co_spawn(
      strand_, [self] { return self->writer(); }, asio::detached);
}

asio::awaitable<void> connection::reader() {
  auto self = shared_from_this();
  while (open_) {
    if (over_high_water()) {
      // The peer reads our output slower than it sends: stop reading until the writer has
      // caught up, so that its answers wait in its own socket, not in our memory.
      drained_signal_.expires_at(asio::steady_timer::time_point::max());
      co_await drained_signal_.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    auto [ec, n] = co_await ws_.async_read(read_buffer_, asio::as_tuple(use_awaitable));
    if (ec) {
      if (ec == websocket::error::closed) {
        bool asked = false;
        {
          std::lock_guard lock(mutex_);
          asked = closing_;
        }
        shut(asked ? std::string_view() : std::string_view("closed by peer"));
      } else if (ec == websocket::error::message_too_big) {
        log_.warn(settings_.side, "a message from " + remote_ + " is larger than max_payload (" +
                                      std::to_string(ws_.read_message_max()) +
                                      " bytes); closing the connection (1009)");
        shut("message too big");
      } else if (ec == boost::beast::error::timeout) {
        log_.warn(settings_.side, remote_ + " did not answer the keepalive ping; disconnecting");
        shut("keepalive timeout");
      } else {
        shut(ec == asio::error::operation_aborted ? std::string_view() : ec.message());
      }
      co_return;
    }
    const auto data = read_buffer_.cdata();
    if (open_ && on_message_) {
      on_message_(*this, std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    read_buffer_.consume(n);
  }
}

asio::awaitable<void> connection::writer() {
  auto self = shared_from_this();
  std::deque<std::string> batch;
  while (open_) {
    unsigned short close_code = 0;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        if (closing_) {
          close_code = close_code_;
        } else {
          writer_waiting_ = true;
        }
      } else {
        batch.swap(queue_);
      }
    }
    if (close_code != 0) {
      auto [ec] = co_await ws_.async_close(websocket::close_reason(close_code),
                                           asio::as_tuple(use_awaitable));
      if (ec) shut({});
      co_return;  // the reader sees the peer's close and shuts
    }
    if (batch.empty()) {
      writer_signal_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_signal_.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    while (!batch.empty() && open_) {
      auto [ec, n] =
          co_await ws_.async_write(asio::buffer(batch.front()), asio::as_tuple(use_awaitable));
      if (ec) {
        shut(ec == asio::error::operation_aborted ? std::string_view() : ec.message());
        co_return;
      }
      bool wake_reader = false;
      {
        std::lock_guard lock(mutex_);
        queued_ -= batch.front().size();
        wake_reader = reader_paused_ && queued_ <= settings_.send_high_water_mark / 2;
        if (wake_reader) reader_paused_ = false;
      }
      batch.pop_front();
      if (wake_reader) drained_signal_.cancel();
    }
  }
}

bool connection::over_high_water() {
  std::lock_guard lock(mutex_);
  reader_paused_ = queued_ > settings_.send_high_water_mark;
  return reader_paused_;
}

bool connection::send_text(std::string text) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!open_ || closing_) return false;
    if (queued_ + text.size() > settings_.max_send_buffer_size) {
      closing_ = true;
      queue_.clear();
      log_.warn(settings_.side, "more than " + std::to_string(settings_.max_send_buffer_size) +
                                    " unsent bytes for " + remote_ +
                                    " (a slow reader); disconnecting it");
      asio::post(strand_, [self = shared_from_this()] { self->shut("send buffer overflow"); });
      return false;
    }
    queued_ += text.size();
    queue_.push_back(std::move(text));
    wake = std::exchange(writer_waiting_, false);
  }
  if (wake) wake_writer();
  return true;
}

bool connection::push(std::string_view event, const json::value& data) {
  return send_with([&](std::string& out) { encode_push(out, event, data); });
}

void connection::begin_close(unsigned short code) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closing_ || !open_) return;
    closing_ = true;
    close_code_ = code;
    wake = std::exchange(writer_waiting_, false);
  }
  if (wake) wake_writer();
}

void connection::wake_writer() {
  // An answer is queued on the connection's own strand (its handler ran there): the writer is
  // woken at once, without a trip through the strand's queue. A push from elsewhere posts.
  if (strand_.running_in_this_thread()) {
    writer_signal_.cancel();
    return;
  }
  asio::post(strand_, [self = shared_from_this()] { self->writer_signal_.cancel(); });
}

void connection::close() {
  begin_close(static_cast<unsigned short>(websocket::close_code::normal));
}

void connection::close_going_away() {
  begin_close(static_cast<unsigned short>(websocket::close_code::going_away));
}

void connection::shut(std::string_view why) {
  if (!open_.exchange(false)) return;
  ws_.next_layer().stream().close();
  writer_signal_.cancel();
  drained_signal_.cancel();
  {
    std::lock_guard lock(mutex_);
    queue_.clear();
  }
  auto on_close = std::move(on_close_);
  on_message_ = nullptr;
  on_close_ = nullptr;
  if (on_close) on_close(*this, why);
}

}  // namespace roost::ws::detail
