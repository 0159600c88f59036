#include "reply_partitions.hpp"

#include <algorithm>
#include <set>

namespace roost::kafka::detail {

std::vector<std::string> reply_partitions::assigned(const std::vector<held_partition>& held) {
  lowest_.clear();
  for (const auto& [topic, partition] : held) {
    auto [it, added] = lowest_.emplace(topic, partition);
    if (!added) it->second = std::min(it->second, partition);
  }
  std::vector<std::string> moved;
  if (held.empty()) return moved;
  const std::set<held_partition> now(held.begin(), held.end());
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (now.count(it->second)) {
      ++it;
    } else {
      moved.push_back(it->first);
      it = waiting_.erase(it);
    }
  }
  return moved;
}

std::optional<std::int32_t> reply_partitions::lowest(const std::string& topic) const {
  auto it = lowest_.find(topic);
  if (it == lowest_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::int32_t> reply_partitions::wait_on_lowest(std::string id,
                                                             const std::string& topic) {
  const auto p = lowest(topic);
  if (p) waiting_.insert_or_assign(std::move(id), held_partition{topic, *p});
  return p;
}

}  // namespace roost::kafka::detail
