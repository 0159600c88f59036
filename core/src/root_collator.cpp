#include "root_collator.hpp"

// The C API's declarations only, for its types and versioned symbol names: nothing of ICU is
// linked.
#include <unicode/ucol.h>
#include <unicode/uvernum.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#define ROOST_ICU_STR2(x) #x
#define ROOST_ICU_STR(x) ROOST_ICU_STR2(x)
// ucol_open is a macro for the versioned name (ucol_open_72): the string is the real symbol.
#define ROOST_ICU_SYMBOL(f) ROOST_ICU_STR(f)

namespace roost::detail {

struct root_collator::library {
  void* handle = nullptr;
  UCollator* collator = nullptr;
  decltype(&ucol_strcollUTF8) strcoll = nullptr;
  decltype(&ucol_close) close = nullptr;

  ~library() {
    if (collator && close) close(collator);
    if (handle) dlclose(handle);
  }
};

root_collator::root_collator() = default;
root_collator::~root_collator() = default;

const root_collator::library* root_collator::open() const {
  std::call_once(opened_, [this] {
    auto lib = std::make_unique<library>();
    // The collation service lives in i18n, which brings in uc and the data library.
    // RTLD_NODELETE: ICU keeps process-wide caches that its own code owns and never frees;
    // unloading it on dlclose would leave them unreachable (a leak per close, 13.5 KB), so it
    // stays mapped once opened and a later open is a reference count.
    lib->handle = dlopen("libicui18n.so." ROOST_ICU_STR(U_ICU_VERSION_MAJOR_NUM),
                         RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!lib->handle) return;
    auto open =
        reinterpret_cast<decltype(&ucol_open)>(dlsym(lib->handle, ROOST_ICU_SYMBOL(ucol_open)));
    auto set_strength = reinterpret_cast<decltype(&ucol_setStrength)>(
        dlsym(lib->handle, ROOST_ICU_SYMBOL(ucol_setStrength)));
    auto set_attribute = reinterpret_cast<decltype(&ucol_setAttribute)>(
        dlsym(lib->handle, ROOST_ICU_SYMBOL(ucol_setAttribute)));
    lib->strcoll = reinterpret_cast<decltype(&ucol_strcollUTF8)>(
        dlsym(lib->handle, ROOST_ICU_SYMBOL(ucol_strcollUTF8)));
    lib->close =
        reinterpret_cast<decltype(&ucol_close)>(dlsym(lib->handle, ROOST_ICU_SYMBOL(ucol_close)));
    if (!open || !set_strength || !set_attribute || !lib->strcoll || !lib->close) return;
    UErrorCode status = U_ZERO_ERROR;
    lib->collator = open("", &status);  // "": the root locale
    if (U_FAILURE(status) || !lib->collator) return;
    // What V8 sets up for localeCompare: tertiary strength ("variant" sensitivity) and, as
    // ECMA-402 requires, canonically equivalent strings comparing equal.
    set_strength(lib->collator, UCOL_TERTIARY);
    set_attribute(lib->collator, UCOL_NORMALIZATION_MODE, UCOL_ON, &status);
    if (U_FAILURE(status)) return;
    lib_ = std::move(lib);
  });
  return lib_.get();
}

std::optional<int> root_collator::compare(std::string_view a, std::string_view b) const {
  const library* lib = open();
  if (!lib) return std::nullopt;
  constexpr std::size_t max_len = std::numeric_limits<std::int32_t>::max();
  UErrorCode status = U_ZERO_ERROR;
  const UCollationResult r =
      lib->strcoll(lib->collator, a.data(), static_cast<std::int32_t>(std::min(a.size(), max_len)),
                   b.data(), static_cast<std::int32_t>(std::min(b.size(), max_len)), &status);
  if (U_FAILURE(status)) return std::nullopt;  // allocation failure inside ICU
  return r == UCOL_LESS ? -1 : r == UCOL_GREATER ? 1 : 0;
}

}  // namespace roost::detail
