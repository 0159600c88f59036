#include <roost/deadline.hpp>

#include <charconv>

namespace roost {

std::string format_deadline(deadline_point d) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(d.time_since_epoch()).count();
  return std::to_string(ms);
}

std::optional<deadline_point> parse_deadline(std::string_view text) noexcept {
  long long ms = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, ms);
  if (ec != std::errc() || p != end || text.empty() || ms < 0) return std::nullopt;
  return deadline_point(std::chrono::milliseconds(ms));
}

}  // namespace roost
