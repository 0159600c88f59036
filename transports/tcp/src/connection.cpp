#include "connection.hpp"

#include <roost/server_transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace roost::tcp::detail {

namespace asio = boost::asio;
using asio::use_awaitable;

connection::connection(net::stream stream, strand_type strand, const limits& lim, const logger& log,
                       std::string_view side, const roost::limits& serving)
    : stream_(std::move(stream)),
      strand_(std::move(strand)),
      limits_(lim),
      log_(log),
      side_(side),
      remote_(stream_.remote()),
      gauge_(serving),
      decoder_(frame_limits{lim.max_buffer_size}),
      outbox_(stream_, strand_,
              {lim.max_send_buffer_size, net::outbox::overflow::close, lim.send_high_water_mark}),
      idle_timer_(strand_),
      close_timer_(strand_) {
  stream_.set_no_delay();
  // end_batch() writes on the reader's turn and must never block.
  stream_.set_non_blocking();
}

connection::~connection() = default;

void connection::start(frame_handler on_frame, close_handler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  auto self = shared_from_this();
  asio::co_spawn(
      strand_, [self]() { return self->reader(); }, asio::detached);
  outbox_.start_writer(self, [this](std::string_view why) { shut(why); });
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
  if (stream_.is_tls()) tls_buffer.reset(new char[read_size]);
  try {
    while (outbox_.is_open()) {
      if (outbox_.over_high_water()) {
        // The peer reads our replies slower than it sends requests: stop reading until the
        // writer has caught up, so memory stays bounded.
        boost::system::error_code ec;
        co_await outbox_.async_wait_drained(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (stream_.is_tls()) {
        const std::size_t n = co_await stream_.async_read_some(
            asio::buffer(tls_buffer.get(), read_size), use_awaitable);
        decoder_.feed(std::string_view(tls_buffer.get(), n));
      } else {
        // Try first (the peer usually has sent more); wait for readability only when there is
        // nothing, and give the decoder's spare memory back meanwhile.
        char* const buffer = thread_read_buffer();
        boost::system::error_code ec;
        const std::size_t n = stream_.plain().read_some(asio::buffer(buffer, read_size), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          decoder_.shrink_to_fit();
          co_await stream_.plain().async_wait(socket_type::wait_read, use_awaitable);
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
        if (!outbox_.is_open() || closing_) co_return;
        if (++served % roost::detail::replies_per_part == 0) {
          end_batch();
          outbox_.begin_batch();
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

bool connection::send(std::string_view json) {
  return send_with([json](std::string& out) { out.append(json); });
}

void connection::end_batch() {
  if (outbox_.end_batch()) shut({});
}

bool connection::after_push(net::outbox::pushed r) {
  if (r == net::outbox::pushed::overflow) {
    log_.error(side_, "more than " + std::to_string(limits_.max_send_buffer_size) +
                          " unsent bytes for " + remote_ + "; closing the connection");
    asio::post(strand_, [self = shared_from_this()] { self->shut("send buffer overflow"); });
  }
  return r == net::outbox::pushed::ok;
}

void connection::close_when_flushed(std::chrono::milliseconds deadline) {
  closing_ = true;
  asio::post(strand_, [self = shared_from_this(), deadline] {
    if (self->outbox_.close_when_flushed()) {
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
  if (!outbox_.close()) return;
  idle_timer_.cancel();
  close_timer_.cancel();
  if (on_close_) on_close_(*this, why);
  on_frame_ = nullptr;
  on_close_ = nullptr;
}

}  // namespace roost::tcp::detail
