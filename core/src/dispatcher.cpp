#include <roost/dispatcher.hpp>

#include <roost/adaptive_limit.hpp>
#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>
#include <roost/tracer.hpp>

#include "enhancer_run.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <span>
#include <utility>

namespace roost {
namespace {

constexpr std::string_view source = "dispatcher";

json::value internal_error() {
  return json::object{{"status", "error"}, {"message", "Internal server error"}};
}

json::value error_with(std::string_view message) {
  return json::object{{"status", "error"}, {"message", message}};
}

}  // namespace

void reply_sink::send_value_now(detail::value_writer write, std::string_view id_json) {
  std::string text;
  write(text);
  json::error_code ec;
  auto value = detail::parse_json(text, ec);
  send_now(reply_packet::value(std::move(value), true), detail::parse_json(id_json, ec));
}

awaitable<void> immediate_reply_sink::send(reply_packet reply, const json::value& id) {
  send_now(std::move(reply), id);
  co_return;
}

namespace detail {

// What every copy of a dispatcher, and every message being served, shares.
struct dispatcher_state {
  dispatcher_state(const router& r, logger l) : routes(r), log(std::move(l)) {}

  json::value error_value(std::exception_ptr e, const context& ctx) const;
  /// The `err` for a failure: the exception filters' answer, else error_value().
  json::value filtered_error(std::exception_ptr e, context& ctx, const enhancer_scopes& s) const;
  awaitable<json::value> filtered_error_async(std::exception_ptr e, context& ctx,
                                              const enhancer_scopes& s) const;
  enhancer_scopes scopes_of(const router::entry& e) const noexcept {
    return {{&global, &routes.enhance(), &e.scope}};
  }
  /// Runs one handler, through the route's enhancers when it has any.
  awaitable<handler_result> call(const erased_handler& h, const enhancer_scopes& s,
                                 json::value& data, context& ctx) const;
  awaitable<void> serve_request(const router::entry* e, inbound_packet& p, context& ctx,
                                reply_sink& sink) const;
  awaitable<void> serve_event(const router::entry* e, inbound_packet& p, context& ctx) const;
  awaitable<void> send_result(handler_result r, reply_sink& sink, const json::value& id) const;
  /// Serves a request from its data's text (dispatcher::plan::direct_); false, with nothing
  /// run, when the text does not read as the handler's parameter.
  bool serve_direct(const router::entry& e, inbound_packet& p, context& ctx,
                    reply_sink& sink) const;
  void log_no_event_handler(const context& ctx) const;
  /// serve_now()'s work once the context knows its route.
  [[gnu::always_inline]] inline void serve_now(dispatcher::plan& p, inbound_packet& packet,
                                               context& ctx, reply_sink* sink) const;
  /// What an observer is told of a message served by `p`.
  static served_message served_by(const dispatcher::plan& p, const context& ctx) noexcept;
  /// Tells an observer what kind of failure `e` is (only with one: it rethrows).
  void classify(std::exception_ptr e, context& ctx) const;
  /// The error a refused message gets (roost/limits.hpp); an event's is logged here, and
  /// settled when acknowledgeable.
  json::value refuse(const dispatcher::plan& p, context& ctx) const;
  /// True for a request whose caller's deadline has passed: it is answered with
  /// deadline_exceeded_message instead of being served, and counted.
  bool expired(const dispatcher::plan& p, const context& ctx) const;

  const router& routes;
  logger log;
  enhancers global;
  std::shared_ptr<serving_observer> observer;
  std::shared_ptr<adaptive_limit> limiter;
  std::atomic<std::size_t> in_flight{0};
  mutable std::atomic<std::size_t> expired_requests{0};
  std::atomic<bool> stopping{false};  // stop_taking() was called
};

}  // namespace detail

using detail::dispatcher_state;

dispatcher::dispatcher(const router& r, logger log)
    : state_(std::make_shared<dispatcher_state>(r, std::move(log))) {}

std::size_t dispatcher::in_flight() const noexcept {
  return state_->in_flight.load(std::memory_order_relaxed);
}
std::size_t dispatcher::expired_requests() const noexcept {
  return state_->expired_requests.load(std::memory_order_relaxed);
}
const router& dispatcher::routes() const noexcept {
  return state_->routes;
}
const logger& dispatcher::log() const noexcept {
  return state_->log;
}
enhancers& dispatcher::enhance() noexcept {
  return state_->global;
}
void dispatcher::observe(std::shared_ptr<serving_observer> o) noexcept {
  state_->observer = std::move(o);
}
const std::shared_ptr<serving_observer>& dispatcher::observer() const noexcept {
  return state_->observer;
}
void dispatcher::limit(std::shared_ptr<adaptive_limit> l) noexcept {
  state_->limiter = std::move(l);
}
const std::shared_ptr<adaptive_limit>& dispatcher::limiter() const noexcept {
  return state_->limiter;
}

dispatcher::plan::plan(dispatcher_state* s, const router::entry* e, std::string route)
    : state_(s),
      entry_(e),
      route_(std::move(route)),
      ahead_(state_->in_flight.fetch_add(1, std::memory_order_relaxed)) {}

dispatcher::plan::plan(plan&& o) noexcept
    : synchronous(o.synchronous),
      request(o.request),
      state_(std::exchange(o.state_, nullptr)),
      entry_(o.entry_),
      route_(std::move(o.route_)),
      ahead_(o.ahead_),
      gauge_(std::exchange(o.gauge_, nullptr)),
      size_(o.size_),
      limit_(o.limit_),
      started_(o.started_),
      timed_(o.timed_),
      enhanced_(o.enhanced_),
      direct_(o.direct_),
      refused_(o.refused_) {}

dispatcher::plan::~plan() {
  if (gauge_) gauge_->leave();
  if (!state_) return;  // moved from
  if (timed_) state_->limiter->complete(started_);
  state_->in_flight.fetch_sub(1, std::memory_order_acq_rel);
}

dispatcher::plan dispatcher::prepare(const inbound_packet& packet, std::string_view route,
                                     bool answerable, bool immediate_sink,
                                     detail::flight_gauge* gauge, detail::route_memo* memo) const {
  // With a memo, a string pattern equal to the last one served takes its route as it is.
  const bool memoizable = memo && route.empty() && packet.pattern.is_string();
  const router::entry* e =
      memoizable && memo->entry && std::string_view(packet.pattern.get_string()) == memo->pattern
          ? memo->entry
          : nullptr;
  // Copied (constructed), which costs less than assigning into an empty string.
  std::string r = e               ? e->route
                  : route.empty() ? state_->routes.routes().lookup_route(packet.pattern)
                                  : std::string(route);
  if (!e) {
    e = state_->routes.find(r);
    // Only a route that is served is kept: the memo never stands for "no handler".
    if (e && memoizable) {
      memo->pattern.assign(packet.pattern.get_string());
      memo->entry = e;
    }
  }
  plan p(state_.get(), e, std::move(r));
  p.request = packet.is_request() && answerable;
  if (state_->stopping.load(std::memory_order_relaxed)) [[unlikely]] {
    p.refused_ = plan::refusal::stopping;
    p.synchronous = !p.request || immediate_sink;
    return p;
  }
  if (gauge && gauge->counts()) [[unlikely]] {
    const auto& l = gauge->limits();
    if (l.max_in_flight != 0 && p.ahead_ >= l.max_in_flight) {
      p.refused_ = plan::refusal::service;
    } else if (l.max_in_flight_per_connection != 0) {
      if (gauge->enter()) {
        p.gauge_ = gauge;
      } else {
        p.refused_ = plan::refusal::connection;
      }
    }
  }
  if (adaptive_limit* l = state_->limiter.get(); l && p.refused_ == plan::refusal::none)
      [[unlikely]] {
    if (l->admit(p.ahead_)) {
      p.started_ = l->now();
      p.timed_ = true;
    } else {
      p.refused_ = plan::refusal::service;  // the same answer as a static max_in_flight's
    }
  }
  if (p.refused_ != plan::refusal::none) [[unlikely]] {
    // Answered at once, when the sink allows it: nothing of the handler runs.
    p.synchronous = !p.request || immediate_sink;
    return p;
  }
  p.enhanced_ = e && !state_->scopes_of(*e).empty();
  if (p.enhanced_ && !state_->scopes_of(*e).is_sync()) {
    p.synchronous = false;
  } else if (p.request) {
    // A request to event handlers only (NestJS's forkJoin reply) takes the general path.
    p.synchronous = immediate_sink && (!e || (e->message && e->message.is_sync()));
    // Nothing but the handler needs the payload: it may read it from its text.
    p.direct_ =
        p.synchronous && !p.enhanced_ && e && e->message.has_direct() && !packet.data_text.empty();
  } else if (!e) {
    p.synchronous = true;
  } else {
    const auto& handlers = e->events.empty() ? std::span(&e->message, 1) : std::span(e->events);
    p.synchronous = std::all_of(handlers.begin(), handlers.end(),
                                [](const detail::erased_handler& h) { return h.is_sync(); });
  }
  return p;
}

dispatcher::plan dispatcher::prepare_too_large(const inbound_packet& packet, std::string_view route,
                                               bool answerable, bool immediate_sink,
                                               std::size_t size, std::size_t limit) const {
  std::string r =
      route.empty() ? state_->routes.routes().lookup_route(packet.pattern) : std::string(route);
  plan p(state_.get(), nullptr, std::move(r));
  p.request = packet.is_request() && answerable;
  p.refused_ = plan::refusal::too_large;
  p.size_ = size;
  p.limit_ = limit;
  p.synchronous = !p.request || immediate_sink;
  return p;
}

void dispatcher::serve_now(plan& p, inbound_packet& packet, context& ctx, reply_sink* sink) const {
  ctx.route_ = std::move(p.route_);
  ctx.request_ = p.request;
  ctx.log_ = &state_->log;
  // One test when there is no observer: the path every message takes stays as it was.
  if (serving_observer* o = state_->observer.get()) [[unlikely]] {
    const auto token = o->begin(ctx, p.entry_ != nullptr);
    state_->serve_now(p, packet, ctx, sink);
    o->end(ctx, dispatcher_state::served_by(p, ctx), token);
    return;
  }
  state_->serve_now(p, packet, ctx, sink);
}

void dispatcher_state::serve_now(dispatcher::plan& p, inbound_packet& packet, context& ctx,
                                 reply_sink* sink) const {
  using refusal = dispatcher::plan::refusal;
  if (expired(p, ctx)) [[unlikely]] {
    parse_deferred(packet);
    ctx.failure_ = serving_outcome::expired;
    sink->send_now(reply_packet::error(error_with(deadline_exceeded_message)), *packet.id);
    ctx.finish();
    return;
  }
  if (p.direct_ && serve_direct(*p.entry_, packet, ctx, *sink)) return;
  // Tested here: most packets (every broker's) have nothing deferred, and need no call.
  if (!packet.data_text.empty() || !packet.id_text.empty()) parse_deferred(packet);
  if (p.refused_ != refusal::none) [[unlikely]] {
    auto err = refuse(p, ctx);
    if (p.request) sink->send_now(reply_packet::error(std::move(err)), *packet.id);
    ctx.finish();
    return;
  }
  const router::entry* e = p.entry_;
  if (p.request) {
    const json::value& id = *packet.id;
    if (!e) {
      sink->send_now(reply_packet::no_handler(), id);
      ctx.finish();
      return;
    }
    const auto scopes = scopes_of(*e);
    std::exception_ptr failure;
    try {
      auto r = !p.enhanced_
                   ? e->message.call(packet.data, ctx)
                   : detail::enhancer_run{scopes, e->message, packet.data, ctx}.call_sync();
      reply_packet reply =
          r.value ? reply_packet::value(std::move(*r.value), true) : reply_packet::end();
      sink->send_now(std::move(reply), id);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      ctx.failed_ = true;
      sink->send_now(reply_packet::error(filtered_error(failure, ctx, scopes)), id);
    }
    ctx.finish();
    return;
  }
  if (!e) {
    log_no_event_handler(ctx);
    ctx.finish();
    return;
  }
  const auto& handlers = e->events.empty() ? std::span(&e->message, 1) : std::span(e->events);
  const auto scopes = scopes_of(*e);
  auto call = [&](const detail::erased_handler& h, json::value& data) {
    if (!p.enhanced_) {
      h.call(data, ctx);
    } else {
      detail::enhancer_run{scopes, h, data, ctx}.call_sync();
    }
  };
  for (std::size_t i = 0; i < handlers.size(); ++i) {
    try {
      if (i + 1 == handlers.size()) {
        call(handlers[i], packet.data);
      } else {
        json::value copy = packet.data;
        call(handlers[i], copy);
      }
    } catch (...) {
      const auto failure = std::current_exception();
      ctx.failed_ = !detail::denied(failure);
      (void)filtered_error(failure, ctx, scopes);
    }
  }
  ctx.finish();
}

awaitable<void> dispatcher::run(plan p, inbound_packet& packet, context& ctx,
                                reply_sink* sink) const {
  parse_deferred(packet);
  ctx.route_ = p.route_;
  ctx.request_ = p.request;
  ctx.log_ = &state_->log;
  serving_observer* const o = state_->observer.get();
  observation token;
  if (o) token = o->begin(ctx, p.entry_ != nullptr);
  if (p.refused_ != plan::refusal::none) {
    auto err = state_->refuse(p, ctx);
    if (p.request) {
      reply_packet reply = reply_packet::error(std::move(err));
      co_await sink->send(std::move(reply), *packet.id);
    }
  } else if (state_->expired(p, ctx)) {
    ctx.failure_ = serving_outcome::expired;
    reply_packet reply = reply_packet::error(error_with(deadline_exceeded_message));
    co_await sink->send(std::move(reply), *packet.id);
  } else if (p.request) {
    co_await state_->serve_request(p.entry_, packet, ctx, *sink);
  } else {
    co_await state_->serve_event(p.entry_, packet, ctx);
  }
  ctx.finish();
  // Not told of a message whose coroutine is destroyed unfinished (its executor gone).
  if (o) o->end(ctx, dispatcher_state::served_by(p, ctx), token);
}

awaitable<void> dispatcher::dispatch(inbound_packet& packet, context& ctx, reply_sink* sink,
                                     std::string_view route) {
  // The context holds the pattern: the caller may have moved it out of the packet.
  const std::string r =
      route.empty() ? state_->routes.routes().lookup_route(ctx.pattern()) : std::string(route);
  co_await run(prepare(packet, r, sink != nullptr, false), packet, ctx, sink);
}

json::value dispatcher::take_pattern(inbound_packet& p) {
  if (p.pattern.storage().get() == json::storage_ptr().get()) return std::move(p.pattern);
  return json::value(p.pattern, json::storage_ptr());
}

std::optional<json::object> dispatcher::metadata_copy(const inbound_packet& p) {
  if (!p.metadata) return std::nullopt;
  return json::object(*p.metadata, json::storage_ptr());
}

inbound_packet dispatcher::take_packet(inbound_packet& p) {
  parse_deferred(p);  // its text is the transport's, gone once serve() returns
  if (p.data.storage().get() == json::storage_ptr().get() &&
      p.pattern.storage().get() == json::storage_ptr().get()) {
    return std::move(p);
  }
  return with_default_storage(p);
}

bool dispatcher_state::serve_direct(const router::entry& e, inbound_packet& p, context& ctx,
                                    reply_sink& sink) const {
  // The value goes out with the id's text as it came; the rarer replies build the id.
  struct to_sink final : detail::direct_reply {
    reply_sink& sink;
    inbound_packet& packet;
    to_sink(reply_sink& s, inbound_packet& q) : sink(s), packet(q) {}
    void value(detail::value_writer write) override { sink.send_value_now(write, packet.id_text); }
    void none() override {
      parse_deferred(packet);
      sink.send_now(reply_packet::end(), *packet.id);
    }
  } out(sink, p);
  std::exception_ptr failure;
  try {
    if (!e.message.call_direct(p.data_text, ctx, out)) return false;
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    ctx.failed_ = true;
    auto err = filtered_error(failure, ctx, scopes_of(e));
    parse_deferred(p);
    sink.send_now(reply_packet::error(std::move(err)), *p.id);
  }
  ctx.finish();
  return true;
}

served_message dispatcher_state::served_by(const dispatcher::plan& p, const context& ctx) noexcept {
  using refusal = dispatcher::plan::refusal;
  served_message m;
  m.routed = p.entry_ != nullptr;
  if (p.refused_ == refusal::too_large) {
    m.outcome = serving_outcome::too_large;
  } else if (p.refused_ == refusal::stopping) {
    m.outcome = serving_outcome::shutting_down;
  } else if (p.refused_ != refusal::none) {
    m.outcome = serving_outcome::overloaded;
  } else if (!p.entry_) {
    m.outcome = serving_outcome::no_handler;
  } else {
    m.outcome = ctx.failure_;
  }
  return m;
}

void dispatcher_state::classify(std::exception_ptr ep, context& ctx) const {
  if (!observer) return;
  if (ctx.span_) detail::fail_span(*ctx.span_, ep);
  try {
    std::rethrow_exception(ep);
  } catch (const guard_denied&) {
    ctx.failure_ = serving_outcome::forbidden;
  } catch (const payload_rejected&) {
    ctx.failure_ = serving_outcome::invalid_payload;
  } catch (const rpc_exception&) {
    ctx.failure_ = serving_outcome::handler_error;
  } catch (...) {
    ctx.failure_ = serving_outcome::internal_error;
  }
}

void dispatcher_state::log_no_event_handler(const context& ctx) const {
  log.log(log_level::error, source,
          "There is no matching event handler defined in the remote service. Event pattern: " +
              ctx.route(),
          ctx.trace());
}

json::value dispatcher_state::refuse(const dispatcher::plan& p, context& ctx) const {
  using refusal = dispatcher::plan::refusal;
  std::string message;
  if (p.refused_ == refusal::too_large) {
    message = "Message too large: " + std::to_string(p.size_) + " bytes, the limit is " +
              std::to_string(p.limit_);
    // A peer sending such messages is worth knowing about, request or event.
    log.log(log_level::warn, source,
            std::string(ctx.is_request() ? "request" : "event") + " to \"" + ctx.route() +
                "\" refused: " + message,
            ctx.trace());
  } else {
    message = p.refused_ == refusal::service    ? too_many_in_flight_message
              : p.refused_ == refusal::stopping ? shutting_down_message
                                                : too_many_on_connection_message;
    // The peer of a request is told; no one is told of an event.
    if (!ctx.is_request()) {
      log.log(log_level::warn, source, "event \"" + ctx.route() + "\" dropped: " + message,
              ctx.trace());
    } else if (log.enabled(log_level::debug)) {
      log.log(log_level::debug, source, "request to \"" + ctx.route() + "\" refused: " + message,
              ctx.trace());
    }
  }
  if (!ctx.is_request() && ctx.acknowledgeable() && !ctx.settled()) {
    // An event refused for the load, or by a service shutting down, comes back later (to
    // this instance or another); one too large never would be served, so it is let go.
    ctx.settle(p.refused_ == refusal::too_large ? settlement::drop : settlement::redeliver);
  }
  return error_with(message);
}

bool dispatcher_state::expired(const dispatcher::plan& p, const context& ctx) const {
  if (!p.request || p.refused_ != dispatcher::plan::refusal::none) return false;
  const auto d = ctx.deadline();
  if (!d || *d > std::chrono::system_clock::now()) return false;
  expired_requests.fetch_add(1, std::memory_order_relaxed);
  if (log.enabled(log_level::debug)) {
    log.log(log_level::debug, source,
            "request to \"" + ctx.route() + "\" not served: its deadline has passed", ctx.trace());
  }
  return true;
}

json::value dispatcher_state::filtered_error(std::exception_ptr ep, context& ctx,
                                             const enhancer_scopes& s) const {
  classify(ep, ctx);
  try {
    auto v = enhancer_run::filter_sync(s, ep, ctx);
    if (v) return std::move(*v);
  } catch (...) {
    ep = std::current_exception();  // a filter that throws: its exception is encoded instead
  }
  return error_value(ep, ctx);
}

awaitable<json::value> dispatcher_state::filtered_error_async(std::exception_ptr ep, context& ctx,
                                                              const enhancer_scopes& s) const {
  classify(ep, ctx);
  try {
    auto v = co_await enhancer_run::filter(s, ep, ctx);
    if (v) co_return std::move(*v);
  } catch (...) {
    ep = std::current_exception();
  }
  co_return error_value(ep, ctx);
}

awaitable<detail::handler_result> dispatcher_state::call(const erased_handler& h,
                                                         const enhancer_scopes& s,
                                                         json::value& data, context& ctx) const {
  if (s.empty()) {
    auto r = co_await h(data, ctx);
    co_return r;
  }
  const enhancer_run run{s, h, data, ctx};
  auto r = co_await run.call();
  co_return r;
}

json::value dispatcher_state::error_value(std::exception_ptr ep, const context& ctx) const {
  try {
    std::rethrow_exception(ep);
  } catch (const guard_denied& e) {
    // NestJS answers a request with the error; an event has no one to tell, so say it here.
    if (!ctx.is_request()) {
      log.log(log_level::warn, source, "event \"" + ctx.route() + "\" dropped: " + e.what(),
              ctx.trace());
    }
    return e.error();
  } catch (const rpc_exception& e) {
    return e.error();
  } catch (const std::exception& e) {
    log.log(log_level::error, source, "handler for \"" + ctx.route() + "\" threw: " + e.what(),
            ctx.trace());
  } catch (...) {
    log.log(log_level::error, source,
            "handler for \"" + ctx.route() + "\" threw a non-standard exception", ctx.trace());
  }
  return internal_error();
}

awaitable<void> dispatcher_state::serve_request(const router::entry* e, inbound_packet& p,
                                                context& ctx, reply_sink& sink) const {
  const json::value& id = *p.id;
  if (!e) {
    co_await sink.send(reply_packet::no_handler(), id);
    co_return;
  }
  const auto scopes = scopes_of(*e);
  std::exception_ptr failure;
  try {
    if (e->message) {
      auto r = co_await call(e->message, scopes, p.data, ctx);
      co_await send_result(std::move(r), sink, id);
      co_return;
    }
    // A request to a route that has only event handlers: NestJS chains them and replies with
    // the chain's combined value (forkJoin of {current, next}); undefined members drop out.
    std::vector<std::optional<json::value>> values;
    for (const auto& h : e->events) {
      json::value data = p.data;
      auto r = co_await call(h, scopes, data, ctx);
      values.push_back(std::move(r.value));
    }
    std::optional<json::value> combined = values.back();
    for (std::size_t i = values.size() - 1; i-- > 0;) {
      json::object o;
      if (values[i]) o["current"] = std::move(*values[i]);
      if (combined) o["next"] = std::move(*combined);
      combined = json::value(std::move(o));
    }
    // Built before the co_await: GCC 12 destroys a conditional's temporary twice there.
    reply_packet reply =
        combined ? reply_packet::value(std::move(*combined), true) : reply_packet::end();
    co_await sink.send(std::move(reply), id);
    co_return;
  } catch (...) {
    failure = std::current_exception();
  }
  ctx.failed_ = true;
  auto err = co_await filtered_error_async(failure, ctx, scopes);
  reply_packet error_reply = reply_packet::error(std::move(err));
  co_await sink.send(std::move(error_reply), id);
}

awaitable<void> dispatcher_state::send_result(detail::handler_result r, reply_sink& sink,
                                              const json::value& id) const {
  if (!r.stream) {
    // Built before the co_await: GCC 12 destroys a conditional's temporary twice there.
    reply_packet reply =
        r.value ? reply_packet::value(std::move(*r.value), true) : reply_packet::end();
    co_await sink.send(std::move(reply), id);
    co_return;
  }
  const auto ex = co_await boost::asio::this_coro::executor;
  auto& src = *r.stream;
  // Hold the latest value back until we know whether the stream ends right after it: NestJS
  // merges `isDisposed` into the last packet when the end comes in the same tick.
  std::optional<json::value> pending;
  for (;;) {
    if (!src.poll(ex)) {
      if (pending) {
        reply_packet reply = reply_packet::value(std::move(*pending), false);
        pending.reset();
        co_await sink.send(std::move(reply), id);
      }
      co_await src.wait_ready();
    }
    std::optional<json::value> v;
    std::exception_ptr failure;
    try {
      v = src.take();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      // NestJS sends the values queued before the error, then the error with isDisposed.
      if (pending) {
        reply_packet reply = reply_packet::value(std::move(*pending), false);
        co_await sink.send(std::move(reply), id);
      }
      std::rethrow_exception(failure);
    }
    if (!v) {
      reply_packet reply =
          pending ? reply_packet::value(std::move(*pending), true) : reply_packet::end();
      co_await sink.send(std::move(reply), id);
      co_return;
    }
    if (pending) {
      reply_packet reply = reply_packet::value(std::move(*pending), false);
      co_await sink.send(std::move(reply), id);
    }
    pending = std::move(v);
  }
}

awaitable<void> dispatcher_state::serve_event(const router::entry* e, inbound_packet& p,
                                              context& ctx) const {
  if (!e) {
    log_no_event_handler(ctx);
    co_return;  // not a failure: delivering it again would not find a handler either
  }
  const auto ex = co_await boost::asio::this_coro::executor;
  const auto scopes = scopes_of(*e);
  auto run = [&](const detail::erased_handler& h, json::value& data) -> awaitable<void> {
    std::exception_ptr failure;
    try {
      auto r = co_await call(h, scopes, data, ctx);
      // A streamed result still runs to its end, as NestJS connects the observable.
      if (r.stream) {
        for (;;) {
          if (!r.stream->poll(ex)) co_await r.stream->wait_ready();
          if (!r.stream->take()) break;
        }
      }
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      ctx.failed_ = !denied(failure);
      (void)co_await filtered_error_async(failure, ctx, scopes);
    }
  };
  if (e->events.empty()) {
    co_await run(e->message, p.data);
    co_return;
  }
  for (std::size_t i = 0; i < e->events.size(); ++i) {
    if (i + 1 == e->events.size()) {
      co_await run(e->events[i], p.data);
    } else {
      json::value copy = p.data;
      co_await run(e->events[i], copy);
    }
  }
}

void dispatcher::stop_taking() noexcept {
  state_->stopping.store(true, std::memory_order_relaxed);
}

void dispatcher::start_taking() noexcept {
  state_->stopping.store(false, std::memory_order_relaxed);
}

awaitable<bool> dispatcher::drain(std::chrono::steady_clock::duration deadline) const {
  const auto until = std::chrono::steady_clock::now() + deadline;
  const executor ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex);
  while (in_flight() > 0) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
  co_return true;
}

}  // namespace roost
