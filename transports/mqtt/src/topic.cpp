#include "topic.hpp"

namespace roost::mqtt::detail {

namespace {

constexpr std::string_view share = "$share/";

// The next level of `s` from `pos`, and `pos` moved past its separator (npos after the last).
std::string_view next_level(std::string_view s, std::size_t& pos) noexcept {
  const std::size_t slash = s.find('/', pos);
  std::string_view level = s.substr(pos, slash == std::string_view::npos ? s.npos : slash - pos);
  pos = slash == std::string_view::npos ? std::string_view::npos : slash + 1;
  return level;
}

}  // namespace

std::string_view without_share_prefix(std::string_view filter) noexcept {
  if (!filter.starts_with(share)) return filter;
  const std::size_t group_end = filter.find('/', share.size());
  if (group_end == std::string_view::npos) return filter;
  return filter.substr(group_end + 1);
}

bool is_filter(std::string_view route) noexcept {
  return route.starts_with(share) || route.find_first_of("+#") != std::string_view::npos;
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
  std::size_t f = 0, t = 0;
  while (f != std::string_view::npos) {
    const std::string_view want = next_level(filter, f);
    if (want == "#") return f == std::string_view::npos;  // only as the last level
    if (t == std::string_view::npos) return false;        // the topic has fewer levels
    const std::string_view got = next_level(topic, t);
    // As NestJS: `+` takes a level that is not empty (the broker's rule would take an empty
    // one too, which NestJS then finds no handler for).
    if (want == "+" ? got.empty() : want != got) return false;
  }
  return t == std::string_view::npos;
}

}  // namespace roost::mqtt::detail
