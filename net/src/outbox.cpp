#include <roost/net/outbox.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace roost::net {

namespace asio = boost::asio;
using asio::use_awaitable;

outbox::outbox(net::stream& s, const strand_type& strand, limits lim)
    : stream_(s), strand_(strand), limits_(lim), writer_signal_(strand), drained_signal_(strand) {}

void outbox::start_writer(std::shared_ptr<void> owner,
                          std::function<void(std::string_view)> on_end) {
  owner_ = owner;
  auto done = [owner, on_end = std::move(on_end)](std::exception_ptr e, bool flushed) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& err) {
        on_end(err.code().message());
      }
      return;
    }
    if (flushed) on_end({});
  };
  asio::co_spawn(
      strand_, [owner, this] { return run_writer(); },
      asio::bind_executor(strand_, std::move(done)));
}

void outbox::wake_writer_later() {
  auto owner = owner_.lock();
  if (!owner) return;  // not started, or going away: no writer to wake
  asio::post(strand_, [owner = std::move(owner), this] { writer_signal_.cancel(); });
}

void outbox::cancel_signals() {
  writer_signal_.cancel();
  drained_signal_.cancel();
}

awaitable<bool> outbox::run_writer() {
  std::string sending;
  while (open_) {
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        writer_waiting_ = true;
      } else {
        sending.swap(queue_);
        writer_busy_ = true;
      }
    }
    if (sending.empty()) {
      writer_signal_.expires_at(std::chrono::steady_clock::time_point::max());
      boost::system::error_code ec;
      co_await writer_signal_.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    co_await stream_.async_write(asio::buffer(sending), use_awaitable);
    bool wake_reader, flushed;
    {
      std::lock_guard lock(mutex_);
      writer_busy_ = false;
      queued_ -= sending.size();
      wake_reader = reader_paused_ && queued_ <= limits_.high_water_mark / 2;
      flushed = queued_ == 0 && close_when_flushed_;
    }
    sending.clear();
    if (wake_reader) drained_signal_.cancel();
    if (flushed) co_return true;
  }
  co_return false;
}

bool outbox::write_now() {
  if (!stream_.is_tls() && !writer_busy_) {
    // The writer has nothing in flight, so the socket is free: it is parked, or about to take
    // the queue under this lock.
    boost::system::error_code ec;
    const std::size_t n = stream_.write_now(asio::buffer(queue_), ec);
    if (!ec) {
      queue_.erase(0, n);
      queued_ -= n;
    }
  }
  return queue_.empty();
}

void outbox::begin_batch() {
  std::lock_guard lock(mutex_);
  batching_ = true;
}

bool outbox::end_batch() {
  std::unique_lock lock(mutex_);
  batching_ = false;
  if (queue_.empty() || !open_) return false;
  if (write_now()) return close_when_flushed_;
  if (!std::exchange(writer_waiting_, false)) return false;  // it takes the rest when it runs
  lock.unlock();
  writer_signal_.cancel();
  return false;
}

bool outbox::flush_now() {
  std::unique_lock lock(mutex_);
  if (queue_.empty() || !open_) return false;
  if (write_now()) return close_when_flushed_;
  if (!std::exchange(writer_waiting_, false)) return false;
  lock.unlock();
  wake_writer_later();
  return false;
}

bool outbox::over_high_water() {
  std::lock_guard lock(mutex_);
  reader_paused_ = queued_ > limits_.high_water_mark;
  return reader_paused_;
}

bool outbox::close_when_flushed() {
  std::lock_guard lock(mutex_);
  close_when_flushed_ = true;
  return queued_ == 0;
}

}  // namespace roost::net
