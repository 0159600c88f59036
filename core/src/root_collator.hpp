#pragma once
// ICU's root collator, as V8 sets it up for String.prototype.localeCompare, loaded on first use.

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace roost::detail {

/// Compares strings as JavaScript's a.localeCompare(b) in the root locale.
///
/// ICU is opened with dlopen the first time a comparison needs it, not linked: its libraries
/// cost an idle process ~1.6 MB of resident memory at load time, and a service whose pattern
/// keys are all printable ASCII (compared without ICU, see route.cpp) never needs them.
/// Thread-safe: only ICU's const collation API is used after opening.
class root_collator {
 public:
  root_collator();
  ~root_collator();
  root_collator(const root_collator&) = delete;
  root_collator& operator=(const root_collator&) = delete;

  /// <0, 0 or >0; nullopt when ICU or its collation data cannot be loaded.
  std::optional<int> compare(std::string_view a, std::string_view b) const;

 private:
  struct library;
  const library* open() const;
  mutable std::once_flag opened_;
  mutable std::unique_ptr<library> lib_;
};

}  // namespace roost::detail
