#pragma once
// Runs a nats.c connection's socket on an executor of ours, through the library's event-loop
// mode, instead of on the library's reader and flusher threads. What arrives is read and
// parsed on our strand as soon as the socket is readable; what is published is written on our
// strand (or by write_now()) without the PING round trip a library flush costs. Message
// delivery stays on the library's delivery thread. Plain TCP only: with TLS the library may
// block in a read until a whole record has arrived, so TLS connections keep its threads.

#include <roost/awaitable.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>

#include <nats/nats.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

namespace roost::nats::detail {

class socket_driver : public std::enable_shared_from_this<socket_driver> {
 public:
  explicit socket_driver(executor ex);
  socket_driver(const socket_driver&) = delete;
  socket_driver& operator=(const socket_driver&) = delete;
  ~socket_driver();

  /// Hands the connection's socket to this driver (before connecting).
  natsStatus install(natsOptions* o);

  /// Runs `f` on the strand after each read from the socket (before waiting for the next).
  /// Set before install().
  void after_read(std::function<void()> f) { after_read_ = std::move(f); }

  /// Writes what the library has buffered, now, on the calling thread (one non-blocking
  /// write; what the socket does not take is written when it is writable). Thread-safe.
  void write_now();

  /// Writes everything the library has buffered, on the calling thread, waiting for the
  /// socket as needed (at most `timeout`): before closing. Thread-safe.
  void write_all(std::chrono::milliseconds timeout);

  /// For a blocking call made on the executor's own thread (which then cannot run the strand):
  /// runs the socket on the calling thread until `done()` is true or `timeout` has passed.
  void run_here_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

 private:
  using descriptor = boost::asio::posix::stream_descriptor;
  using strand_type = boost::asio::strand<executor>;

  // The library's callbacks: on any thread, often with the connection's lock held. They only
  // record what the library wants and post to the strand.
  static natsStatus on_attach(void** user, void* loop, natsConnection* nc, natsSock fd);
  static natsStatus on_read(void* user, bool add);
  static natsStatus on_write(void* user, bool add);
  static natsStatus on_detach(void* user);

  // On the strand.
  void adopt(int fd, unsigned generation);
  void forget(unsigned generation);
  void on_readable(unsigned generation);
  void read_now(unsigned generation);
  void arm_read(unsigned generation);
  void pump_writes();

  bool wants_read(unsigned generation);
  bool wants_write();
  bool readable_now() const;
  // Calls into the library, unless it has detached (then the connection may be gone).
  void process_read();
  // False when nothing is left to write (or the library has detached).
  bool process_write();

  strand_type strand_;
  std::function<void()> after_read_;

  std::mutex mutex_;  // what the callbacks set
  natsConnection* nc_ = nullptr;
  unsigned generation_ = 0;  // bumped by each attach (a reconnection is a new socket)
  bool want_read_ = false, want_write_ = false, write_posted_ = false;
  int fd_ = -1;  // our duplicate of the library's socket (see on_attach)

  // One library call at a time, none after detach. Recursive: a call may end in the library
  // closing the connection, which detaches on the same thread.
  std::recursive_mutex drive_mutex_;
  bool detached_ = false;

  // The strand's own.
  std::unique_ptr<descriptor> desc_;
  unsigned desc_generation_ = 0;
  bool read_armed_ = false, write_armed_ = false;
};

}  // namespace roost::nats::detail
