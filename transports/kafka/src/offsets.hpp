#pragma once
// Which offsets a server may commit: a partition's records are served concurrently and may end
// in any order, and the group's offset (the next record to read) may only move past a record
// once it and every record before it are settled. Sans-I/O; not thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace roost::kafka::detail {

class offset_tracker {
 public:
  /// A record of `topic`/`partition` at `offset` arrived; one that arrives again (read again
  /// after a seek) is unsettled again. Returns how many times it arrived while unsettled or
  /// settled but not committed past (1 the first time).
  std::uint32_t received(const std::string& topic, std::int32_t partition, std::int64_t offset);

  /// The record is settled. Returns the offset to commit (the next one to read) when the
  /// partition's commit point moved, nullopt when an earlier record is still unsettled (or the
  /// partition is not tracked).
  std::optional<std::int64_t> settled(const std::string& topic, std::int32_t partition,
                                      std::int64_t offset);

  /// The partition was taken away: what is tracked of it is forgotten.
  void forget(const std::string& topic, std::int32_t partition);
  void forget_all() { partitions_.clear(); }

  /// Records tracked (unsettled, or settled behind an unsettled one): for tests.
  std::size_t tracked() const;

 private:
  struct entry {
    bool settled = false;
    std::uint32_t arrivals = 0;
  };
  using key = std::pair<std::string, std::int32_t>;
  std::map<key, std::map<std::int64_t, entry>> partitions_;
};

}  // namespace roost::kafka::detail
