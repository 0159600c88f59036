#pragma once
/// \file roost::mqtt::server: the server side of the MQTT transport.

#include <roost/mqtt/options.hpp>
#include <roost/server_transport.hpp>

#include <memory>

namespace roost::mqtt {

/// Serves NestJS `Transport.MQTT` clients (and roost ones), as NestJS's ServerMqtt: subscribes
/// to every handler's route as a topic (MQTT wildcards `+` and `#`, and `$share/GROUP/`
/// shared subscriptions, as they are), finds a message's handler by the topic it came on (the
/// exact route first, then the wildcard routes, `$share/GROUP/` left out), and publishes a
/// request's replies to that concrete topic + `/reply`. libmosquitto runs on the executor,
/// through its socket: no thread of its own. A lost connection is made again every
/// `reconnect_period`, and the topics subscribed again.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  std::string_view name() const noexcept override { return "mqtt"; }
  /// Connects and subscribes; completes when the broker confirmed every subscription. Throws
  /// connection_error (with the broker's reason).
  awaitable<void> listen(dispatcher& d) override;
  /// Unsubscribes: no new messages arrive; the replies of those in flight still go.
  void stop_accepting() override;
  /// True once the broker confirmed every unsubscription (UNSUBACK) and the messages it sent
  /// before were handed to the dispatcher.
  bool stopped() const noexcept override;
  /// Sends what is queued (the drained handlers' replies; at most half a second) and
  /// disconnects; returns once done.
  void close() override;
  /// Connected, and the broker granted every subscription of this connection (SUBACK). False
  /// from a lost connection until it is made again and subscribed again, and from
  /// stop_accepting() on.
  bool ready() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::mqtt
