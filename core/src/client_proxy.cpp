#include <roost/client_proxy.hpp>
#include <roost/deadline.hpp>
#include <roost/errors.hpp>
#include <roost/tracer.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <random>

namespace roost {

std::string_view to_string(connection_status s) noexcept {
  switch (s) {
    case connection_status::disconnected:
      return "disconnected";
    case connection_status::connecting:
      return "connecting";
    case connection_status::connected:
      return "connected";
    case connection_status::reconnecting:
      return "reconnecting";
    case connection_status::closed:
      return "closed";
  }
  return "unknown";
}

namespace {

enum class failure_kind { none, timeout, connection, cancelled };

// The replies of one call, filled by the transport's thread and read by the caller's.
struct call_state {
  std::mutex mutex;
  // Replies not taken yet, from `taken` on. A call mostly has one: it is kept inline, where a
  // deque would allocate twice per call before the first reply.
  boost::container::small_vector<inbound_reply, 1> replies;
  std::size_t taken = 0;
  failure_kind failure = failure_kind::none;
  boost::system::error_code failure_code;
  std::string failure_text;
  boost::asio::any_completion_handler<void()> waiter;
  executor waiter_executor;  // the waiter's own, kept apart: 1.81's erased one cannot post
  // When the call times out if no reply came; none without a timeout. A reply that arrives
  // after it is a timeout even when the timer's handler has not run yet (an executor busy for
  // longer than the timeout runs the ready read first): as in NestJS, whose expired timer runs
  // before the reply's I/O callback.
  std::chrono::steady_clock::time_point deadline{};

  // Wakes the waiting caller, if any. Call with the mutex held; it stays held through the post:
  // the caller takes it to read what woke it, so it cannot go on (and destroy its executor,
  // as blocking_client does) while this thread is still inside the post, which signals the
  // executor's thread after the handler is already runnable (a race TSan found).
  void wake(std::unique_lock<std::mutex>& lock) {
    if (!waiter) return;
    auto h = std::move(waiter);
    boost::asio::post(std::move(waiter_executor), [h = std::move(h)]() mutable { std::move(h)(); });
    lock.unlock();
  }

  bool has_reply() const { return taken < replies.size(); }

  // The next reply, moved once: its three JSON values are not moved again on the way out.
  std::optional<inbound_reply> take() {
    std::optional<inbound_reply> r(std::in_place, std::move(replies[taken++]));
    if (taken == replies.size()) {
      replies.clear();
      taken = 0;
    }
    return r;
  }

  void push(inbound_reply&& r) {
    std::unique_lock lock(mutex);
    if (deadline != std::chrono::steady_clock::time_point{} &&
        std::chrono::steady_clock::now() >= deadline) {
      fail_locked(failure_kind::timeout, make_error_code(error::timeout), "Timeout has occurred",
                  lock);
      return;
    }
    replies.push_back(std::move(r));
    wake(lock);
  }

  void fail(failure_kind k, boost::system::error_code ec, std::string_view why) {
    std::unique_lock lock(mutex);
    fail_locked(k, ec, why, lock);
  }

  void fail_locked(failure_kind k, boost::system::error_code ec, std::string_view why,
                   std::unique_lock<std::mutex>& lock) {
    if (failure != failure_kind::none) return;
    failure = k;
    failure_code = ec;
    failure_text = why;
    wake(lock);
  }
};

// The next reply of the call, nullopt when none came yet; throws the error that ended it.
std::optional<inbound_reply> poll_reply(call_state& st) {
  std::unique_lock lock(st.mutex);
  if (st.has_reply()) return st.take();
  switch (st.failure) {
    case failure_kind::none:
      break;
    case failure_kind::timeout:
      throw timeout_error("Timeout has occurred");
    case failure_kind::connection:
      throw connection_error(st.failure_code, st.failure_text);
    case failure_kind::cancelled:
      throw boost::system::system_error(boost::asio::error::operation_aborted);
  }
  return std::nullopt;
}

// Completes once the call has a reply or has failed. Not a coroutine: the operation it returns
// owns a reference to the state. Callers make the awaitable in a statement of its own: GCC 12
// destroys a by-value shared_ptr argument of a call written inside a co_await expression twice.
awaitable<void> reply_or_failure(std::shared_ptr<call_state> st) {
  // A named lambda, not a temporary: GCC 12 destroys a temporary lambda argument of a
  // co_awaited async_initiate twice, which released `st` once too often.
  auto wait_for_reply = [st = std::move(st)](auto handler) {
    std::unique_lock lock(st->mutex);
    st->waiter_executor = boost::asio::get_associated_executor(handler);
    // Not operator=: in Boost 1.81 it wraps the handler in itself instead of moving it.
    boost::asio::any_completion_handler<void()>(std::move(handler)).swap(st->waiter);
    // Only now: wrapping installs the wrapper's own cancellation state in the handler's slot,
    // replacing whatever was assigned there before. Weak, as the waiter lives in `st`.
    auto slot = st->waiter.get_cancellation_slot();
    if (slot.is_connected()) {
      slot.assign([w = std::weak_ptr<call_state>(st)](boost::asio::cancellation_type) {
        if (auto s = w.lock()) {
          s->fail(failure_kind::cancelled, boost::asio::error::operation_aborted, "cancelled");
        }
      });
    }
    // A reply or failure that came before we stored the waiter must still wake us.
    if (st->has_reply() || st->failure != failure_kind::none) st->wake(lock);
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void()>(
      std::move(wait_for_reply), boost::asio::use_awaitable);
}

// Completes with the next reply of the call, or throws the error that ended it. Owns a
// reference to the state: inside a roost::stream body this runs as its own operation, which
// outlives the body's frame when the stream is destroyed mid-wait. Made in a statement of its
// own, as reply_or_failure.
awaitable<inbound_reply> take_reply(std::shared_ptr<call_state> st) {
  for (;;) {
    if (auto r = poll_reply(*st)) co_return std::move(*r);
    auto ready = reply_or_failure(st);
    co_await std::move(ready);
  }
}

// The ids of one proxy's calls: 21 lowercase hex characters, like NestJS's ids: a call's number
// (16) then the proxy's random salt (5). Numbers start at a random value, so that clients sharing
// a broadcast reply channel (Redis, MQTT) do not take each other's replies; the table is keyed
// by the number, read back from a reply's id without a string key per call.
class call_ids {
 public:
  explicit call_ids(std::uint32_t salt) {
    for (int i = 0; i < 5; ++i) salt_[i] = hex[(salt >> (4 * i)) & 0xF];
  }

  std::string format(std::uint64_t number) const {
    std::string id(21, '0');
    for (int i = 0; i < 16; ++i) id[i] = hex[(number >> (4 * (15 - i))) & 0xF];
    for (int i = 0; i < 5; ++i) id[16 + i] = salt_[i];
    return id;
  }

  // The number of an id this object formatted; nullopt for any other text.
  std::optional<std::uint64_t> number_of(std::string_view id) const {
    if (id.size() != 21 || id.substr(16) != std::string_view(salt_, 5)) return std::nullopt;
    std::uint64_t n = 0;
    for (int i = 0; i < 16; ++i) {
      const char c = id[i];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      n = (n << 4) | static_cast<std::uint64_t>(d);
    }
    return n;
  }

 private:
  static constexpr char hex[] = "0123456789abcdef";
  char salt_[5];
};

// The pending calls and the connection status: what the transport reports to. Owned by the
// proxy and by its transport, which may still report from its own threads while the proxy is
// being destroyed on another (a connection closing on its strand): whoever may still run owns
// what it touches.
struct call_table final : client_listener {
  explicit call_table(std::uint32_t salt) : ids(salt) {}

  void on_reply(inbound_reply reply) override {
    const auto* id = reply.id.if_string();
    if (!id) return;
    const auto number = ids.number_of(*id);
    if (!number) return;  // not one of this proxy's ids
    std::shared_ptr<call_state> st;
    {
      std::lock_guard lock(mutex);
      auto it = calls.find(*number);
      if (it == calls.end()) return;  // a late reply to a call that timed out or was cancelled
      st = it->second;
    }
    st->push(std::move(reply));
  }

  void on_connection_lost(boost::system::error_code ec, std::string_view why) override {
    std::vector<std::shared_ptr<call_state>> all;
    {
      std::lock_guard lock(mutex);
      for (auto& [id, st] : calls) all.push_back(st);
    }
    for (auto& st : all) st->fail(failure_kind::connection, ec, why);
  }

  void on_calls_lost(const std::vector<std::string>& lost, boost::system::error_code ec,
                     std::string_view why) override {
    std::vector<std::shared_ptr<call_state>> hit;
    {
      std::lock_guard lock(mutex);
      for (const auto& id : lost) {
        const auto number = ids.number_of(id);
        if (!number) continue;
        auto it = calls.find(*number);
        if (it != calls.end()) hit.push_back(it->second);
      }
    }
    for (auto& st : hit) st->fail(failure_kind::connection, ec, why);
  }

  void on_status(connection_status s) override {
    std::function<void(connection_status)> f;
    {
      std::lock_guard lock(mutex);
      if (s == status) return;
      status = s;
      f = status_callback;
    }
    if (f) f(s);
  }

  // A new pending call: its state and its id.
  std::pair<std::shared_ptr<call_state>, std::string> add() {
    auto st = std::make_shared<call_state>();
    const std::uint64_t number = next_number.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex);
      // Kept at most a quarter full: calls come and go all the time, and each erasure in a
      // crowded table brings its next rehash closer (a rehash every few hundred calls at
      // K = 256 when it grew only as needed).
      if (calls.size() * 4 >= calls.bucket_count()) calls.reserve(calls.size() * 8 + 32);
      calls.emplace(number, st);
    }
    return {std::move(st), ids.format(number)};
  }

  void remove(const std::string& id) {
    const auto number = ids.number_of(id);
    if (!number) return;
    std::lock_guard lock(mutex);
    calls.erase(*number);
  }

  const call_ids ids;
  std::atomic<std::uint64_t> next_number{0};
  mutable std::mutex mutex;
  boost::unordered_flat_map<std::uint64_t, std::shared_ptr<call_state>> calls;
  connection_status status = connection_status::disconnected;
  std::function<void(connection_status)> status_callback;
};

}  // namespace

struct client_proxy::impl {
  impl(executor e, std::unique_ptr<client_transport> t, client_options o)
      : ex(std::move(e)), table(new_table()), transport(std::move(t)), opts(std::move(o)) {
    transport->set_listener(table);
    budget = opts.retry.budget ? opts.retry.budget : std::make_shared<retry_budget>();
  }

  static std::shared_ptr<call_table> new_table() {
    std::mt19937_64 rng(std::random_device{}());
    auto t = std::make_shared<call_table>(static_cast<std::uint32_t>(rng()));
    t->next_number = rng();
    return t;
  }

  std::chrono::milliseconds timeout_of(const call_options& o) const {
    return o.timeout.count() > 0 ? o.timeout : opts.default_timeout;
  }

  // Whether a `send` needs none of the resilience (send_resilient): sent once as it is.
  bool plain(const call_options& o) const {
    return !opts.breaker && !opts.bulkhead && !o.deadline &&
           !(o.idempotent && opts.retry.max_attempts > 1) &&
           !(opts.send_deadline && timeout_of(o).count() > 0);
  }

  // The parts of send_value(); coroutines that own what they use (`self`).
  static awaitable<json::value> send_full(std::shared_ptr<impl> self, json::value pattern,
                                          json::value data, call_options opts);
  static awaitable<json::value> send_once(std::shared_ptr<impl> self, json::value pattern,
                                          json::value data, call_options opts,
                                          std::chrono::milliseconds timeout);
  // In the span of the call (client_options::tracer, call_options::trace).
  static awaitable<json::value> send_traced(std::shared_ptr<impl> self, json::value pattern,
                                            json::value data, call_options opts);
  // With the deadline, bulkhead, circuit breaker and retries of the call.
  static awaitable<json::value> send_resilient(std::shared_ptr<impl> self, json::value pattern,
                                               json::value data, call_options opts);
  // A uniform number in [0, 1) for the jitter of retries.
  double random();

  // Removes a call from the table and releases the transport's resources for it, however the
  // calling coroutine ends.
  struct call_guard {
    impl& owner;
    const outbound_message& message;
    ~call_guard() {
      owner.table->remove(message.id);
      owner.transport->end_request(message);
    }
  };

  executor ex;
  std::shared_ptr<call_table> table;
  std::unique_ptr<client_transport> transport;
  client_options opts;
  route_normalizer routes;
  std::shared_ptr<retry_budget> budget;  // the retry policy's, or the client's own
  std::mutex random_mutex;
  std::minstd_rand random_engine{std::random_device{}()};
};

namespace {

// (Re)arms the per-reply timeout of a call; a call without one has no timer.
void arm(std::optional<boost::asio::steady_timer>& t, const executor& ex,
         std::chrono::milliseconds timeout, const std::shared_ptr<call_state>& st) {
  if (timeout.count() <= 0) return;
  if (!t) t.emplace(ex);
  t->expires_after(timeout);
  {
    std::lock_guard lock(st->mutex);
    st->deadline = t->expiry();
  }
  t->async_wait([st](boost::system::error_code ec) {
    if (!ec)
      st->fail(failure_kind::timeout, make_error_code(error::timeout), "Timeout has occurred");
  });
}

void check_pattern(const json::value& pattern) {
  if (pattern.is_null()) {
    throw std::invalid_argument("The invalid data or message pattern (undefined/null)");
  }
}

}  // namespace

client_proxy::client_proxy(executor ex, std::unique_ptr<client_transport> transport,
                           client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(transport), std::move(opts))) {}

client_proxy::~client_proxy() {
  if (!impl_) return;
  {
    // The transport may report a last status after this (its connection closes on its own
    // executor): the callback's captures may be gone by then.
    std::lock_guard lock(impl_->table->mutex);
    impl_->table->status_callback = nullptr;
  }
  impl_->transport->close();
}

awaitable<void> client_proxy::connect() {
  return impl_->transport->connect();
}

void client_proxy::close() {
  impl_->transport->close();
}

connection_status client_proxy::status() const noexcept {
  std::lock_guard lock(impl_->table->mutex);
  return impl_->table->status;
}

void client_proxy::on_status(std::function<void(connection_status)> f) {
  std::lock_guard lock(impl_->table->mutex);
  impl_->table->status_callback = std::move(f);
}

std::size_t client_proxy::pending() const noexcept {
  std::lock_guard lock(impl_->table->mutex);
  return impl_->table->calls.size();
}

namespace {

// The span of one call, when the client traces or the call names its trace: sets the call's
// `traceparent` (its own span's, else the named one's), and records the span when the call
// ends, however it ends (a stream destroyed mid-way too).
class call_span {
 public:
  call_span(const std::shared_ptr<tracer>& t, span_kind kind, const std::string& route,
            std::string_view transport, call_options& opts) {
    if (t) {
      tracer_ = t;
      span_.emplace(t->start(kind, route, opts.trace ? &*opts.trace : nullptr));
      span_->attributes.emplace_back("roost.transport", std::string(transport));
      span_->attributes.emplace_back("roost.pattern", route);
      write_trace_context(opts.headers, span_->context);
    } else if (opts.trace) {
      write_trace_context(opts.headers, *opts.trace);
    }
    opts.trace.reset();
  }
  call_span(const call_span&) = delete;
  call_span& operator=(const call_span&) = delete;
  ~call_span() { finish(nullptr); }

  void finish(const std::exception_ptr& failure) noexcept {
    if (!span_) return;
    if (failure) detail::fail_span(*span_, failure);
    tracer_->finish(std::move(*span_));
    span_.reset();
  }

  // Whether a call with these options has a span or a trace to send.
  static bool wanted(const std::shared_ptr<tracer>& t, const call_options& opts) noexcept {
    return t || opts.trace;
  }

 private:
  std::shared_ptr<tracer> tracer_;
  std::optional<span> span_;
};

// The message of one call. Its headers travel as NestJS 12 packet metadata (and as NATS
// headers, which the NATS client makes of the metadata); a value given in `metadata` wins.
outbound_message message_of(const json::value& pattern, const std::string& route,
                            const json::value& data, const std::string& id, call_options& opts,
                            std::chrono::milliseconds timeout) {
  if (!opts.headers.empty()) {
    json::object merged = opts.headers.to_metadata();
    if (opts.metadata) {
      for (auto& [k, v] : *opts.metadata) merged[k] = std::move(v);
    }
    opts.metadata = std::move(merged);
  }
  return outbound_message{pattern,
                          route,
                          data,
                          id,
                          opts.metadata ? &*opts.metadata : nullptr,
                          &opts.headers,
                          opts.record.has_value() ? &opts.record : nullptr,
                          timeout};
}

}  // namespace

awaitable<json::value> client_proxy::send_value(json::value pattern, json::value data,
                                                call_options opts) {
  // Tracing off costs this one test.
  if (call_span::wanted(impl_->opts.tracer, opts)) [[unlikely]] {
    return impl::send_traced(impl_, std::move(pattern), std::move(data), std::move(opts));
  }
  // A plain call (no hook, no resilience) is one coroutine, as it always was.
  if (!impl_->opts.prepare && impl_->plain(opts)) {
    const auto timeout = impl_->timeout_of(opts);
    return impl::send_once(impl_, std::move(pattern), std::move(data), std::move(opts), timeout);
  }
  return impl::send_full(impl_, std::move(pattern), std::move(data), std::move(opts));
}

awaitable<json::value> client_proxy::impl::send_traced(std::shared_ptr<impl> self,
                                                       json::value pattern, json::value data,
                                                       call_options opts) {
  check_pattern(pattern);
  call_span span(self->opts.tracer, span_kind::client, self->routes.route(pattern),
                 self->transport->name(), opts);
  std::exception_ptr failure;
  json::value v;
  try {
    // A plain call straight to its one attempt, as send_value() does: a coroutine less.
    const bool plain = !self->opts.prepare && self->plain(opts);
    const auto timeout = self->timeout_of(opts);
    auto call = plain
                    ? send_once(self, std::move(pattern), std::move(data), std::move(opts), timeout)
                    : send_full(self, std::move(pattern), std::move(data), std::move(opts));
    v = co_await std::move(call);
  } catch (...) {
    failure = std::current_exception();
  }
  span.finish(failure);
  if (failure) std::rethrow_exception(failure);
  co_return v;
}

awaitable<json::value> client_proxy::impl::send_full(std::shared_ptr<impl> self,
                                                     json::value pattern, json::value data,
                                                     call_options opts) {
  if (self->opts.prepare) {
    auto prepared = self->opts.prepare(opts);
    co_await std::move(prepared);
  }
  if (self->plain(opts)) {
    const auto timeout = self->timeout_of(opts);
    auto once = send_once(self, std::move(pattern), std::move(data), std::move(opts), timeout);
    auto v = co_await std::move(once);
    co_return v;
  }
  auto resilient = send_resilient(self, std::move(pattern), std::move(data), std::move(opts));
  auto v = co_await std::move(resilient);
  co_return v;
}

awaitable<json::value> client_proxy::impl::send_once(std::shared_ptr<impl> self,
                                                     json::value pattern, json::value data,
                                                     call_options opts,
                                                     std::chrono::milliseconds timeout) {
  check_pattern(pattern);
  const std::string route = self->routes.route(pattern);
  auto [st, id] = self->table->add();
  const outbound_message m = message_of(pattern, route, data, id, opts, timeout);
  impl::call_guard guard{*self, m};
  co_await self->transport->send_request(m);
  std::optional<boost::asio::steady_timer> timer;
  arm(timer, self->ex, timeout, st);
  json::value last;
  for (;;) {
    // Waited for here, not through take_reply: one coroutine frame less per call.
    auto r = poll_reply(*st);
    if (!r) {
      auto ready = reply_or_failure(st);
      co_await std::move(ready);
      continue;
    }
    if (r->err) throw rpc_error(std::move(*r->err));
    if (r->response) last = std::move(*r->response);
    if (r->disposed) break;
    arm(timer, self->ex, timeout, st);
  }
  co_return last;
}

namespace {

// What a failed attempt says about its target, for the circuit breaker and the retries.
enum class attempt_failure {
  target,     // connection error or timeout: the target is unreachable or too slow
  answered,   // the handler's own error (rpc_error): the target is up
  abandoned,  // nothing about the target (cancelled, refused locally)
};

attempt_failure classify(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const rpc_error&) {
    return attempt_failure::answered;
  } catch (const timeout_error&) {
    return attempt_failure::target;
  } catch (const connection_error& c) {
    const auto code = c.code();
    if (code == error::circuit_open || code == error::bulkhead_full ||
        code == error::invalid_argument || code == error::payload_too_large ||
        code == error::connection_closed) {
      return attempt_failure::abandoned;
    }
    return attempt_failure::target;
  } catch (...) {
    return attempt_failure::abandoned;
  }
}

// Reports an attempt the circuit breaker let through, however the attempt ends.
struct breaker_ticket {
  circuit_breaker* breaker = nullptr;
  void report(attempt_failure f) {
    if (!breaker) return;
    switch (f) {
      case attempt_failure::target:
        breaker->on_failure();
        break;
      case attempt_failure::answered:
        breaker->on_success();
        break;
      case attempt_failure::abandoned:
        breaker->on_abandoned();
        break;
    }
    breaker = nullptr;
  }
  ~breaker_ticket() {
    if (breaker) breaker->on_abandoned();
  }
};

connection_error circuit_open(const circuit_breaker& b) {
  return connection_error(make_error_code(error::circuit_open),
                          "Circuit open: calls to this target fail fast for " +
                              std::to_string(b.open_remaining().count()) + " ms more");
}

awaitable<void> sleep(const executor& ex, std::chrono::milliseconds d) {
  boost::asio::steady_timer t(ex);
  t.expires_after(d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

}  // namespace

double client_proxy::impl::random() {
  if (opts.retry.random) return opts.retry.random();
  std::lock_guard lock(random_mutex);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_engine);
}

awaitable<json::value> client_proxy::impl::send_resilient(std::shared_ptr<impl> self,
                                                          json::value pattern, json::value data,
                                                          call_options opts) {
  using std::chrono::system_clock;
  const auto timeout = self->timeout_of(opts);
  const auto& policy = self->opts.retry;
  const int attempts = opts.idempotent ? std::max(policy.max_attempts, 1) : 1;
  if (attempts > 1) self->budget->on_call();
  for (int attempt = 1;; ++attempt) {
    // This attempt's time: its timeout, cut to what is left of the call's deadline.
    auto attempt_timeout = timeout;
    std::optional<system_clock::time_point> attempt_deadline;
    if (opts.deadline) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(*opts.deadline - system_clock::now());
      if (left.count() <= 0) throw timeout_error("Deadline exceeded");
      if (attempt_timeout.count() <= 0 || left < attempt_timeout) attempt_timeout = left;
    }
    if (attempt_timeout.count() > 0) {
      attempt_deadline = system_clock::now() + attempt_timeout;
    }
    std::optional<bulkhead::permit> permit;
    if (self->opts.bulkhead) {
      auto acquired = self->opts.bulkhead->acquire();
      auto granted = co_await std::move(acquired);
      permit.emplace(std::move(granted));
    }
    breaker_ticket ticket;
    if (self->opts.breaker) {
      if (!self->opts.breaker->try_acquire()) throw circuit_open(*self->opts.breaker);
      ticket.breaker = self->opts.breaker.get();
    }
    call_options this_attempt = opts;
    if (attempt_deadline && self->opts.send_deadline) {
      this_attempt.headers.set(deadline_header, format_deadline(*attempt_deadline));
    }
    std::exception_ptr failure;
    try {
      auto once = send_once(self, pattern, data, std::move(this_attempt), attempt_timeout);
      auto v = co_await std::move(once);
      ticket.report(attempt_failure::answered);
      co_return v;
    } catch (...) {
      failure = std::current_exception();
    }
    const auto kind = classify(failure);
    ticket.report(kind);
    permit.reset();
    const bool retryable = kind == attempt_failure::target ||
                           (kind == attempt_failure::answered && policy.retry_rpc_errors);
    if (attempt >= attempts || !retryable || !self->budget->try_retry()) {
      std::rethrow_exception(failure);
    }
    const auto wait = policy.backoff(attempt, self->random());
    if (opts.deadline && system_clock::now() + wait >= *opts.deadline) {
      std::rethrow_exception(failure);
    }
    if (wait.count() > 0) {
      auto slept = sleep(self->ex, wait);
      co_await std::move(slept);
    }
  }
}

roost::stream<json::value> client_proxy::stream_values(json::value pattern, json::value data,
                                                       call_options opts) {
  check_pattern(pattern);
  auto self = impl_;
  if (self->opts.prepare) {
    auto prepared = self->opts.prepare(opts);
    co_await std::move(prepared);
  }
  const std::string route = self->routes.route(pattern);
  std::optional<call_span> span;
  if (call_span::wanted(self->opts.tracer, opts)) [[unlikely]] {
    span.emplace(self->opts.tracer, span_kind::client, route, self->transport->name(), opts);
  }
  auto [st, id] = self->table->add();
  const outbound_message m = message_of(pattern, route, data, id, opts, self->timeout_of(opts));
  impl::call_guard guard{*self, m};
  co_await self->transport->send_request(m);
  std::optional<boost::asio::steady_timer> timer;
  const auto timeout = self->timeout_of(opts);
  arm(timer, self->ex, timeout, st);
  for (;;) {
    auto next_reply = take_reply(st);
    auto r = co_await std::move(next_reply);
    if (r.err) throw rpc_error(std::move(*r.err));
    if (r.response) co_yield std::move(*r.response);
    if (r.disposed) co_return;
    arm(timer, self->ex, timeout, st);
  }
}

awaitable<void> client_proxy::emit_value(json::value pattern, json::value data, call_options opts) {
  check_pattern(pattern);
  auto self = impl_;
  if (self->opts.prepare) {
    auto prepared = self->opts.prepare(opts);
    co_await std::move(prepared);
  }
  const std::string route = self->routes.route(pattern);
  std::optional<call_span> span;
  if (call_span::wanted(self->opts.tracer, opts)) [[unlikely]] {
    span.emplace(self->opts.tracer, span_kind::producer, route, self->transport->name(), opts);
  }
  const std::string no_id;
  const outbound_message m = message_of(pattern, route, data, no_id, opts, self->timeout_of(opts));
  std::exception_ptr failure;
  try {
    co_await self->transport->send_event(m);
  } catch (...) {
    failure = std::current_exception();
  }
  if (span) span->finish(failure);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace roost

namespace roost {

awaitable<void> client_transport::open_request_stream(const outbound_message&) {
  throw connection_error(make_error_code(error::invalid_argument),
                         std::string(name()) + " sends one message per request, not a stream");
  co_return;
}

namespace {

// Reads the caller's requests and hands them to the transport, beside the coroutine that
// awaits the replies. Stops at the end of the requests, at their error (which fails the call),
// or once the call is over (`over`, set when the caller's side of the call ends). `keep` owns
// the transport.
awaitable<void> pump_requests(std::shared_ptr<void> keep, client_transport* transport,
                              std::shared_ptr<call_state> st, std::string id,
                              roost::stream<json::value> requests,
                              std::shared_ptr<std::atomic<bool>> over) {
  (void)keep;
  std::string failure;
  try {
    for (;;) {
      auto v = co_await requests.next();
      if (over->load()) co_return;
      if (!v) break;
      transport->send_stream_value(id, *v);
    }
    transport->end_request_stream(id, false);
    co_return;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (over->load()) co_return;
  transport->end_request_stream(id, true);
  // The call fails with the requests' error, as the reply of a remote error would.
  inbound_reply r;
  r.id = json::value(id);
  r.err = json::value{{"message", failure}};
  r.disposed = true;
  st->push(std::move(r));
}

// Marks the call over when the caller's side ends, however it ends.
struct pump_stop {
  std::shared_ptr<std::atomic<bool>> over;
  ~pump_stop() { over->store(true); }
};

}  // namespace

awaitable<json::value> client_proxy::send_stream_values(json::value pattern,
                                                        roost::stream<json::value> requests,
                                                        call_options opts) {
  check_pattern(pattern);
  auto self = impl_;
  if (self->opts.prepare) {
    auto prepared = self->opts.prepare(opts);
    co_await std::move(prepared);
  }
  const std::string route = self->routes.route(pattern);
  std::optional<call_span> span;
  if (call_span::wanted(self->opts.tracer, opts)) [[unlikely]] {
    span.emplace(self->opts.tracer, span_kind::client, route, self->transport->name(), opts);
  }
  auto [st, id] = self->table->add();
  const json::value no_data;
  const outbound_message m = message_of(pattern, route, no_data, id, opts, self->timeout_of(opts));
  impl::call_guard guard{*self, m};
  co_await self->transport->open_request_stream(m);
  pump_stop stop{std::make_shared<std::atomic<bool>>(false)};
  boost::asio::co_spawn(
      self->ex, pump_requests(self, self->transport.get(), st, id, std::move(requests), stop.over),
      boost::asio::detached);
  std::optional<boost::asio::steady_timer> timer;
  const auto timeout = self->timeout_of(opts);
  arm(timer, self->ex, timeout, st);
  json::value last;
  for (;;) {
    auto next_reply = take_reply(st);
    auto r = co_await std::move(next_reply);
    if (r.err) throw rpc_error(std::move(*r.err));
    if (r.response) last = std::move(*r.response);
    if (r.disposed) break;
    arm(timer, self->ex, timeout, st);
  }
  co_return last;
}

roost::stream<json::value> client_proxy::stream_stream_values(json::value pattern,
                                                              roost::stream<json::value> requests,
                                                              call_options opts) {
  check_pattern(pattern);
  auto self = impl_;
  if (self->opts.prepare) {
    auto prepared = self->opts.prepare(opts);
    co_await std::move(prepared);
  }
  const std::string route = self->routes.route(pattern);
  std::optional<call_span> span;
  if (call_span::wanted(self->opts.tracer, opts)) [[unlikely]] {
    span.emplace(self->opts.tracer, span_kind::client, route, self->transport->name(), opts);
  }
  auto [st, id] = self->table->add();
  const json::value no_data;
  const outbound_message m = message_of(pattern, route, no_data, id, opts, self->timeout_of(opts));
  impl::call_guard guard{*self, m};
  co_await self->transport->open_request_stream(m);
  pump_stop stop{std::make_shared<std::atomic<bool>>(false)};
  boost::asio::co_spawn(
      self->ex, pump_requests(self, self->transport.get(), st, id, std::move(requests), stop.over),
      boost::asio::detached);
  std::optional<boost::asio::steady_timer> timer;
  const auto timeout = self->timeout_of(opts);
  arm(timer, self->ex, timeout, st);
  for (;;) {
    auto next_reply = take_reply(st);
    auto r = co_await std::move(next_reply);
    if (r.err) throw rpc_error(std::move(*r.err));
    if (r.response) co_yield std::move(*r.response);
    if (r.disposed) co_return;
    arm(timer, self->ex, timeout, st);
  }
}

}  // namespace roost
