#include "connection.hpp"

#include <roost/server_transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace roost::tcp::detail {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {
std::string endpoint_text(const socket_type& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

connection::connection(socket_type socket, strand_type strand, const limits& lim, const logger& log,
                       std::string_view side)
    : connection(std::move(socket), nullptr, std::move(strand), lim, log, side) {}

connection::connection(std::unique_ptr<tls_stream> stream, strand_type strand, const limits& lim,
                       const logger& log, std::string_view side)
    // `strand` is copied, not moved: the order in which arguments are built is unspecified.
    : connection(socket_type(strand), std::move(stream), strand, lim, log, side) {}

connection::connection(socket_type plain, std::unique_ptr<tls_stream> tls, strand_type strand,
                       const limits& lim, const logger& log, std::string_view side)
    : plain_(std::move(plain)),
      tls_(std::move(tls)),
      strand_(std::move(strand)),
      limits_(lim),
      log_(log),
      side_(side),
      remote_(endpoint_text(socket())),
      decoder_(frame_limits{lim.max_buffer_size}),
      writer_signal_(strand_),
      drained_signal_(strand_),
      idle_timer_(strand_),
      close_timer_(strand_) {
  boost::system::error_code ec;
  socket().set_option(asio::ip::tcp::no_delay(true), ec);
  // end_batch() writes on the reader's turn and must never block.
  if (!tls_) plain_.non_blocking(true, ec);
}

connection::~connection() = default;

void connection::start(frame_handler on_frame, close_handler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  auto self = shared_from_this();
  asio::co_spawn(
      strand_, [self]() { return self->reader(); }, asio::detached);
  asio::co_spawn(
      strand_, [self]() { return self->writer(); }, asio::detached);
}

template <class Buffers>
asio::awaitable<std::size_t> connection::write_some(const Buffers& b) {
  if (tls_) co_return co_await asio::async_write(*tls_, b, use_awaitable);
  co_return co_await asio::async_write(plain_, b, use_awaitable);
}

namespace {

constexpr std::size_t read_size = 64 * 1024;

// Plain sockets are read without suspending between the read and the decoder copying the
// bytes, so one buffer per thread serves every connection of that thread: an idle connection
// holds no read buffer. (Default-initialized, not zeroed.)
char* thread_read_buffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[read_size]);
  return buffer.get();
}

}  // namespace

asio::awaitable<void> connection::reader() {
  auto self = shared_from_this();
  std::unique_ptr<char[]> tls_buffer;  // a TLS read suspends while it holds its buffer
  if (tls_) tls_buffer.reset(new char[read_size]);
  try {
    while (open_) {
      bool paused;
      {
        std::lock_guard lock(queue_mutex_);
        paused = queued_bytes_ > limits_.send_high_water_mark;
        reader_paused_ = paused;
      }
      if (paused) {
        // The peer reads our replies slower than it sends requests: stop reading until the
        // writer has caught up, so memory stays bounded.
        drained_signal_.expires_at(std::chrono::steady_clock::time_point::max());
        boost::system::error_code ec;
        co_await drained_signal_.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (tls_) {
        const std::size_t n = co_await tls_->async_read_some(
            asio::buffer(tls_buffer.get(), read_size), use_awaitable);
        decoder_.feed(std::string_view(tls_buffer.get(), n));
      } else {
        // Try first (the peer usually has sent more); wait for readability only when there is
        // nothing, and give the decoder's spare memory back meanwhile.
        char* const buffer = thread_read_buffer();
        boost::system::error_code ec;
        const std::size_t n = plain_.read_some(asio::buffer(buffer, read_size), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          decoder_.shrink_to_fit();
          co_await plain_.async_wait(socket_type::wait_read, use_awaitable);
          continue;
        }
        if (ec) throw boost::system::system_error(ec);
        decoder_.feed(std::string_view(buffer, n));
      }
      batch_guard batch(*this);
      std::size_t served = 0;
      for (;;) {
        auto frame = decoder_.next();
        if (!frame) {
          log_.error(side_,
                     decoder_.error_message() + " (from " + remote_ + "); closing the connection");
          shut("invalid frame");
          co_return;
        }
        if (!*frame) break;
        on_frame_(*this, **frame);
        if (!open_ || closing_) co_return;
        if (++served % roost::detail::replies_per_part == 0) {
          end_batch();
          begin_batch();
        }
      }
      if (decoder_.mid_frame() && limits_.incomplete_message_timeout.count() > 0) {
        // Re-armed on every read, so it measures silence in the middle of a frame.
        idle_timer_.expires_after(limits_.incomplete_message_timeout);
        idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
          auto c = weak.lock();
          if (ec || !c || !c->decoder_.mid_frame()) return;
          c->log_.warn(c->side_, "incomplete message from " + c->remote_ +
                                     " timed out; closing the connection");
          c->shut("incomplete message timeout");
        });
      } else {
        idle_timer_.cancel();
      }
    }
  } catch (const boost::system::system_error& e) {
    shut(e.code() == asio::error::eof ? "closed by peer" : e.code().message());
  }
}

asio::awaitable<void> connection::writer() {
  auto self = shared_from_this();
  std::string sending;
  try {
    while (open_) {
      {
        std::lock_guard lock(queue_mutex_);
        if (queue_.empty()) {
          writer_waiting_ = true;
        } else {
          sending.swap(queue_);  // double buffering: both strings keep their capacity
          writer_busy_ = true;
        }
      }
      if (sending.empty()) {
        writer_signal_.expires_at(std::chrono::steady_clock::time_point::max());
        boost::system::error_code ec;
        co_await writer_signal_.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      co_await write_some(asio::buffer(sending));
      bool wake_reader, flushed;
      {
        std::lock_guard lock(queue_mutex_);
        writer_busy_ = false;
        queued_bytes_ -= sending.size();
        wake_reader = reader_paused_ && queued_bytes_ <= limits_.send_high_water_mark / 2;
        flushed = queued_bytes_ == 0 && close_when_flushed_;
      }
      sending.clear();
      if (wake_reader) drained_signal_.cancel();
      if (flushed) shut({});
    }
  } catch (const boost::system::system_error& e) {
    shut(e.code().message());
  }
}

bool connection::send(std::string_view json) {
  return send_with([json](std::string& out) { out.append(json); });
}

void connection::begin_batch() {
  std::lock_guard lock(queue_mutex_);
  batching_ = true;
}

void connection::end_batch() {
  std::unique_lock lock(queue_mutex_);
  batching_ = false;
  if (queue_.empty() || !open_) return;
  if (!tls_ && !writer_busy_) {
    // The writer has nothing in flight: write the batch's replies now, as a non-blocking send,
    // instead of waking it (a post, a timer and a resumption per batch). What the socket does
    // not take, and any error, is left to the writer.
    boost::system::error_code ec;
    const std::size_t n = plain_.write_some(asio::buffer(queue_), ec);
    if (!ec) {
      queue_.erase(0, n);
      queued_bytes_ -= n;
    }
    if (queue_.empty()) {
      if (close_when_flushed_) {
        lock.unlock();
        shut({});
      }
      return;
    }
  }
  if (!writer_waiting_) return;  // it takes the rest when it runs
  writer_waiting_ = false;
  lock.unlock();
  writer_signal_.cancel();
}

bool connection::send_with(const std::function<void(std::string& out)>& encode) {
  bool wake_writer = false;
  {
    std::lock_guard lock(queue_mutex_);
    if (!open_) return false;
    const auto before = queue_.size();
    encode(queue_);
    frame_tail(queue_, before);
    queued_bytes_ += queue_.size() - before;
    if (queued_bytes_ > limits_.max_send_buffer_size) {
      log_.error(side_, "more than " + std::to_string(limits_.max_send_buffer_size) +
                            " unsent bytes for " + remote_ + "; closing the connection");
      queue_.clear();
      asio::post(strand_, [self = shared_from_this()] { self->shut("send buffer overflow"); });
      return false;
    }
    // While the reader serves a batch of frames, it writes or wakes the writer at the end.
    wake_writer = !batching_ && std::exchange(writer_waiting_, false);
  }
  if (wake_writer) {
    asio::post(strand_, [self = shared_from_this()] { self->writer_signal_.cancel(); });
  }
  return true;
}

void connection::close_when_flushed(std::chrono::milliseconds deadline) {
  closing_ = true;
  asio::post(strand_, [self = shared_from_this(), deadline] {
    bool now;
    {
      std::lock_guard lock(self->queue_mutex_);
      now = self->queued_bytes_ == 0;
      self->close_when_flushed_ = true;
    }
    if (now) {
      self->shut({});
      return;
    }
    // A peer that stops reading must not keep the connection forever.
    self->close_timer_.expires_after(deadline);
    self->close_timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->shut({});
    });
  });
}

void connection::close() {
  closing_ = true;
  asio::post(strand_, [self = shared_from_this()] { self->shut({}); });
}

void connection::shut(std::string_view why) {
  if (!open_.exchange(false)) return;
  boost::system::error_code ec;
  socket().shutdown(socket_type::shutdown_both, ec);
  socket().close(ec);
  writer_signal_.cancel();
  drained_signal_.cancel();
  idle_timer_.cancel();
  close_timer_.cancel();
  if (on_close_) on_close_(*this, why);
  on_frame_ = nullptr;
  on_close_ = nullptr;
}

}  // namespace roost::tcp::detail
