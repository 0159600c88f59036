#pragma once
/// \file The store behind cache_interceptor: answers by key, each for a while, the least
/// recently used dropped first (private to core).

#include <roost/interceptors.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roost::detail {

/// `v` as JSON text with every object's members in byte order of their names, so that two
/// payloads equal as JSON give the same text.
void append_canonical(std::string& out, const json::value& v);

/// Thread-safe: the routes of a multi-threaded service call it at once.
class response_cache {
 public:
  using clock = std::chrono::steady_clock;
  /// A cached answer: the handler's value, or nothing for JavaScript's undefined.
  using answer = std::optional<json::value>;

  response_cache(std::chrono::milliseconds ttl, std::size_t max_entries)
      : ttl_(ttl), max_entries_(max_entries) {}

  /// The answer stored under `key`, if it has not expired (it is then the most recently used).
  std::optional<answer> find(const std::string& key);
  /// Stores `a` under `key` for the cache's time to live, dropping the least recently used
  /// entry when full.
  void store(const std::string& key, answer a);
  std::size_t size();

 private:
  struct entry {
    std::string key;
    answer value;
    clock::time_point expires;
  };
  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  std::mutex mutex_;
  std::list<entry> entries_;  // most recently used first
  // Views of the keys held by `entries_`, whose nodes never move.
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;
};

}  // namespace roost::detail
