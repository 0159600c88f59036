#pragma once
// One rabbitmq-c connection with one channel, shared by the server and the client side.
// rabbitmq-c is synchronous and not thread-safe, so the connection lives on a thread of its
// own that does all of its I/O: it waits on the socket and on a wake-up descriptor, writes what
// the executor queued (publishes, acks), and hands each delivered message to a callback,
// which passes it on to the executor (roost::detail::thread_bridge). No user code runs on it.

#include "amqp_headers.hpp"

#include <roost/awaitable.hpp>
#include <roost/headers.hpp>
#include <roost/rmq/options.hpp>

#include <amqp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace roost::rmq::detail {

/// Why a publish failed when the broker refused it (basic.nack), as `outgoing::confirmed` is
/// told.
inline constexpr std::string_view refused_by_broker = "the broker refused the message";

/// Why a publish failed when the broker blocked publishing (connection.blocked) for longer
/// than `blocked_timeout`; the broker's reason follows in parentheses.
inline constexpr std::string_view blocked_by_broker = "the broker blocks publishing";

/// The name RabbitMQ gives direct reply-to (no queue: replies go straight to the consumer).
inline constexpr std::string_view direct_reply_to = "amq.rabbitmq.reply-to";

struct envelope_deleter {
  void operator()(amqp_envelope_t* e) const noexcept {
    amqp_destroy_envelope(e);
    delete e;
  }
};
/// A delivered message; it owns its memory (freed with plain free()), so any thread may hold
/// and free it.
using envelope_ptr = std::unique_ptr<amqp_envelope_t, envelope_deleter>;

/// A delivered message and the connection it came on (its delivery tag means nothing on
/// another: the server acks only on the connection that delivered it).
struct delivery {
  envelope_ptr envelope;
  std::uint64_t generation = 0;
  std::string queue;  // the queue it was consumed from, as declared on that connection
};

/// Something for the connection's thread to write.
struct outgoing {
  enum class kind : unsigned char {
    publish,  ///< `body` to `exchange` (empty: the default one, to queue `routing_key`)
    ack,      ///< basic.ack of `delivery_tag`
    requeue,  ///< basic.nack with requeue
    reject,   ///< basic.nack without requeue (to the queue's dead-letter exchange, if any)
  };
  kind what = kind::publish;
  std::uint64_t generation = 0;  // ack, requeue, reject: the connection that delivered it
  std::uint64_t delivery_tag = 0;
  std::string exchange;
  std::string routing_key;
  std::string body;
  std::string reply_to;
  std::string correlation_id;
  roost::headers headers;
  std::optional<std::uint8_t> delivery_mode;  // 1 transient, 2 persistent; none: not sent
  std::optional<std::uint8_t> priority;
  std::string expiration;  // milliseconds, as text; empty: none
  std::string message_id;
  std::string content_type;
  /// With `setup::confirms`: called once on the connection's thread when the broker confirmed
  /// the message (empty text) or refused it, or the connection went before it did (why). It
  /// must only hand over.
  std::function<void(const std::string& failed)> confirmed;
};

/// What to set up on each (re)connection, in this order.
struct setup {
  bool assert_queue = true;    // queue.declare with the options' queueOptions
  bool consume_queue = false;  // basic.consume of the queue (the server)
  bool no_ack = true;          // for consume_queue
  std::uint16_t prefetch_count = 0;
  bool global_prefetch = false;
  bool consume_replies = false;              // basic.consume of reply_queue, no-ack (the client)
  std::string reply_queue{direct_reply_to};  // `replyQueue`: consumed as it is, not asserted
  std::vector<std::string> bind_keys;        // the server's, with `wildcards`: one binding each
  /// The server's queues beyond the options' `queue`: asserted, bound and consumed as it is.
  std::vector<std::string> more_queues;
  bool confirms = false;  // publisher confirms (confirm.select): see outgoing::confirmed
};

/// Called on the connection's thread: they must only hand over (post, push, log).
struct connection_events {
  std::function<void(delivery)> delivered;
  std::function<void(const std::string& why)> lost;  // the connection is gone
  std::function<void()> reconnected;                 // with `reconnect`: it is back
};

class connection {
 public:
  /// `reconnect`: after a lost connection, connect again every `opts.reconnect_time`, for ever
  /// (until close()); otherwise the thread ends and send() fails from then on.
  connection(connection_options opts, setup s, connection_events events, bool reconnect = false);
  ~connection();  // close()
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Starts the thread, which connects and sets up; completes once done. Throws
  /// connection_error with the broker's reason.
  awaitable<void> open();

  /// Queues `op` for the thread; false (nothing queued) when the connection is gone for good.
  /// Thread-safe, never blocks on the network.
  bool send(outgoing op);

  /// Cancels the consumer of the queue (basic.cancel): no new deliveries. Thread-safe.
  void cancel_consumer();
  /// True once the broker confirmed the cancel and every message it delivered before that was
  /// handed to `delivered`, or the connection ended. Thread-safe.
  bool consumer_cancelled() const noexcept { return cancelled_.load() || ended_.load(); }

  /// Writes what is queued, closes the channel and the connection and joins the thread.
  /// Idempotent; a no-op from the connection's own thread (which then ends by itself).
  void close();

  /// The queue's name, as the broker confirmed it (set once open() completed).
  const std::string& queue() const noexcept { return queue_; }
  /// Which connection is current: it grows at each (re)connection.
  std::uint64_t generation() const noexcept { return generation_.load(); }
  bool alive() const noexcept { return !ended_.load(); }
  /// Whether the broker is delivering: connected, and (with setup::consume_queue) every
  /// queue's basic.consume confirmed (consume-ok) on this connection; false from a lost
  /// connection until it is made again and consumes, from cancel_consumer() on, and once
  /// closed. Thread-safe.
  bool consuming() const noexcept { return consuming_.load(); }
  /// Why a message delivered on connection `generation` can no longer be acknowledged, or
  /// empty when it can: that connection is gone (the broker delivers the message again; its
  /// delivery tag means nothing on another), or this one is closed. Thread-safe.
  std::string settle_refusal(std::uint64_t generation) const;

 private:
  // Starts the thread, which completes `h` with the outcome of connecting (empty: done).
  template <class Handler>
  void start(Handler h);

  // On the connection's thread.
  std::string connect_and_set_up();  // to any broker, the last that worked first; "" or why
  std::string connect_to(const broker_address& b);     // and set up; "" or why
  std::string set_up_exchange();                       // likewise
  std::string declare_queue(const std::string& name);  // and note it in consumed_; "" or why
  std::string bind(const std::string& queue, const std::string& exchange, const std::string& key);
  void run();    // serves until closed or lost for good
  bool serve();  // until lost (false) or closing (true)
  bool write_queued(std::string& why);
  int append_settlement(const outgoing& op);  // an ack or nack into out_; an AMQP status
  // While blocked: how long until the held publishes of callers fail (none: nothing to
  // fail), and failing them once that came.
  std::optional<std::chrono::milliseconds> until_held_fail() const;
  void fail_held_past_bound();
  int write_out();  // out_ to the socket, all of it; an AMQP status
  bool handle_other_frame(std::string& why);
  bool wait_to_reconnect();                 // false when closing
  bool cancel_consumers(std::string& why);  // basic.cancel of each queue's consumer
  std::string queue_of(const amqp_bytes_t& consumer_tag) const;  // the queue it consumes
  void disconnect(bool graceful);
  void finish();
  bool wait_readable(bool for_socket, int timeout_ms);
  bool heartbeat_due();  // with heartbeats: a tick has passed since the last
  void settle_confirms(std::uint64_t tag, bool multiple, const std::string& failed);
  void fail_unconfirmed(const std::string& why);  // every callback still waiting

  connection_options opts_;
  setup setup_;
  connection_events events_;
  bool reconnect_;
  std::vector<broker_address> brokers_;  // host:port, then the failover ones
  std::size_t current_ = 0;              // the thread's alone: the broker last connected to
  // The thread's alone: how often the loop wakes to let rabbitmq-c send a heartbeat and notice
  // a silent broker (a quarter of the negotiated interval; 0: no heartbeats), and when next.
  std::chrono::milliseconds heartbeat_tick_{0};
  std::chrono::steady_clock::time_point next_tick_;
  amqp_connection_state_t state_ = nullptr;  // the thread's alone
  std::string queue_;                        // as first declared; read-only once open() completed
  // The thread's alone: the queues as declared on this connection (the options' `queue`
  // first, then setup::more_queues), and the consumer tag of each one consumed.
  std::vector<std::string> consumed_;
  std::vector<std::string> consumer_tags_;
  int wake_fd_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<outgoing> queued_;  // with mutex_
  // The thread's alone: what is being written, and what a block of the broker holds back.
  std::vector<outgoing> writing_;
  // The thread's alone: the broker's connection.blocked (until connection.unblocked), why,
  // and since when.
  bool blocked_ = false;
  std::string blocked_reason_;
  std::chrono::steady_clock::time_point blocked_since_;
  // The thread's alone: the frames of a batch being written (over plain TCP), written
  // whenever they reach flush_at bytes and at the end of the batch.
  std::string out_;
  static constexpr std::size_t flush_at = 256 * 1024;
  // Publisher confirms, the thread's alone: the next publish's sequence number on this
  // connection, and the callbacks of those not confirmed yet, in sequence order.
  std::uint64_t next_sequence_ = 1;
  std::vector<std::pair<std::uint64_t, std::function<void(const std::string&)>>> unconfirmed_;
  std::atomic<bool> closing_{false};
  std::atomic<bool> cancel_wanted_{false};
  bool cancel_confirmed_ = false;       // the thread's alone: cancel-ok came
  std::atomic<bool> cancelled_{false};  // and what came before it was delivered
  std::atomic<bool> ended_{false};
  std::atomic<bool> consuming_{false};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> lost_{0};  // the generation last lost (0: none)
  void wake() noexcept;
};

}  // namespace roost::rmq::detail
