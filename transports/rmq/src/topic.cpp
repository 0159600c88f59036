#include "topic.hpp"

#include <vector>

namespace roost::rmq::detail {

namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    const auto end = s.find('.', at);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(at));
      return out;
    }
    out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
}

}  // namespace

bool topic_matches(std::string_view pattern, std::string_view key) {
  if (key.empty()) return pattern == "#";
  const auto ps = words(pattern), ks = words(key);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    // A missing or empty word of the key (a falsy segment in NestJS's matcher).
    const std::string_view k = i < ks.size() ? ks[i] : std::string_view();
    if (k.empty() && ps[i].empty()) continue;
    if (k.empty() && ps[i] != "#") return false;
    if (ps[i] == "#") return i + 1 == ps.size();
    if (ps[i] != "*" && ps[i] != k) return false;
  }
  return ps.size() == ks.size();
}

bool is_wildcard(std::string_view route) noexcept {
  return route.find_first_of("*#") != std::string_view::npos;
}

}  // namespace roost::rmq::detail
