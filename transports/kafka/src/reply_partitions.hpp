#pragma once
// A client's partitions of the reply topics it reads in its group, and the requests waiting for
// replies on them. A rebalance may give a partition a request named to another client, which
// then reads (and drops) its replies: such requests are found here, to fail them at once instead
// of at their timeout. Sans-I/O; not thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roost::kafka::detail {

class reply_partitions {
 public:
  using held_partition = std::pair<std::string, std::int32_t>;  // topic, partition

  /// After a rebalance the client holds `held` (all of its partitions; none while a rebalance
  /// is in progress). Returns the ids of the requests waiting on a partition no longer held,
  /// which are forgotten; none while nothing is held (those are judged on the next assignment).
  std::vector<std::string> assigned(const std::vector<held_partition>& held);

  /// The lowest held partition of `topic` (the one NestJS names in requests), if any.
  std::optional<std::int32_t> lowest(const std::string& topic) const;

  /// The lowest held partition of `topic`, which request `id` names for its replies from now
  /// on; none (and nothing noted) while none is held.
  std::optional<std::int32_t> wait_on_lowest(std::string id, const std::string& topic);
  /// Request `id` ended (its last reply, an error, a timeout, a cancellation).
  void ended(const std::string& id) { waiting_.erase(id); }
  std::size_t waiting_count() const { return waiting_.size(); }

 private:
  std::map<std::string, std::int32_t> lowest_;
  std::map<std::string, held_partition> waiting_;
};

}  // namespace roost::kafka::detail
