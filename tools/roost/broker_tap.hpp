#pragma once
// What `roost record --from` and `roost shadow --from` share between the brokers: telling
// requests, events and replies apart among the messages seen beside a service, matching each
// reply to its request by where the reply goes and the packet's id, and waiting for Ctrl-C.

#include "migrate.hpp"

#include <roost/url.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace roost::cli {

/// Hands what it sees to tap_handlers as tcp_tap does: on_sent for each request and event,
/// on_done when a request's reply ended (or at stop(), unanswered) and for each event, on_note
/// for what is not a NestJS packet. The handlers run on the broker client's thread, under the
/// matcher's lock: they must not block.
class reply_matcher {
 public:
  explicit reply_matcher(tap_handlers h) : h_(std::move(h)) {}

  /// A message published to `channel`. `reply_to`: where its replies go (NATS: the message's
  /// reply subject; Redis: `<channel>.reply`); empty for none. A request with an id waits for
  /// its replies; anything else is written at once (an event, or a note when undecodable).
  /// `headers`: the message's own (NATS), recorded as its metadata with the packet's.
  void inbound(std::string_view text, const std::string& channel, const std::string& reply_to,
               json::object headers = {});
  /// A message on `reply_to`: false when no request seen waits for a reply there (the message
  /// is left to the caller), true when it was taken as a reply (or noted as a bad one).
  bool reply(std::string_view text, const std::string& reply_to);
  /// The requests still waiting are written unanswered.
  void stop();

 private:
  void note(const std::string& what) {
    if (h_.on_note) h_.on_note(what);
  }

  tap_handlers h_;
  std::mutex mutex_;  // the brokers' client libraries may deliver on threads of their own
  std::unordered_map<std::string, exchange> pending_;  // by reply_to + '\n' + the id's JSON
  std::unordered_map<std::string, unsigned> waiting_;  // reply_to: requests pending there
};

/// Subscribes beside the service on `from.url` (nats://, redis:// or mqtt://) and hands what it
/// sees to `m` until SIGINT or SIGTERM, or until the connection is lost; then `m.stop()`. Call
/// block_stop_signals() first, before any thread starts. `who` starts its lines on stderr
/// ("roost record"). Returns 0, 2 for a bad URL, 4 when it cannot connect or lost the
/// connection.
int run_broker_tap(const broker_source& from, reply_matcher& m, const std::string& who);

/// Says on stderr that `url` is a bad URL for `broker`, and why.
void bad_broker_url(const char* broker, const std::string& url, const std::string& why);

/// A broker's client options from `text`, by `from` (its transport's client_options_from);
/// nullopt when the URL is bad, after saying why on stderr (`broker` names it: "NATS").
template <class From>
auto broker_options(const std::string& text, const char* broker, From from)
    -> std::optional<typename decltype(from(std::declval<const url&>()))::value_type> {
  auto u = url::parse(text);
  if (!u) {
    bad_broker_url(broker, text, u.error().message());
    return std::nullopt;
  }
  auto o = from(*u);
  if (!o) {
    bad_broker_url(broker, text, o.error().message());
    return std::nullopt;
  }
  return std::move(*o);
}
/// run_broker_tap on each broker (record_nats.cpp, record_redis.cpp, record_mqtt.cpp), the
/// ones built.
int tap_nats(const broker_source& from, reply_matcher& m, const std::string& who);
int tap_redis(const broker_source& from, reply_matcher& m, const std::string& who);
int tap_mqtt(const broker_source& from, reply_matcher& m, const std::string& who);

/// Blocks SIGINT and SIGTERM in the calling thread and in every thread started after it
/// (the client libraries' threads): call first, then wait_for_stop().
void block_stop_signals();
/// Waits for SIGINT or SIGTERM, or until `ended` is set (checked five times a second).
void wait_for_stop(const std::atomic<bool>& ended);

}  // namespace roost::cli
