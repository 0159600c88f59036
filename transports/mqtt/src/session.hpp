#pragma once
// One libmosquitto connection driven from our executor, with no thread of the library's: the
// library's socket is watched on a strand (readable: mosquitto_loop_read; writable, when the
// library has output waiting: mosquitto_loop_write; every second: mosquitto_loop_misc for the
// keep-alive), and every call into the library is made under one mutex, so that publishing
// from any thread writes at once. The library's callbacks only record what happened; it is
// handed on once the library call returned and the mutex is released (messages and the
// connection's ups and downs on the strand), so nothing of ours runs inside the library.

#include <roost/awaitable.hpp>
#include <roost/headers.hpp>
#include <roost/mqtt/context.hpp>
#include <roost/mqtt/options.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace roost::mqtt::detail {

/// A delivered message, copied out of the library's.
struct message {
  std::string topic;
  std::string payload;
  packet_info info;
  roost::headers user_properties;  // MQTT 5
};

/// How one message is published.
struct publish_options {
  int qos = 0;
  bool retain = false;
  /// MQTT 5 properties (left out over 3.1.1).
  const roost::headers* user_properties = nullptr;
  std::string_view content_type;
  std::optional<std::uint32_t> message_expiry_interval;
};

class session : public std::enable_shared_from_this<session> {
 public:
  using strand_type = boost::asio::strand<executor>;
  /// The broker's answer to a subscription or to a QoS 1/2 publish: empty when granted, else
  /// why not (the connection went first, say). Called on any thread with no lock held: it
  /// must only hand over.
  using done_fn = std::function<void(const std::string& failed)>;

  /// Called on the strand.
  struct events {
    std::function<void(std::vector<message>&)> messages;
    /// Connected again after a lost connection (not after open(), which completes instead).
    std::function<void()> up;
    /// The connection was lost; with `reconnect`, it is being made again.
    std::function<void(const std::string& why)> down;
  };

  /// `side` names it in the log ("mqtt server"). `reconnect`: after a lost connection, connect
  /// again every `reconnect_period` until close().
  session(executor ex, connection_options o, std::string_view side, bool reconnect);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void set_events(events e) { events_ = std::move(e); }

  /// Connects; completes when the broker accepted the connection. Throws connection_error
  /// (refused, unreachable, timed out).
  awaitable<void> open();

  /// Subscribes; `done` gets the broker's answer. False (and `done` is not called) when the
  /// library refused at once (not connected). Thread-safe.
  bool subscribe(const std::string& topic, int qos, done_fn done);
  /// Thread-safe; false (and `done` is not called) when not connected. `done` gets the
  /// broker's UNSUBACK (after which no message of the topic comes), or why it never will.
  bool unsubscribe(const std::string& topic, done_fn done = {});
  /// Publishes, writing at once when the socket takes it. With QoS 1 or 2 and a `done`, it
  /// gets the broker's acknowledgement. Empty when sent or queued, else why not. Thread-safe.
  std::string publish(const std::string& topic, std::string_view payload, const publish_options& o,
                      done_fn done = {});

  /// Sends what is queued (bounded), disconnects and stops reconnecting. Thread-safe;
  /// idempotent.
  void close();

  bool v5() const noexcept { return opts_.protocol_version == 5; }
  bool connected() const noexcept { return connected_.load(); }
  const connection_options& options() const noexcept { return opts_; }
  const strand_type& strand() const noexcept { return strand_; }

 private:
  // What the library's callbacks recorded, handed on once the library call returned.
  struct happened {
    std::optional<int> connack;       // the CONNACK's code
    std::optional<int> disconnected;  // the disconnection's code
    std::vector<message> messages;
    std::vector<std::pair<int, std::string>> acks;  // mid, empty or why refused
    std::string why;  // with `disconnected`: what went wrong, in words
  };
  static void on_connect(mosquitto*, void* self, int rc, int flags, const mqtt5__property*);
  static void on_disconnect(mosquitto*, void* self, int rc, const mqtt5__property*);
  static void on_message(mosquitto*, void* self, const ::mosquitto_message* m,
                         const mqtt5__property* props);
  static void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                           const mqtt5__property*);
  static void on_publish(mosquitto*, void* self, int mid, int reason, const mqtt5__property*);
  static void on_unsubscribe(mosquitto*, void* self, int mid, const mqtt5__property*);
  static void on_log(mosquitto*, void* self, int level, const char* text);
  static int verify_peer_cb(void* store, void* self);  // an X509_STORE_CTX, this session

  // On the strand.
  void start_connect(bool first);
  void adopt_socket();
  void arm_read();
  void arm_write();
  void on_readable(unsigned generation);
  void on_writable(unsigned generation);
  void tick();
  void hand_on(happened& h);
  void lost(const std::string& why);
  void connect_failed(const std::string& why);
  void schedule_reconnect();
  void arm_deadline();  // open() fails when the broker has not accepted by connect_timeout
  static awaitable<void> look_up_then_connect(std::shared_ptr<session> self);
  bool try_next_address();

  // Any thread, with mutex_ held: takes what the callbacks recorded (and `rc`, a library
  // call's result, as a disconnection when it failed).
  happened take_locked(int rc = 0);
  // TLS and last-will set-up from the options; empty, or why it cannot be.
  std::string set_up_tls();
  std::string set_up_will();
  // Any thread, with mutex_ held. The reason of a failure, the TLS one when there is one.
  std::string failure_locked(int rc);
  // The TLS session (an SSL*) while its handshake runs, which the library advances only in
  // mosquitto_loop_read; else null.
  void* handshaking_locked();
  bool want_write_locked();
  bool readable_now_locked(int fd);

  // Any thread, no lock held: settles acknowledgements; asks the strand to write when the
  // library has output waiting.
  void settle(std::vector<std::pair<int, std::string>>& acks);
  void want_write_check();
  void fail_waiters(const std::string& why);

  connection_options opts_;
  std::string_view side_;
  bool reconnect_;
  strand_type strand_;
  events events_;

  std::mutex mutex_;  // every library call, happened_, waiters_
  mosquitto* mosq_ = nullptr;
  happened happened_;
  std::map<int, done_fn> waiters_;  // by message id
  bool tls_ = false;
  std::string sni_;                     // the name sent in the TLS handshake, when a name
  std::string address_;                 // the broker's address, looked up at the first connection
  std::vector<std::string> addresses_;  // all those of its name, tried in turn at first
  std::size_t next_address_ = 0;
  std::string setup_error_;    // TLS set-up that failed: open() says so
  std::string logged_errors_;  // what the library logged as errors (TLS), since last taken
  long verify_error_ = 0;      // why the broker's certificate was refused (X509_V_OK: it was not)

  std::atomic<bool> connected_{false};
  std::atomic<bool> closing_{false};
  std::atomic<bool> write_posted_{false};

  // The strand's own.
  std::unique_ptr<boost::asio::posix::stream_descriptor> socket_;  // a duplicate of the library's
  unsigned generation_ = 0;  // grows with each socket: waits of an older one are stale
  bool read_armed_ = false, write_armed_ = false;
  bool ever_connected_ = false;
  bool ticking_ = false;
  boost::asio::steady_timer ticker_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer deadline_;
  std::function<void(const std::string&)> open_done_;  // open() waiting for the CONNACK
};

}  // namespace roost::mqtt::detail
