#pragma once
/// \file Converting payloads to handler argument types, with an error that names the field.

#include <roost/json.hpp>

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <boost/mp11/algorithm.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace roost::detail {

/// Where and why a payload did not convert; `path` is like `items[2].id` (empty: the payload).
struct payload_problem {
  std::string path;
  std::string expected;
};

/// Appends to `path` the member name or index that led to a problem.
void prepend_path(payload_problem& p, std::string_view segment, bool index);
/// "a string", "a number"... for the JSON kind a C++ type reads from.
std::string_view expected_kind(bool is_bool, bool is_number, bool is_string, bool is_sequence);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
std::optional<payload_problem> convert_payload(json::value& v, T& out);

template <class T>
std::optional<payload_problem> convert_described(json::value& v, T& out) {
  auto* obj = v.if_object();
  if (!obj) return payload_problem{{}, "an object"};
  std::optional<payload_problem> problem;
  using members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<members>([&](auto d) {
    if (problem) return;
    auto& field = out.*d.pointer;
    auto* member = obj->if_contains(d.name);
    if (!member) {
      if constexpr (!is_optional<std::remove_cvref_t<decltype(field)>>::value) {
        problem = payload_problem{d.name, "a value (the field is missing)"};
      }
      return;
    }
    if (auto p = convert_payload(*member, field)) {
      prepend_path(*p, d.name, false);
      problem = std::move(p);
    }
  });
  return problem;
}

template <class T>
std::optional<payload_problem> convert_payload(json::value& v, T& out) {
  if constexpr (std::is_same_v<T, json::value>) {
    out = std::move(v);
    return std::nullopt;
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return std::nullopt;
    }
    auto p = convert_payload(v, out.emplace());
    if (p) out.reset();
    return p;
  } else if constexpr (boost::describe::has_describe_members<T>::value) {
    return convert_described(v, out);
  } else if constexpr (is_vector<T>::value && !std::is_same_v<T, std::vector<bool>>) {
    auto* arr = v.if_array();
    if (!arr) return payload_problem{{}, "an array"};
    out.clear();
    out.resize(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i) {
      if (auto p = convert_payload((*arr)[i], out[i])) {
        prepend_path(*p, std::to_string(i), true);
        return p;
      }
    }
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, double>) {
    // As value_to<double> converts, without building an error code per number.
    switch (v.kind()) {
      case json::kind::double_:
        out = v.get_double();
        return std::nullopt;
      case json::kind::int64:
        out = static_cast<double>(v.get_int64());
        return std::nullopt;
      case json::kind::uint64:
        out = static_cast<double>(v.get_uint64());
        return std::nullopt;
      default:
        return payload_problem{{}, std::string(expected_kind(false, true, false, false))};
    }
  } else {
    auto r = json::try_value_to<T>(v);
    if (!r) {
      constexpr bool string_like = std::is_convertible_v<std::string, T>;
      return payload_problem{{},
                             std::string(expected_kind(
                                 std::is_same_v<T, bool>, std::is_arithmetic_v<T>, string_like,
                                 requires { typename T::value_type; }))};
    }
    out = std::move(*r);
    return std::nullopt;
  }
}

}  // namespace roost::detail
