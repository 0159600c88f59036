#pragma once
/// \file detail::value_writer: a borrowed "append this JSON value" callable.

#include <string>
#include <type_traits>

namespace roost::detail {

/// Appends one JSON value's text to a string: a reference to a callable `void(std::string&)`
/// that lives as long as the call it is passed to (no copy, no allocation), for replies written
/// straight from a typed handler's result.
class value_writer {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, value_writer>) value_writer(const F& f)
  noexcept  // implicit: a lambda is passed where a writer is taken
      : obj_(&f),
        call_([](const void* o, std::string& out) { (*static_cast<const F*>(o))(out); }) {}

  void operator()(std::string& out) const { call_(obj_, out); }

 private:
  const void* obj_;
  void (*call_)(const void*, std::string&);
};

}  // namespace roost::detail
