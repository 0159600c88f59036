#pragma once
// `roost record`, `roost replay` and `roost shadow`: the tools for moving a NestJS service to
// roost (docs/migrating.md). Each returns the command's exit code.

#include "tcp_tap.hpp"

#include <roost/client_transport.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost::cli {

/// One line of a recording (JSON Lines): what `roost record` writes for `x`. `start` is when
/// the recording began (the line's `t_ms`).
json::object recording_line(const exchange& x, std::chrono::steady_clock::time_point start);

/// The metadata to send again with a recorded or copied message: the recorded one without the
/// caller's deadline (x-roost-deadline), which has passed or belongs to the original call; the
/// client sends its own.
std::optional<json::object> metadata_to_resend(const std::optional<json::object>& recorded);

struct record_options {
  tap_options tap;
  std::string out;  ///< the JSON Lines file, or - for stdout
};
int run_record(const record_options& o);

/// Where `roost record` writes: the file (or stdout), one line per exchange or note, each
/// flushed, so that a recording cut short (kill -9) keeps every exchange that ended.
class recording_out {
 public:
  /// ok() is false when the file cannot be written (said on stderr).
  explicit recording_out(const std::string& path);
  bool ok() const { return static_cast<bool>(*out_); }
  void done(const exchange& x);
  void note(const std::string& what);
  /// The closing summary on stderr.
  void summary() const;

 private:
  std::unique_ptr<std::ostream> file_;
  std::ostream* out_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::uint64_t requests_ = 0, events_ = 0, notes_ = 0;
};

/// Where `roost record --from` and `roost shadow --from` listen beside the service: its broker
/// (nats://, redis:// or mqtt://) and the subjects, channels or topics of its patterns (none:
/// every one), with where their replies go. Never in a queue group or a shared subscription:
/// the service loses no message.
struct broker_source {
  std::string url;
  std::vector<std::string> patterns;
};

/// Empty when `--from` can listen beside a service on `url`'s transport; else why not (a
/// usage error: RabbitMQ and Kafka hand a message to one consumer of a queue or group).
std::string broker_source_refused(const std::string& url);

struct broker_record_options {
  broker_source from;
  std::string out;
};
int run_record_broker(const broker_record_options& o);

using transport_factory = std::function<std::unique_ptr<client_transport>()>;

struct replay_options {
  std::string file;
  transport_factory make_transport;
  std::vector<std::string> ignore, loose;  ///< compare_rules paths
  int concurrency = 1;                     ///< messages in flight (1 keeps the recorded order)
  double rate = 0;                         ///< messages per second at most; 0: no limit
  std::chrono::milliseconds timeout{10'000};
};
int run_replay(const replay_options& o);

struct shadow_options {
  tap_options tap;  ///< the listening side and the primary (TCP)
  /// Beside the primary on its broker instead of a proxy in front of it (`--from`).
  std::optional<broker_source> from;
  /// With `from`: the candidate gets a copy whose string pattern starting with `first` starts
  /// with `second` instead (`--rename`), so that a candidate on the same broker serves its
  /// own subjects and never answers the primary's callers.
  std::vector<std::pair<std::string, std::string>> rename;
  transport_factory make_candidate;
  std::vector<std::string> ignore, loose;
  std::size_t queue = 1000;  ///< copies in flight to the candidate at most; beyond: dropped
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds report_every{10'000};
};
int run_shadow(const shadow_options& o);

}  // namespace roost::cli
