#include <roost/observability/server_metrics.hpp>

#include <roost/context.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace roost::observability {
namespace {

constexpr std::array<double, 16> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                           1,      2.5,     5,      10};
constexpr std::size_t outcomes = static_cast<std::size_t>(serving_outcome::shutting_down) + 1;

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// The messages of one transport, pattern and kind. Counted with relaxed atomics: a scrape
// may see a message in the total and not yet in the histogram, never a torn value.
struct series {
  std::atomic<std::int64_t> in_flight{0};
  std::array<std::atomic<std::uint64_t>, outcomes> by_outcome{};
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets{};
  std::atomic<std::uint64_t> sum_ns{0};
};

// (transport, pattern, request), looked up without building a string.
struct key_view {
  std::string_view transport, pattern;
  bool request;
};
struct key {
  std::string transport, pattern;
  bool request;
};
struct key_hash {
  using is_transparent = void;
  std::size_t operator()(const key_view& k) const noexcept {
    // The transports are a handful of short names: their size and first letter tell them
    // apart well enough, without hashing them.
    const std::size_t t = k.transport.size() * 131 +
                          (k.transport.empty() ? 0u : static_cast<unsigned char>(k.transport[0]));
    return std::hash<std::string_view>{}(k.pattern) ^ (t << 1) ^ (k.request ? 1 : 0);
  }
  std::size_t operator()(const key& k) const noexcept {
    return (*this)(key_view{k.transport, k.pattern, k.request});
  }
};
struct key_equal {
  using is_transparent = void;
  static key_view view(const key& k) noexcept { return {k.transport, k.pattern, k.request}; }
  static key_view view(const key_view& k) noexcept { return k; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    const auto x = view(a), y = view(b);
    return x.request == y.request && x.transport == y.transport && x.pattern == y.pattern;
  }
};

}  // namespace

struct server_metrics::impl {
  // Found under the shared lock; added under the exclusive one, once per series. A series is
  // never removed: begin() hands its address to end().
  mutable std::shared_mutex mutex;
  std::unordered_map<key, std::unique_ptr<series>, key_hash, key_equal> all;

  series& find(const key_view& k) {
    {
      std::shared_lock lock(mutex);
      if (auto it = all.find(k); it != all.end()) return *it->second;
    }
    std::unique_lock lock(mutex);
    auto& s = all[key{std::string(k.transport), std::string(k.pattern), k.request}];
    if (!s) s = std::make_unique<series>();
    return *s;
  }
};

std::span<const double> server_metrics::latency_bounds() noexcept {
  return bounds;
}

server_metrics::server_metrics() : impl_(std::make_unique<impl>()) {}
server_metrics::~server_metrics() = default;

observation server_metrics::begin(const context& ctx, bool routed) noexcept {
  observation o;
  try {
    const std::string_view pattern = routed ? std::string_view(ctx.route()) : unmatched_pattern;
    auto& s = impl_->find({ctx.transport(), pattern, ctx.is_request()});
    s.in_flight.fetch_add(1, std::memory_order_relaxed);
    o.state = &s;
  } catch (...) {
    // Out of memory for a new series: this message goes uncounted.
  }
  o.value = now_ns();
  return o;
}

void server_metrics::end(const context&, const served_message& m, observation o) noexcept {
  if (!o.state) return;
  auto& s = *static_cast<series*>(o.state);
  const std::uint64_t took = now_ns() - o.value;
  s.in_flight.fetch_sub(1, std::memory_order_relaxed);
  s.by_outcome[static_cast<std::size_t>(m.outcome)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = static_cast<double>(took) * 1e-9;
  const auto b = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) -
                                          bounds.begin());
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(took, std::memory_order_relaxed);
}

std::uint64_t server_metrics::count(std::string_view transport, std::string_view pattern,
                                    bool request, serving_outcome outcome) const {
  std::shared_lock lock(impl_->mutex);
  auto it = impl_->all.find(key_view{transport, pattern, request});
  if (it == impl_->all.end()) return 0;
  return it->second->by_outcome[static_cast<std::size_t>(outcome)].load();
}

std::int64_t server_metrics::in_flight(std::string_view transport) const {
  std::shared_lock lock(impl_->mutex);
  std::int64_t n = 0;
  for (const auto& [k, s] : impl_->all) {
    if (k.transport == transport) n += s->in_flight.load(std::memory_order_relaxed);
  }
  return n;
}

void server_metrics::write(prometheus_writer& out) const {
  // A snapshot of the series, sorted, so that scrapes list them in a stable order.
  std::vector<std::pair<key_view, const series*>> rows;
  std::map<std::string_view, std::int64_t> gauges;  // in flight, by transport
  std::shared_lock lock(impl_->mutex);
  for (const auto& [k, s] : impl_->all) {
    rows.emplace_back(key_equal::view(k), s.get());
    gauges[k.transport] += s->in_flight.load(std::memory_order_relaxed);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.transport, a.first.pattern, a.first.request) <
           std::tie(b.first.transport, b.first.pattern, b.first.request);
  });

  out.family("roost_server_messages_total",
             "Messages the service handled, by transport, pattern, kind and outcome.",
             metric_type::counter);
  for (const auto& [k, s] : rows) {
    for (std::size_t o = 0; o < outcomes; ++o) {
      const auto n = s->by_outcome[o].load(std::memory_order_relaxed);
      if (n == 0 && o != 0) continue;  // ok always shows; the other outcomes once they happen
      const label l[] = {{"transport", k.transport},
                         {"pattern", k.pattern},
                         {"kind", k.request ? "request" : "event"},
                         {"outcome", to_string(static_cast<serving_outcome>(o))}};
      out.sample("roost_server_messages_total", l, n);
    }
  }
  out.family("roost_server_handling_seconds",
             "Time from a message's dispatch to its last reply queued (or its event handlers' "
             "end), in seconds.",
             metric_type::histogram);
  for (const auto& [k, s] : rows) {
    std::array<std::uint64_t, bounds.size() + 1> counts;
    for (std::size_t b = 0; b < counts.size(); ++b) {
      counts[b] = s->buckets[b].load(std::memory_order_relaxed);
    }
    const label l[] = {{"transport", k.transport},
                       {"pattern", k.pattern},
                       {"kind", k.request ? "request" : "event"}};
    out.histogram("roost_server_handling_seconds", l, bounds, counts,
                  static_cast<double>(s->sum_ns.load(std::memory_order_relaxed)) * 1e-9);
  }
  out.family("roost_server_in_flight", "Messages being handled now, by transport.",
             metric_type::gauge);
  for (const auto& [t, n] : gauges) {
    const label l[] = {{"transport", t}};
    out.sample("roost_server_in_flight", l, static_cast<double>(n));
  }
}

}  // namespace roost::observability
