#include <roost/nats/context.hpp>

namespace roost::nats {

context::context(json::value pattern, std::string subject, nats::headers h,
                 const json::object* metadata)
    : roost::context("nats", std::move(pattern), metadata),
      subject_(std::move(subject)),
      headers_(std::move(h)) {}

const std::string* context::header(std::string_view key) const noexcept {
  for (const auto& [k, v] : headers_) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace roost::nats
