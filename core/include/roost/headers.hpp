#pragma once
/// \file roost::headers: the metadata a message carries beside its payload, whatever the
/// transport (NestJS 12 packet metadata, NATS headers, and the AMQP headers, Kafka headers,
/// MQTT 5 user properties, gRPC metadata and WebSocket upgrade headers of the coming
/// transports).

#include <roost/json.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost {

/// Name-value pairs in the order they came; a name may repeat (NATS, gRPC and HTTP allow it).
/// Names compare exactly: transports whose protocol folds case (gRPC, HTTP) hand them over
/// lowercased, as their libraries do.
class headers {
 public:
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;

  headers() = default;
  headers(std::initializer_list<value_type> items) : items_(items) {}

  /// The first value of `name`, or nullptr.
  const std::string* get(std::string_view name) const noexcept;
  /// Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept { return get(name) != nullptr; }

  /// Adds a value; earlier values of the same name stay.
  void add(std::string name, std::string value);
  /// Replaces every value of `name` with this one.
  void set(std::string_view name, std::string value);
  /// Removes every value of `name`; returns how many went.
  std::size_t erase(std::string_view name);
  void clear() noexcept { items_.clear(); }

  bool empty() const noexcept { return items_.empty(); }
  std::size_t size() const noexcept { return items_.size(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }

  /// NestJS 12 packet metadata (`Record<string, string>`) as headers: string values as they
  /// are, other values as their JSON text.
  static headers from_metadata(const json::object& metadata);
  /// The headers as NestJS 12 packet metadata: the first value of each name.
  json::object to_metadata() const;

  friend bool operator==(const headers&, const headers&) = default;

 private:
  std::vector<value_type> items_;
};

}  // namespace roost
