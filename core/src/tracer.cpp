#include <roost/context.hpp>
#include <roost/tracer.hpp>

#include <algorithm>
#include <cstring>
#include <random>

namespace roost {

std::string_view to_string(span_kind k) noexcept {
  switch (k) {
    case span_kind::internal:
      return "internal";
    case span_kind::server:
      return "server";
    case span_kind::client:
      return "client";
    case span_kind::producer:
      return "producer";
    case span_kind::consumer:
      return "consumer";
  }
  return "?";
}

bool span::is_root() const noexcept {
  return std::all_of(parent.begin(), parent.end(), [](std::uint8_t b) { return b == 0; });
}

tracer::tracer(std::shared_ptr<span_sink> sink)
    : sink_(std::move(sink)),
      random_state_((std::uint64_t{std::random_device{}()} << 32) | std::random_device{}()) {}

// splitmix64: ids need to be unique, not secret; lock-free for threads serving at once.
std::uint64_t tracer::random() {
  for (;;) {
    std::uint64_t z = random_state_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed) +
                      0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    // Zero is no id: an all-zero span or trace id is invalid.
    if (z != 0) return z;
  }
}

span tracer::start(span_kind kind, std::string name, const trace_context* parent) {
  span s;
  s.kind = kind;
  s.name = std::move(name);
  if (parent) {
    s.context.trace = parent->trace;
    s.context.flags = parent->flags;
    s.context.state = parent->state;
    s.parent = parent->span;
  } else {
    const std::uint64_t hi = random();
    const std::uint64_t lo = random();
    std::memcpy(s.context.trace.data(), &hi, 8);
    std::memcpy(s.context.trace.data() + 8, &lo, 8);
    s.context.flags = 1;  // sampled: this service records what it starts
  }
  const std::uint64_t id = random();
  std::memcpy(s.context.span.data(), &id, 8);
  s.start = std::chrono::system_clock::now();
  return s;
}

void tracer::finish(span&& s) noexcept {
  s.end = std::chrono::system_clock::now();
  if (s.context.sampled() && sink_) sink_->export_span(std::move(s));
}

observation tracer::begin(const context& ctx, bool routed) noexcept {
  try {
    const auto parent = read_trace_context(ctx.headers());
    const auto kind = ctx.is_request() ? span_kind::server : span_kind::consumer;
    // A name of a bounded set: the route when the router serves it, else one name for all.
    auto s = std::make_unique<span>(
        start(kind, routed ? ctx.route() : std::string("unmatched"), parent ? &*parent : nullptr));
    s->attributes.emplace_back("roost.transport", std::string(ctx.transport()));
    s->attributes.emplace_back("roost.pattern", ctx.route());
    ctx.span_ = std::move(s);
  } catch (...) {
    // No memory for a span: the message is served untraced.
  }
  return next_ ? next_->begin(ctx, routed) : observation{};
}

void tracer::end(const context& ctx, const served_message& m, observation o) noexcept {
  if (next_) next_->end(ctx, m, o);
  auto s = std::move(ctx.span_);
  if (!s) return;
  try {
    s->attributes.emplace_back("roost.outcome", std::string(to_string(m.outcome)));
    if (m.outcome != serving_outcome::ok) {
      s->error = true;
      if (s->status_message.empty()) s->status_message = std::string(to_string(m.outcome));
    }
  } catch (...) {
  }
  finish(std::move(*s));
}

namespace detail {

void fail_span(span& s, const std::exception_ptr& failure) noexcept {
  s.error = true;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    try {
      s.status_message = e.what();
    } catch (...) {
    }
  } catch (...) {
    try {
      s.status_message = "unknown error";
    } catch (...) {
    }
  }
}

}  // namespace detail

}  // namespace roost
