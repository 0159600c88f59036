#include <roost/context.hpp>

#include <algorithm>

#include <roost/deadline.hpp>
#include <roost/log.hpp>
#include <roost/tracer.hpp>

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

const trace_context* context::trace() const noexcept {
  return span_ ? &span_->context : nullptr;
}

void context::log(log_level level, std::string_view message) const {
  if (log_) log_->log(level, transport_, message, trace());
}

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

std::optional<std::chrono::system_clock::time_point> context::deadline() const {
  if (deadline_read_) return deadline_;
  deadline_read_ = true;
  // Read where the message put it, without deriving the headers from the metadata.
  if (metadata_ && !derived_) {
    if (const auto* v = metadata_->if_contains(deadline_header)) {
      if (const auto* s = v->if_string()) {
        deadline_ = parse_deadline(*s);
      } else if (const auto* n = v->if_int64(); n && *n >= 0) {
        deadline_ = deadline_point(std::chrono::milliseconds(*n));
      }
    }
  } else if (const auto* h = headers_.get(deadline_header)) {
    deadline_ = parse_deadline(*h);
  }
  return deadline_;
}

std::optional<std::chrono::milliseconds> context::remaining() const {
  const auto d = deadline();
  if (!d) return std::nullopt;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*d - std::chrono::system_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

void context::accept_settlement(acknowledgement a) {
  policy_ = a.policy;
  settle_ = std::move(a.settle);
}

void context::settle(settlement s) {
  settled_ = true;
  settled_as_ = s;
  settle_(s);
}

bool context::settle_for_handler(settlement s, std::string_view what) {
  if (!settle_) return false;
  if (settled_) {
    if (log_) {
      log_->log(log_level::warn, transport_,
                std::string(what) + " on a message of \"" + route_ +
                    "\" ignored: it was settled already (" + std::string(to_string(settled_as_)) +
                    ")",
                trace());
    }
    return false;
  }
  if (auto why = settle_refusal(); !why.empty()) {
    if (log_) {
      log_->log(log_level::warn, transport_,
                std::string(what) + " on a message of \"" + route_ + "\" refused: " + why, trace());
    }
    return false;
  }
  settle(s);
  return true;
}

bool context::ack() {
  return settle_for_handler(settlement::ack, "ack()");
}

bool context::nack(bool requeue) {
  if (!settle_) return false;
  return settle_for_handler(requeue ? settlement::redeliver : rejection(),
                            requeue ? "nack(true)" : "nack(false)");
}

void context::finish() {
  if (!settle_ || settled_ || policy_.manual) return;
  if (auto why = settle_refusal(); !why.empty()) {
    if (log_ && log_->enabled(log_level::debug)) {
      log_->debug(transport_, "a message of \"" + route_ + "\" left unsettled: " + why);
    }
    return;
  }
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

std::string_view to_string(serving_outcome o) noexcept {
  switch (o) {
    case serving_outcome::ok:
      return "ok";
    case serving_outcome::handler_error:
      return "handler_error";
    case serving_outcome::internal_error:
      return "internal_error";
    case serving_outcome::no_handler:
      return "no_handler";
    case serving_outcome::invalid_payload:
      return "invalid_payload";
    case serving_outcome::forbidden:
      return "forbidden";
    case serving_outcome::too_large:
      return "too_large";
    case serving_outcome::overloaded:
      return "overloaded";
    case serving_outcome::expired:
      return "expired";
    case serving_outcome::shutting_down:
      return "shutting_down";
  }
  return "?";
}

}  // namespace roost
