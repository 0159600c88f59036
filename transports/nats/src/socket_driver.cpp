#include "socket_driver.hpp"

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace roost::nats::detail {

namespace asio = boost::asio;

namespace {

using holder = std::shared_ptr<socket_driver>;

// Reads in one go at most this many times before letting other work on the strand run.
constexpr int reads_per_turn = 16;

bool ready(int fd, short events) {
  pollfd p{fd, events, 0};
  return fd >= 0 && ::poll(&p, 1, 0) == 1 && (p.revents & events) != 0;
}

}  // namespace

socket_driver::socket_driver(executor ex) : strand_(asio::make_strand(std::move(ex))) {}

socket_driver::~socket_driver() = default;

natsStatus socket_driver::install(natsOptions* o) {
  // Published data is handed to us at once (no library flusher thread holding it for 1 ms);
  // with an event loop that is a request to write, not a write per message.
  natsStatus s = natsOptions_SetSendAsap(o, true);
  if (s != NATS_OK) return s;
  return natsOptions_SetEventLoop(o, this, &on_attach, &on_read, &on_write, &on_detach);
}

natsStatus socket_driver::on_attach(void** user, void* loop, natsConnection* nc, natsSock fd) {
  auto* self = static_cast<socket_driver*>(loop);
  // A duplicate of the socket, ours to register and close: the library closes its own
  // descriptor when the connection drops, before the strand hears of it, and the number may
  // be reused at once by a socket that another part of the process registers.
  const int mine = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (mine < 0) return NATS_SYS_ERROR;
  unsigned generation;
  {
    std::lock_guard lock(self->mutex_);
    self->nc_ = nc;
    generation = ++self->generation_;
    self->want_read_ = true;  // the library expects reading to start with the attach
    self->fd_ = mine;
  }
  if (!*user) *user = new holder(self->shared_from_this());
  asio::post(self->strand_,
             [s = self->shared_from_this(), mine, generation] { s->adopt(mine, generation); });
  return NATS_OK;
}

natsStatus socket_driver::on_read(void* user, bool add) {
  auto& self = **static_cast<holder*>(user);
  unsigned generation;
  {
    std::lock_guard lock(self.mutex_);
    self.want_read_ = add;
    generation = self.generation_;
  }
  // The library stops reading only when it is about to close the socket.
  if (!add)
    asio::post(self.strand_, [s = self.shared_from_this(), generation] { s->forget(generation); });
  return NATS_OK;
}

natsStatus socket_driver::on_write(void* user, bool add) {
  auto& self = **static_cast<holder*>(user);
  bool post = false;
  {
    std::lock_guard lock(self.mutex_);
    self.want_write_ = add;
    if (add && !self.write_posted_) post = self.write_posted_ = true;
  }
  if (post) asio::post(self.strand_, [s = self.shared_from_this()] { s->pump_writes(); });
  return NATS_OK;
}

natsStatus socket_driver::on_detach(void* user) {
  auto* h = static_cast<holder*>(user);
  auto& self = **h;
  {
    // Waits for a library call in progress on another thread; after this, none is made (the
    // connection may be destroyed as soon as this returns).
    std::lock_guard lock(self.drive_mutex_);
    self.detached_ = true;
  }
  unsigned generation;
  {
    std::lock_guard lock(self.mutex_);
    self.want_read_ = self.want_write_ = false;
    generation = self.generation_;
  }
  // Owned by the handler, so that it goes even if the executor never runs it.
  asio::post(self.strand_,
             [h = std::unique_ptr<holder>(h), generation] { (*h)->forget(generation); });
  return NATS_OK;
}

void socket_driver::adopt(int fd, unsigned generation) {
  {
    std::lock_guard lock(mutex_);
    if (generation != generation_) {  // a newer socket came already
      ::close(fd);
      return;
    }
  }
  if (desc_) {
    boost::system::error_code ec;
    desc_->close(ec);
  }
  desc_ = std::make_unique<descriptor>(strand_, fd);
  desc_generation_ = generation;
  read_armed_ = write_armed_ = false;
  arm_read(generation);
  if (readable_now()) read_now(generation);
  pump_writes();
}

void socket_driver::forget(unsigned generation) {
  if (!desc_ || desc_generation_ != generation) return;
  boost::system::error_code ec;
  desc_->close(ec);  // completes the waits with operation_aborted
  desc_.reset();
  read_armed_ = write_armed_ = false;
}

void socket_driver::on_readable(unsigned generation) {
  read_armed_ = false;
  read_now(generation);
}

void socket_driver::read_now(unsigned generation) {
  for (int i = 0; i < reads_per_turn; ++i) {
    if (!desc_ || desc_generation_ != generation || !wants_read(generation)) return;
    process_read();  // also sees the end of the stream and errors
    if (after_read_) after_read_();
    // Readiness is reported by edges, and an edge with no wait queued is lost: arm before
    // looking, so that data arriving after the look completes the wait.
    arm_read(generation);
    if (!readable_now()) return;
  }
  asio::post(strand_, [s = shared_from_this(), generation] { s->read_now(generation); });
}

void socket_driver::arm_read(unsigned generation) {
  if (read_armed_ || !desc_ || desc_generation_ != generation) return;
  read_armed_ = true;
  desc_->async_wait(descriptor::wait_read,
                    [s = shared_from_this(), generation](const boost::system::error_code& ec) {
                      if (ec) {
                        if (s->desc_generation_ == generation) s->read_armed_ = false;
                        return;
                      }
                      s->on_readable(generation);
                    });
}

void socket_driver::pump_writes() {
  {
    std::lock_guard lock(mutex_);
    write_posted_ = false;
  }
  if (!desc_ || !wants_write()) return;
  process_write();  // the library stops asking once its buffer is empty
  if (!wants_write() || write_armed_) return;
  // The socket took part of it: write the rest when it is writable again.
  write_armed_ = true;
  const unsigned generation = desc_generation_;
  desc_->async_wait(descriptor::wait_write,
                    [s = shared_from_this(), generation](const boost::system::error_code& ec) {
                      if (s->desc_generation_ == generation) s->write_armed_ = false;
                      if (!ec) s->pump_writes();
                    });
  if (ready(desc_->native_handle(), POLLOUT)) {
    asio::post(strand_, [s = shared_from_this()] { s->pump_writes(); });
  }
}

void socket_driver::write_now() {
  if (wants_write()) process_write();
}

void socket_driver::write_all(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (process_write() && std::chrono::steady_clock::now() < until) {
    int fd;
    {
      std::lock_guard lock(mutex_);
      fd = fd_;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 10) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return;
  }
}

void socket_driver::run_here_until(const std::function<bool()>& done,
                                   std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < until) {
    int fd;
    {
      std::lock_guard lock(mutex_);
      if (!want_read_) return;
      fd = fd_;
    }
    if (wants_write()) process_write();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2) == 1 && (p.revents & POLLNVAL) != 0) return;
    if (p.revents != 0) process_read();
  }
}

bool socket_driver::wants_read(unsigned generation) {
  std::lock_guard lock(mutex_);
  return want_read_ && generation == generation_;
}

bool socket_driver::wants_write() {
  std::lock_guard lock(mutex_);
  return want_write_;
}

bool socket_driver::readable_now() const {
  // Also true at the end of the stream or on an error, which the library must read to see.
  pollfd p{desc_ ? desc_->native_handle() : -1, POLLIN, 0};
  return p.fd >= 0 && ::poll(&p, 1, 0) == 1 && p.revents != 0;
}

void socket_driver::process_read() {
  std::lock_guard lock(drive_mutex_);
  if (detached_) return;
  natsConnection* nc;
  {
    std::lock_guard l(mutex_);
    nc = nc_;
  }
  natsConnection_ProcessReadEvent(nc);
}

bool socket_driver::process_write() {
  std::lock_guard lock(drive_mutex_);
  if (detached_) return false;
  natsConnection* nc;
  {
    std::lock_guard l(mutex_);
    nc = nc_;
  }
  // Never with nothing to write: the library takes a write of 0 bytes for a closed socket.
  if (natsConnection_Buffered(nc) <= 0) return false;
  natsConnection_ProcessWriteEvent(nc);
  return natsConnection_Buffered(nc) > 0;
}

}  // namespace roost::nats::detail
