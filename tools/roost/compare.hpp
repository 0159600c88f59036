#pragma once
// How `roost replay` and `roost shadow` compare two outcomes of one request: exact JSON
// equality, but for the paths the user ignores (--ignore) or compares by type only (--loose).

#include <roost/json.hpp>

#include <boost/json/array.hpp>

#include <optional>
#include <string>
#include <vector>

namespace roost::cli {

/// What a request came to: its reply values in order, and the error that ended it, if any.
struct outcome {
  json::array replies;
  std::optional<json::value> error;
};

/// One place where two outcomes differ, in words.
struct difference {
  std::string where;  ///< `reply[0]/total`, `error`, `replies` (their count)
  std::string expected, got;
};

/// Paths inside each reply value (and inside the error), JSON-pointer-like: `/total`,
/// `/items/*/id` (`*` is any key or index; `~1` is `/` and `~0` is `~` in a key). A path also
/// covers what is below it.
class compare_rules {
 public:
  /// Throws std::invalid_argument naming a path that does not start with `/`.
  compare_rules(const std::vector<std::string>& ignore, const std::vector<std::string>& loose);
  compare_rules() = default;

  /// Appends to `out` every difference of `got` from `expected`.
  void compare(const outcome& expected, const outcome& got, std::vector<difference>& out) const;

 private:
  using path = std::vector<std::string>;
  enum class rule { exact, ignore, loose };
  rule rule_at(const path& at) const;
  void compare_value(const json::value& want, const json::value& got, path& at,
                     const std::string& prefix, std::vector<difference>& out) const;

  std::vector<path> ignore_, loose_;
};

/// A JSON value cut to about `max` characters for a report line.
std::string short_json(const json::value& v, std::size_t max = 120);

}  // namespace roost::cli
