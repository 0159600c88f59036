#pragma once
// The TCP proxy under `roost record` and `roost shadow`: forwards the bytes between NestJS-protocol
// clients and a service unchanged, and decodes the frames of both directions with the TCP
// transport's sans-I/O codec to tell its owner what went by, one exchange at a time.

#include <roost/json.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace roost::cli {

/// One request (with its replies) or one event seen through the proxy.
struct exchange {
  std::uint64_t connection = 0;  ///< which client connection, counted from 1 (TCP)
  std::string channel;           ///< the subject or channel it came on (brokers)
  std::string reply_to;          ///< where its replies go (brokers)
  json::value pattern;
  json::value data;
  std::optional<json::object> metadata;
  std::optional<json::value> id;  ///< absent: an event
  json::array replies;            ///< every reply value, in order
  std::optional<json::value> error;
  bool answered = false;  ///< the reply ended (not cut by the connection closing)
  std::chrono::system_clock::time_point wall;
  std::chrono::steady_clock::time_point sent, first_reply, done;

  bool is_event() const noexcept { return !id.has_value(); }
};

struct tap_handlers {
  /// A request or event came from a client (and was forwarded).
  std::function<void(const exchange&)> on_sent;
  /// An event at once; a request when its reply ended or its connection closed.
  std::function<void(exchange&&)> on_done;
  /// Something to tell the user: malformed traffic, a target that refused the connection.
  std::function<void(const std::string&)> on_note;
};

struct tap_options {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  std::string target_host;
  std::uint16_t target_port = 3000;
};

/// Listens at once (throws std::runtime_error saying why when it cannot); serves until stop().
class tcp_tap {
 public:
  tcp_tap(boost::asio::any_io_executor ex, tap_options options, tap_handlers handlers);
  ~tcp_tap();
  tcp_tap(const tcp_tap&) = delete;
  tcp_tap& operator=(const tcp_tap&) = delete;

  /// The port it listens on (the one chosen when asked for 0).
  std::uint16_t port() const;
  /// Stops accepting and closes every connection; requests still waiting for their reply are
  /// handed to on_done unanswered.
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace roost::cli
