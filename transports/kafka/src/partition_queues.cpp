#include "partition_queues.hpp"

namespace roost::kafka::detail {

void partition_queues::make_ready(const key& k, queue& q) {
  if (q.busy || q.ready || q.records.empty()) return;
  q.ready = true;
  ready_.push_back(k);
}

bool partition_queues::push(record r) {
  key k{r.topic, r.partition};
  queue& q = queues_[k];
  if (q.resume) {
    if (r.offset != *q.resume) return false;
    q.resume.reset();
  }
  q.records.push_back(std::move(r));
  ++waiting_;
  make_ready(k, q);
  return true;
}

std::optional<record> partition_queues::next() {
  while (busy_ < limit_ && !ready_.empty()) {
    key k = std::move(ready_.front());
    ready_.pop_front();
    auto it = queues_.find(k);
    if (it == queues_.end()) continue;
    queue& q = it->second;
    q.ready = false;
    if (q.busy || q.records.empty()) continue;  // cleared or rewound meanwhile
    record r = std::move(q.records.front());
    q.records.pop_front();
    --waiting_;
    q.busy = true;
    ++busy_;
    return r;
  }
  return std::nullopt;
}

void partition_queues::done(const key& k) {
  auto it = queues_.find(k);
  if (it == queues_.end() || !it->second.busy) return;
  it->second.busy = false;
  --busy_;
  make_ready(k, it->second);
}

void partition_queues::rewind(const key& k, std::int64_t offset) {
  queue& q = queues_[k];
  waiting_ -= q.records.size();
  q.records.clear();
  q.resume = offset;
}

void partition_queues::clear() {
  for (auto& [k, q] : queues_) {
    waiting_ -= q.records.size();
    q.records.clear();
    q.resume.reset();
  }
}

}  // namespace roost::kafka::detail
