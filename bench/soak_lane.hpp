// One transport of the soak run (bench/soak.cpp): its server's URL and handlers, its client and
// traffic, what the traffic got, and the samples of its server with their trends.
#pragma once

#include <roost/client_proxy.hpp>
#include <roost/router.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

// Where a series stands after the warm-up, and what trends upward ("why"; empty: nothing).
struct trend {
  long rss_start = 0, rss_end = 0, fds_start = 0, fds_end = 0;
  double rss_slope = 0, rss_limit = 0;           // KiB a minute
  double fd_slope = 0;                           // descriptors a minute
  double p99 = 0, p99_slope = 0, p99_limit = 0;  // ms; ms a minute
  std::string why;
  bool ok() const { return why.empty(); }
};

// One process's samples: resident memory, open descriptors, the interval's p99.
class series {
 public:
  void add(double t, long rss_kb, long fds, double p99_ms);
  // The trends of the samples from `warmup` seconds on (bench/soak.cpp says why these limits),
  // for a process handling `messages_per_second`.
  trend fit(double warmup, double messages_per_second) const;
  // One line per sample: date name t_s rss_kb fds p99_ms.
  void write(std::ostream& out, const std::string& date, const std::string& name) const;

 private:
  struct sample {
    double t;
    long rss_kb, fds;
    double p99_ms;
  };
  std::vector<sample> samples_;
};

struct soak_lane {
  std::string name;        // tcp, ws, grpc, redis, nats, rmq, mqtt, kafka
  std::string server_url;  // the server's, in the child process
  std::string client_url;
  std::string route;        // `soak.<random>`: .sum, .tally, .tally.count (gRPC: interop.Math)
  bool grpc = false;        // requests only: gRPC has no events
  bool kafka_text = false;  // numbers come back as text

  pid_t server_pid = -1;
  std::unique_ptr<roost::client_proxy> client;
  std::uint64_t requests_ok = 0, events_sent = 0, events_handled = 0;
  int outstanding = 0;
  std::vector<double> latencies_ms;  // of this interval's answered requests
  series samples;

  void make_client(boost::asio::any_io_executor ex);
  // Until a request is answered and an event handled (a broker's subscriptions in place), at
  // most 90 s; a failure if not.
  roost::awaitable<void> get_ready();
  // The traffic from `t0` to `stop`, `rate` requests a second and an event after every second
  // one; then waits for the last replies and for the server to count every event.
  roost::awaitable<void> drive(clock_type::time_point t0, clock_type::time_point stop, double rate);
  void close();
  double take_p99_ms();
  int failures() const { return failures_; }
  void fail(const std::string& why);
  // One line: what was sent, answered and handled, and the first failure.
  void report() const;

 private:
  roost::awaitable<void> request(std::int64_t i);
  roost::awaitable<void> event(std::int64_t i);
  roost::awaitable<void> ask_count();
  int failures_ = 0;
  std::string first_failure_;
  bool probed_ = false;
};

// The lanes of `names` (empty: every transport of this build), on routes under `run`; throws
// std::runtime_error for a name this build has no transport for, or a broker's URL unset.
std::vector<soak_lane> soak_lanes(const std::string& run, const std::vector<std::string>& names);

// The server's handlers of `lane`'s routes, their counts owned by the handlers.
void add_soak_handlers(roost::router& r, const soak_lane& lane);

}  // namespace bench
