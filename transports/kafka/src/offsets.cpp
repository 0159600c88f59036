#include "offsets.hpp"

namespace roost::kafka::detail {

std::uint32_t offset_tracker::received(const std::string& topic, std::int32_t partition,
                                       std::int64_t offset) {
  entry& e = partitions_[{topic, partition}][offset];
  e.settled = false;
  return ++e.arrivals;
}

std::optional<std::int64_t> offset_tracker::settled(const std::string& topic,
                                                    std::int32_t partition, std::int64_t offset) {
  auto p = partitions_.find({topic, partition});
  if (p == partitions_.end()) return std::nullopt;
  auto& entries = p->second;
  auto e = entries.find(offset);
  if (e == entries.end()) return std::nullopt;
  e->second.settled = true;
  std::optional<std::int64_t> next;
  while (!entries.empty() && entries.begin()->second.settled) {
    next = entries.begin()->first + 1;
    entries.erase(entries.begin());
  }
  return next;
}

void offset_tracker::forget(const std::string& topic, std::int32_t partition) {
  partitions_.erase({topic, partition});
}

std::size_t offset_tracker::tracked() const {
  std::size_t n = 0;
  for (const auto& [k, entries] : partitions_) n += entries.size();
  return n;
}

}  // namespace roost::kafka::detail
