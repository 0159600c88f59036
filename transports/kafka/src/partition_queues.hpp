#pragma once
// The records a server has read and not yet served, a queue per partition: a partition's
// records are served one after the other, in order, and at most `limit` partitions have one
// being served at once (NestJS's `partitionsConsumedConcurrently`), the waiting partitions
// taking turns. Sans-I/O; not thread-safe.

#include <roost/kafka/detail/record.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace roost::kafka::detail {

class partition_queues {
 public:
  using key = std::pair<std::string, std::int32_t>;

  explicit partition_queues(std::size_t limit) : limit_(limit == 0 ? 1 : limit) {}

  /// A record read from the consumer. Dropped (false) while its partition is being read again
  /// from an offset (rewind()) and this is not the record there yet: it is one read before, and
  /// comes again after that one.
  bool push(record r);

  /// The next record to serve, if a partition may start one: its partition counts as busy
  /// until done().
  std::optional<record> next();

  /// The record taken from `k` by next() was served.
  void done(const key& k);

  /// `k` is read again from `offset`: what is waiting of it is dropped, and so is what arrives
  /// before the record at `offset`.
  void rewind(const key& k, std::int64_t offset);

  /// The group took the partitions back: what waits is dropped (records being served finish).
  void clear();

  std::size_t waiting() const noexcept { return waiting_; }
  std::size_t busy() const noexcept { return busy_; }

 private:
  struct queue {
    std::deque<record> records;
    bool busy = false;
    bool ready = false;                  // in ready_
    std::optional<std::int64_t> resume;  // rewound: records before this one are dropped
  };
  void make_ready(const key& k, queue& q);

  std::size_t limit_;
  std::size_t busy_ = 0;
  std::size_t waiting_ = 0;
  std::map<key, queue> queues_;
  std::deque<key> ready_;  // partitions with records waiting and none being served, in turn
};

}  // namespace roost::kafka::detail
