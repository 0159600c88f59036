#include "verified_tokens.hpp"

namespace roost::auth::detail {

std::optional<json::object> verified_tokens::find(std::string_view token,
                                                  std::uint64_t generation) const {
  if (capacity_ == 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(token);
  if (it == entries_.end() || it->second.generation != generation) return std::nullopt;
  return it->second.claims;
}

void verified_tokens::insert(std::string_view token, std::uint64_t generation,
                             const json::object& claims) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_) {
    std::erase_if(entries_, [&](const auto& e) { return e.second.generation != generation; });
    // Still full: start again rather than track use; a cache of verified tokens only refills
    // with tokens that verify.
    if (entries_.size() >= capacity_) entries_.clear();
  }
  entries_.insert_or_assign(std::string(token), entry{generation, claims});
}

}  // namespace roost::auth::detail
