#include <roost/headers.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace roost {

const std::string* headers::get(std::string_view name) const noexcept {
  for (const auto& [k, v] : items_) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : items_) {
    if (k == name) out.emplace_back(v);
  }
  return out;
}

void headers::add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
}

void headers::set(std::string_view name, std::string value) {
  auto first = std::find_if(items_.begin(), items_.end(),
                            [&](const value_type& item) { return item.first == name; });
  if (first == items_.end()) {
    items_.emplace_back(std::string(name), std::move(value));
    return;
  }
  first->second = std::move(value);
  items_.erase(std::remove_if(std::next(first), items_.end(),
                              [&](const value_type& item) { return item.first == name; }),
               items_.end());
}

std::size_t headers::erase(std::string_view name) {
  return std::erase_if(items_, [&](const value_type& item) { return item.first == name; });
}

headers headers::from_metadata(const json::object& metadata) {
  headers h;
  h.items_.reserve(metadata.size());
  for (const auto& [k, v] : metadata) {
    h.items_.emplace_back(std::string(k),
                          v.is_string() ? std::string(v.get_string()) : json::serialize(v));
  }
  return h;
}

json::object headers::to_metadata() const {
  json::object o;
  for (const auto& [k, v] : items_) {
    if (!o.contains(k)) o[k] = v;
  }
  return o;
}

}  // namespace roost
