// What the load generators check of every reply (bench/loadgen, redis_loadgen, nats_loadgen):
// it answers a request in flight, it is not an error, and its `response` is the expected
// number. Anything else is counted apart, never as served, and fails the run.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace bench {

// What a NestJS reply packet says, read by scanning (the generator must not be the bottleneck).
struct reply {
  bool has_id = false, error = false, has_value = false;
  std::uint64_t id = 0;
  double value = 0;
};

inline reply read_reply(std::string_view f) {
  reply r;
  // `"err":null` (which some peers send with a value) is no error.
  if (const auto e = f.find("\"err\":"); e != std::string_view::npos) {
    auto q = e + 6;
    while (q < f.size() && f[q] == ' ') ++q;
    r.error = f.substr(q, 4) != "null";
  }
  auto p = f.rfind("\"id\":\"");
  if (p != std::string_view::npos) {
    p += 6;
    r.has_id = p < f.size() && f[p] >= '0' && f[p] <= '9';
    while (p < f.size() && f[p] >= '0' && f[p] <= '9') r.id = r.id * 10 + (f[p++] - '0');
  }
  static constexpr std::string_view key = "\"response\":";
  const auto v = f.find(key);
  if (v != std::string_view::npos) {
    const char* b = f.data() + v + key.size();
    const char* end = f.data() + f.size();
    while (b < end && *b == ' ') ++b;
    r.has_value = std::from_chars(b, end, r.value).ec == std::errc();
  }
  return r;
}

// The failures of a run, over all of it (warm-up and drain included).
struct failures {
  const char* program;
  std::uint64_t errors = 0, wrong = 0, unknown = 0, lost = 0;
  int reported = 0;

  // Counts a reply that answers a request in flight: true when it is a good one.
  bool check(const reply& r, double expected, std::string_view frame) {
    if (r.error) {
      ++errors;
      complain("an error reply", frame);
      return false;
    }
    if (!r.has_value || r.value != expected) {
      ++wrong;
      complain("a wrong value", frame);
      return false;
    }
    return true;
  }
  void not_in_flight(std::string_view frame) {
    ++unknown;
    complain("a reply to no request in flight", frame);
  }
  void complain(const char* what, std::string_view frame) {
    if (reported++ < 5) {
      std::fprintf(stderr, "%s: %s: %.*s\n", program, what,
                   static_cast<int>(std::min<std::size_t>(frame.size(), 300)), frame.data());
    }
  }
  std::uint64_t total() const { return errors + wrong + unknown + lost; }

  // The JSON fields `"errors":..,"wrong":..,"unknown":..,"lost":..` (no braces).
  void print_fields() const {
    std::printf("\"errors\":%llu,\"wrong\":%llu,\"unknown\":%llu,\"lost\":%llu,",
                static_cast<unsigned long long>(errors), static_cast<unsigned long long>(wrong),
                static_cast<unsigned long long>(unknown), static_cast<unsigned long long>(lost));
  }
  // The exit status of the run: 1, with the reasons on stderr, on any failure or none served.
  int verdict(std::uint64_t served, int failed_connections = 0) const {
    if (total() == 0 && failed_connections == 0 && served > 0) return 0;
    std::fprintf(stderr,
                 "%s: FAILED: %llu error replies, %llu wrong values, %llu replies to no request, "
                 "%llu requests never answered, %d failed connections, %llu served\n",
                 program, static_cast<unsigned long long>(errors),
                 static_cast<unsigned long long>(wrong), static_cast<unsigned long long>(unknown),
                 static_cast<unsigned long long>(lost), failed_connections,
                 static_cast<unsigned long long>(served));
    return 1;
  }
};

}  // namespace bench
