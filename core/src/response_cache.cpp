#include "response_cache.hpp"

#include <roost/detail/json_writer.hpp>

#include <algorithm>
#include <vector>

namespace roost::detail {

void append_canonical(std::string& out, const json::value& v) {
  if (const json::object* o = v.if_object()) {
    std::vector<const json::key_value_pair*> members;
    members.reserve(o->size());
    for (const auto& m : *o) members.push_back(&m);
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out += ',';
      write_json_string(members[i]->key(), out);
      out += ':';
      append_canonical(out, members[i]->value());
    }
    out += '}';
  } else if (const json::array* a = v.if_array()) {
    out += '[';
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ',';
      append_canonical(out, (*a)[i]);
    }
    out += ']';
  } else {
    write_json(v, out);
  }
}

std::optional<response_cache::answer> response_cache::find(const std::string& key) {
  const std::lock_guard lock(mutex_);
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= clock::now()) {
    entries_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->value;
}

void response_cache::store(const std::string& key, answer a) {
  const std::lock_guard lock(mutex_);
  const auto expires = clock::now() + ttl_;
  if (const auto it = index_.find(key); it != index_.end()) {
    it->second->value = std::move(a);
    it->second->expires = expires;
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  if (entries_.size() == max_entries_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  entries_.push_front(entry{key, std::move(a), expires});
  index_.emplace(entries_.front().key, entries_.begin());
}

std::size_t response_cache::size() {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace roost::detail
