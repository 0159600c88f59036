#pragma once

#include <functional>
#include <string_view>

namespace roost::detail {

/// Transparent hash, so that maps keyed by std::string can be searched with a string_view.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace roost::detail
