#pragma once
// One nats.c connection, shared by the server and the client side. nats.c runs its own
// threads (message delivery, connection events, reconnection; for TLS also the reader and
// flusher); everything it calls back here only hands work over to our executor. A plain TCP
// connection's socket is read and written on our executor (socket_driver.hpp).

#include <roost/awaitable.hpp>
#include <roost/nats/context.hpp>
#include <roost/nats/options.hpp>

#include "blocking_calls.hpp"
#include "socket_driver.hpp"

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace roost::nats::detail {

struct msg_deleter {
  // natsMsg_Destroy hands a message the library made to its collector thread, waking it (a
  // futex call and a context switch per message); a message taken inline is freed here.
  void (*free)(void*) = nullptr;  // null: natsMsg_Destroy
  void operator()(natsMsg* m) const noexcept {
    if (free) {
      free(m);
    } else {
      natsMsg_Destroy(m);
    }
  }
};
using msg_ptr = std::unique_ptr<natsMsg, msg_deleter>;

/// Runs on a nats.c delivery thread: decode if you like, then post to an executor.
using message_fn = std::function<void(msg_ptr)>;

/// Connection events, called on a nats.c thread (post them to an executor).
struct connection_events {
  std::function<void()> disconnected;  ///< lost; the library is reconnecting (or gives up)
  std::function<void()> reconnected;
  std::function<void()> closed;  ///< closed for good (by close() or after giving up)
};

/// The headers of a message, in order (empty when it has none).
nats::headers headers_of(natsMsg* m);
/// The payload of a message.
std::string_view data_of(natsMsg* m);

/// Text for a nats.c status, with the library's last error detail.
std::string status_text(natsStatus s);

class connection {
 public:
  /// `ordered`: every subscription of the connection is delivered by the library's one shared
  /// delivery thread, so messages reach us in the order the server sent them, across
  /// subjects (as on NestJS's single socket); otherwise each subscription has its own thread.
  /// `default_reconnects`: reconnect attempts when the options leave them unset;
  /// `default_event_loop`: whether the executor runs the socket when they leave it unset.
  connection(connection_options opts, connection_events events, bool ordered = false,
             int default_reconnects = 10, bool default_event_loop = true);
  ~connection();  // closes
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Connects (nats.c connects synchronously: on a thread of its own, so the executor is not
  /// blocked). Throws connection_error.
  awaitable<void> open();

  /// Serves messages without the library's delivery thread when the executor runs the socket
  /// (event-loop mode): `take` sees each message on the reading thread as soon as it is
  /// parsed, in arrival order, and either keeps it (moves it away) or leaves it to its
  /// subscription's callback; `after_read` runs on the executor after each
  /// read. One wake-up per read instead of a hand-off to a delivery thread and back. Set before
  /// open(); ignored with the library's threads or when the library cannot hand messages over
  /// this way (then every message goes to its subscription's callback).
  void take_inline(std::function<void(msg_ptr&)> take, std::function<void()> after_read);

  /// Subscribes `subject` in `queue` (empty: none); `on_message` runs on a nats.c thread.
  /// Returns the subscription's id for unsubscribe(), or throws connection_error.
  std::int64_t subscribe(const std::string& subject, const std::string& queue,
                         message_fn on_message);
  /// JetStream: makes sure stream `name` exists, creating it with `subjects` (file storage)
  /// when missing; runs its blocking calls off the executor. Throws connection_error.
  awaitable<void> ensure_stream(std::string name, std::vector<std::string> subjects);
  /// JetStream: a push subscription of durable consumer `durable` on `subject` of `stream`,
  /// with manual acks (the caller acks each message with natsMsg_Ack/Nak/Term). The consumer
  /// is created here when missing, so that the library does not own it: a consumer the
  /// library created is deleted when its subscription ends, which would forget everything
  /// a durable consumer is for. Runs its blocking calls off the executor. Throws
  /// connection_error.
  awaitable<void> js_subscribe(std::string stream, std::string subject, std::string queue,
                               std::string durable, std::chrono::milliseconds ack_wait,
                               int max_deliver, message_fn on_message);

  /// Stops the delivery of new messages to every subscription; those already received are
  /// still delivered (nats.c's drain).
  void drain_subscriptions();
  /// True once every subscription's drain is over: nats.c delivered its last message (to the
  /// callback) and removed it. Thread-safe.
  bool subscriptions_drained();

  /// Publishes (buffered; nats.c's flusher sends it). Thread-safe. With headers it becomes an
  /// HPUB. Returns the nats.c status.
  natsStatus publish(const char* subject, const char* reply, std::string_view data,
                     const nats::headers* h = nullptr);

  /// Writes what publish() buffered without waiting for the library's flusher (which holds
  /// writes for 1 ms to batch them): our flush thread sends it now, and while the broker
  /// confirms (one round trip) further publishes pile up for the next write. Thread-safe,
  /// never blocks. Nothing to do when our executor drives the socket (it writes what is
  /// published on its next turn).
  void kick();

  /// Writes what publish() buffered now, on the calling thread, when our executor drives the
  /// socket: for a server serving a long batch, its replies leave in parts. Thread-safe.
  void write_now();

  /// flush() for a caller that must block (closing): on the calling thread, which may be the
  /// one that runs the socket. Returns false on timeout or a closed connection.
  bool flush_here(std::chrono::milliseconds timeout);

  /// Waits until the server has processed everything sent so far (PING/PONG), on a thread of
  /// its own. Returns false on timeout or a closed connection.
  awaitable<bool> flush(std::chrono::milliseconds timeout);

  /// Flushes what is buffered (nats.c waits up to 500 ms for it) and closes. Idempotent.
  void close();

  bool is_closed() const;
  /// The nats.c connection, or null once closed. Shared: it is destroyed after its last user.
  std::shared_ptr<natsConnection> native() const;

  struct bridge;  // what the library's connection callbacks reach

 private:
  connection_options opts_;
  bool ordered_;
  int default_reconnects_;
  bool event_loop_;
  std::shared_ptr<bridge> bridge_;
  std::shared_ptr<socket_driver> driver_;  // null with TLS (the library's threads then)
  mutable std::mutex mutex_;
  std::shared_ptr<natsConnection> nc_;
  std::vector<natsSubscription*> subs_;
  jsCtx* js_ = nullptr;  // made on first use, destroyed in close()
  jsCtx* jetstream();    // with mutex_ held
  // The flush thread kick() wakes.
  std::thread flusher_;
  std::mutex flush_mutex_;
  std::condition_variable flush_cv_;
  bool flush_wanted_ = false, flush_stop_ = false;
  std::atomic<bool> flush_pending_{false};
  void flush_loop();
  blocking_calls calls_;  // joined by close()
};

}  // namespace roost::nats::detail
