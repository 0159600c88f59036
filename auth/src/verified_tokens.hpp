#pragma once
// Tokens whose signature held, by their exact text: a client sends the same token with many
// calls, and its signature is most of what verifying costs (docs/benchmarks.md).

#include <roost/detail/string_hash.hpp>
#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roost::auth::detail {

/// Claims of tokens verified with one generation of a key set. Only the signature and the
/// parsing are skipped for a token found here: the same bytes under the same keys and rules
/// verify the same way, while the time checks must run again. Thread-safe.
class verified_tokens {
 public:
  explicit verified_tokens(std::size_t capacity) : capacity_(capacity) {}

  /// The claims `token` had when keys of `generation` verified it.
  std::optional<json::object> find(std::string_view token, std::uint64_t generation) const;
  /// Remembers a verified token. When full, entries of other generations go first, then all.
  void insert(std::string_view token, std::uint64_t generation, const json::object& claims);

 private:
  struct entry {
    std::uint64_t generation;
    json::object claims;
  };
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry, roost::detail::string_hash, std::equal_to<>> entries_;
};

}  // namespace roost::auth::detail
