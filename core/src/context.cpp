#include <roost/context.hpp>

namespace roost {

context::context(std::string_view transport, json::value&& pattern,
                 std::optional<json::object>&& metadata, roost::headers&& h)
    : transport_(transport),
      pattern_(std::move(pattern)),
      metadata_(std::move(metadata)),
      headers_(std::move(h)) {}

context::context(std::string_view transport, const json::value& pattern,
                 std::optional<json::object> metadata, roost::headers h)
    : context(transport, json::value(pattern), std::move(metadata), std::move(h)) {}

context::~context() = default;

const json::object* context::metadata() const {
  if (!metadata_ && !derived_ && !headers_.empty()) {
    metadata_ = headers_.to_metadata();
    derived_ = true;
  }
  return metadata_ ? &*metadata_ : nullptr;
}

const roost::headers& context::headers() const {
  if (headers_.empty() && !derived_ && metadata_) {
    headers_ = headers::from_metadata(*metadata_);
    derived_ = true;
  }
  return headers_;
}

void context::accept_settlement(acknowledgement a) {
  policy_ = a.policy;
  settle_ = std::move(a.settle);
}

void context::settle(settlement s) {
  settled_ = true;
  settle_(s);
}

bool context::ack() {
  if (!settle_ || settled_) return false;
  settle(settlement::ack);
  return true;
}

bool context::nack(bool requeue) {
  if (!settle_ || settled_) return false;
  if (requeue) {
    settle(settlement::redeliver);
  } else {
    settle(policy_.on_failure == failure_outcome::dead_letter ? settlement::dead_letter
                                                              : settlement::drop);
  }
  return true;
}

void context::finish() {
  if (!settle_ || settled_ || policy_.manual) return;
  settle(settle_after_serving(request_, failed_, policy_));
}

std::string_view to_string(settlement s) noexcept {
  switch (s) {
    case settlement::ack:
      return "ack";
    case settlement::redeliver:
      return "redeliver";
    case settlement::dead_letter:
      return "dead-letter";
    case settlement::drop:
      return "drop";
  }
  return "?";
}

}  // namespace roost
