// What every load generator shares (bench/loadgen, redis_loadgen, nats_loadgen,
// rmq_loadgen, client_loadgen): the options they all take, the run's window (a warm-up, then
// `seconds` measured), the requests served in it with their latencies, and the result line
// bench/lib.sh reads. Each generator keeps only what its protocol needs: how it sends and reads.
#pragma once

#include "reply_check.hpp"
#include "trend.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

// The options every generator takes, with their defaults: `sum [1,2,3]`, which answers 6.
struct load_options {
  int inflight = 16;
  double seconds = 5, warmup = 1;
  std::string pattern = "sum", data = "[1,2,3]";
  double expect = 6;

  // Reads --inflight, --seconds, --warmup, --pattern, --data or --expect; false for any other.
  bool read(std::string_view key, const std::string& value) {
    if (key == "--inflight")
      inflight = std::stoi(value);
    else if (key == "--seconds")
      seconds = std::stod(value);
    else if (key == "--warmup")
      warmup = std::stod(value);
    else if (key == "--pattern")
      pattern = value;
    else if (key == "--data")
      data = value;
    else if (key == "--expect")
      expect = std::stod(value);
    else
      return false;
    return true;
  }
};

// Reads the command line: `--key value` pairs, the shared options into `o` and any other through
// `own(key, value)` (false: not one of the generator's), and the keys in `flags` alone, through
// `own(key, "")`. Says on stderr what is wrong and returns false for an unknown key or one
// without its value.
template <class Own>
bool read_command_line(int argc, char** argv, const char* program, load_options& o, Own own,
                       std::initializer_list<std::string_view> flags = {}) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (std::find(flags.begin(), flags.end(), k) != flags.end()) {
      own(k, std::string());
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", program, k.c_str());
      return false;
    }
    const std::string v = argv[++i];
    if (o.read(k, v) || own(k, v)) continue;
    std::fprintf(stderr, "%s: unknown option %s\n", program, k.c_str());
    return false;
  }
  return true;
}

// One run: its window, what it served and how long each took, and what failed.
class load_run {
 public:
  explicit load_run(const char* program) : failed{program} {}

  failures failed;

  // Prints START (bench/lib.sh times its CPU samples from there) and opens the window: the
  // warm-up from now, then `seconds` measured.
  void start(const load_options& o) {
    std::printf("START\n");
    std::fflush(stdout);
    const auto now = clock_type::now();
    measure_from_ = now + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>(o.warmup));
    stop_ = measure_from_ + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(o.seconds));
  }
  bool started() const { return stop_ != clock_type::time_point{}; }
  // Whether new requests are still sent at `now`.
  bool running(clock_type::time_point now) const { return now < stop_; }
  clock_type::time_point stop() const { return stop_; }

  // A good reply, to a request sent at `sent`, arrived at `now`: counted when both lie in the
  // measured window; its latency only when `timed` (a slow request's is left out).
  void served(clock_type::time_point sent, clock_type::time_point now, bool timed = true) {
    if (sent < measure_from_ || now >= stop_) return;
    ++completed_;
    if (timed) {
      latencies_us_.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count()));
    }
  }
  std::uint64_t completed() const { return completed_; }

  // Prints the result line, one JSON object, and returns the exit status (failures::verdict).
  int finish(const load_options& o, int connections, int failed_connections) {
    report(o, connections, failed_connections);
    return failed.verdict(completed_, failed_connections);
  }
  // Prints the result line only.
  void report(const load_options& o, int connections, int failed_connections) {
    std::printf("{\"inflight\":%d,\"connections\":%d,\"seconds\":%.1f,\"requests\":%llu,",
                o.inflight, connections, o.seconds, static_cast<unsigned long long>(completed_));
    failed.print_fields();
    std::printf(
        "\"failed_connections\":%d,\"rps\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
        "\"p999_us\":%.0f}\n",
        failed_connections, static_cast<double>(completed_) / o.seconds, percentile(0.5),
        percentile(0.99), percentile(0.999));
    std::fflush(stdout);
  }

 private:
  double percentile(double q) { return bench::percentile(latencies_us_, q); }

  clock_type::time_point measure_from_, stop_;
  std::vector<std::uint32_t> latencies_us_;
  std::uint64_t completed_ = 0;
};

}  // namespace bench
