#include <roost/router.hpp>

namespace roost {

router::router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;
router::~router() = default;

router::entry& router::slot(json::value pattern) {
  // The router's own normalizer. A normalizer per registration would not keep ICU's 3.5 MB off
  // an idle service: ICU stays loaded once opened, since its process-wide caches outlive any
  // close (root_collator).
  auto route = normalizer_.route(pattern);
  if (auto it = index_.find(route); it != index_.end()) return *entries_[it->second];
  index_.emplace(route, entries_.size());
  entries_.push_back(
      std::make_unique<entry>(entry{std::move(route), std::move(pattern), {}, {}, {}, {}}));
  return *entries_.back();
}

router& router::add_message(json::value pattern, detail::erased_handler h) {
  slot(std::move(pattern)).message = std::move(h);
  return *this;
}

router& router::add_event(json::value pattern, detail::erased_handler h) {
  slot(std::move(pattern)).events.push_back(std::move(h));
  return *this;
}

router& router::set_extras(json::value pattern, json::object extras) {
  if (!extras.empty()) slot(std::move(pattern)).extras = std::move(extras);
  return *this;
}

enhancers& router::enhance(json::value pattern) {
  return slot(std::move(pattern)).scope;
}

const router::entry* router::find(std::string_view route) const {
  auto it = index_.find(route);
  if (it == index_.end()) return nullptr;
  const entry* e = entries_[it->second].get();
  return e->message || !e->events.empty() ? e : nullptr;
}

std::vector<const router::entry*> router::entries() const {
  std::vector<const entry*> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    // A route given enhancers but no handler yet is not served.
    if (e->message || !e->events.empty()) out.push_back(e.get());
  }
  return out;
}

}  // namespace roost
