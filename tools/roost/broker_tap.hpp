#pragma once
// What `roost record --from` shares between the brokers: telling requests, events and replies
// apart among the messages seen beside a service, matching each reply to its request by where
// the reply goes and the packet's id, and waiting for Ctrl-C.

#include "migrate.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roost::cli {

class reply_matcher {
 public:
  explicit reply_matcher(recording_out& out) : out_(out) {}

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
  recording_out& out_;
  std::mutex mutex_;  // the brokers' client libraries may deliver on threads of their own
  std::unordered_map<std::string, exchange> pending_;  // by reply_to + '\n' + the id's JSON
  std::unordered_map<std::string, unsigned> waiting_;  // reply_to: requests pending there
};

/// Blocks SIGINT and SIGTERM in the calling thread and in every thread started after it
/// (the client libraries' threads): call first, then wait_for_stop().
void block_stop_signals();
/// Waits for SIGINT or SIGTERM, or until `ended` is set (checked five times a second).
void wait_for_stop(const std::atomic<bool>& ended);

}  // namespace roost::cli
