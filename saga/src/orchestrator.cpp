#include <roost/saga/idempotent_consumer.hpp>
#include <roost/saga/orchestrator.hpp>

#include "ids.hpp"

#include <roost/errors.hpp>
#include <roost/router.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

namespace roost::saga {

namespace asio = boost::asio;

namespace {

using detail::new_uuid;
using detail::now_ms;

// What one call (with its retries) came to.
struct outcome {
  bool ok = false;
  json::value reply;
  std::string error;
  bool known = true;  // every failed attempt was answered (no timeout, no lost connection)
};

void check(const definition& d) {
  if (d.name.empty()) throw std::invalid_argument("saga definition without a name");
  if (d.steps.empty()) throw std::invalid_argument("saga '" + d.name + "' has no steps");
  std::set<std::string> names;
  for (const auto& s : d.steps) {
    if (s.name.empty()) throw std::invalid_argument("saga '" + d.name + "': a step without a name");
    if (!names.insert(s.name).second) {
      throw std::invalid_argument("saga '" + d.name + "': two steps named '" + s.name + "'");
    }
    if (!s.action.target || (s.compensation && !s.compensation->target)) {
      throw std::invalid_argument("saga '" + d.name + "', step '" + s.name +
                                  "': a call without a target client");
    }
  }
}

// The step whose compensation runs next, from `from` down: steps without one are skipped.
int next_compensation(const definition& d, int from) {
  while (from >= 0 && !d.steps[static_cast<std::size_t>(from)].compensation) --from;
  return from;
}

}  // namespace

struct orchestrator::impl : std::enable_shared_from_this<impl> {
  impl(executor e, std::shared_ptr<saga_log> l, orchestrator_options o)
      : ex(std::move(e)), log(std::move(l)), opts(std::move(o)), random(std::random_device{}()) {}

  executor ex;
  std::shared_ptr<saga_log> log;
  orchestrator_options opts;
  std::map<std::string, definition, std::less<>> definitions;
  mutable std::mutex mutex;  // guards `running`
  std::set<std::string, std::less<>> running;
  std::mt19937_64 random;

  const definition* find(std::string_view name) const {
    auto it = definitions.find(name);
    return it == definitions.end() ? nullptr : &it->second;
  }

  // Claims `id` for this orchestrator; false when it runs already.
  bool claim(const std::string& id) {
    std::lock_guard lock(mutex);
    return running.insert(id).second;
  }
  void release(const std::string& id) {
    std::lock_guard lock(mutex);
    running.erase(id);
  }
  bool is_running(std::string_view id) const {
    std::lock_guard lock(mutex);
    return running.find(id) != running.end();
  }

  // Commits the transition, then tells the observer: nothing after this acts on a transition
  // the log does not hold.
  void commit(record& r, event_kind kind, int step, json::value data) {
    event e;
    e.seq = r.seq + 1;
    e.kind = kind;
    e.step = step;
    e.data = std::move(data);
    e.at_ms = now_ms();
    record next = r;
    apply(next, e);
    log->append(next, e);
    r = std::move(next);
    if (opts.on_transition) opts.on_transition(r, e);
  }

  // The record of a new saga, its start committed.
  record begin(const definition& d, json::value input, const std::string& id) {
    record r;
    r.id = id;
    r.name = d.name;
    commit(r, event_kind::saga_started, -1, std::move(input));
    return r;
  }

  double draw(const retry_policy& p) {
    if (p.random) return p.random();
    return std::uniform_real_distribution<double>(0, 1)(random);
  }

  awaitable<outcome> attempt(const call& c, json::value payload, std::string key,
                             std::chrono::milliseconds timeout, retry_policy policy,
                             bool retry_refusals) {
    outcome out;
    const int attempts = std::max(1, policy.max_attempts);
    asio::steady_timer timer(ex);
    for (int i = 1;; ++i) {
      call_options o;
      o.timeout = timeout;
      o.headers.set(idempotency_header, key);
      bool retryable = true;
      try {
        json::value pattern = c.pattern;
        json::value body = payload;
        auto sent = c.target->send_value(std::move(pattern), std::move(body), std::move(o));
        auto reply = co_await std::move(sent);
        out.ok = true;
        out.reply = std::move(reply);
        co_return out;
      } catch (const rpc_error& e) {
        out.error = e.message();
        retryable = retry_refusals;
      } catch (const timeout_error& e) {
        out.error = std::string("timeout: ") + e.what();
        out.known = false;
      } catch (const connection_error& e) {
        out.error = std::string("connection: ") + e.what();
        out.known = false;
      }
      if (!retryable || i >= attempts) co_return out;
      timer.expires_after(policy.backoff(i, draw(policy)));
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  // The call's payload, or nullopt with the reason in `o` when the definition's builder threw
  // (a failure whose outcome is known: nothing was sent).
  static std::optional<json::value> payload_for(const call& c, const record& r, outcome& o) {
    if (!c.payload) return r.input;
    try {
      return c.payload(data{r.input, r.replies});
    } catch (const std::exception& e) {
      o.error = std::string("payload: ") + e.what();
      return std::nullopt;
    }
  }

  static std::string key(const std::string& id, int step, std::string_view what) {
    return id + ":" + std::to_string(step) + ":" + std::string(what);
  }

  // Runs the saga from where its record stands to its end.
  awaitable<void> drive(record r, const definition& d) {
    const int n = static_cast<int>(d.steps.size());
    while (!finished(r.state)) {
      if (r.state == status::running) {
        if (r.step >= n) {
          commit(r, event_kind::saga_finished, -1, json::object{{"status", "completed"}});
          continue;
        }
        const int i = r.step;
        const auto& s = d.steps[static_cast<std::size_t>(i)];
        commit(r, event_kind::step_started, i, nullptr);
        outcome o;
        if (auto payload = payload_for(s.action, r, o)) {
          auto op = attempt(s.action, std::move(*payload), key(r.id, i, "action"), s.timeout,
                            s.retry, s.retry.retry_rpc_errors);
          o = co_await std::move(op);
        }
        if (o.ok) {
          commit(r, event_kind::step_succeeded, i,
                 json::object{{"name", s.name}, {"reply", std::move(o.reply)}});
        } else {
          commit(r, event_kind::step_failed, i,
                 json::object{{"name", s.name}, {"error", o.error}, {"outcome_known", o.known}});
        }
        continue;
      }
      const int i = next_compensation(d, std::min(r.step, n - 1));
      if (i < 0) {
        commit(r, event_kind::saga_finished, -1, json::object{{"status", "compensated"}});
        continue;
      }
      const auto& s = d.steps[static_cast<std::size_t>(i)];
      commit(r, event_kind::compensation_started, i, nullptr);
      outcome o;
      if (auto payload = payload_for(*s.compensation, r, o)) {
        auto op = attempt(*s.compensation, std::move(*payload), key(r.id, i, "compensation"),
                          s.timeout, s.compensation_retry, true);
        o = co_await std::move(op);
      }
      if (o.ok) {
        commit(r, event_kind::compensation_succeeded, i,
               json::object{{"name", s.name}, {"reply", std::move(o.reply)}});
      } else {
        commit(r, event_kind::compensation_failed, i,
               json::object{{"name", s.name}, {"error", o.error}});
        commit(r, event_kind::saga_finished, -1, json::object{{"status", "failed_compensation"}});
      }
    }
  }

  // The saga's record as its log makes it, for a run.
  record load(const record& stored) const {
    record r = fold(log->events(stored.id));
    r.id = stored.id;
    r.name = stored.name;
    return r;
  }

  static awaitable<record> run(std::shared_ptr<impl> self, std::string name, json::value input,
                               std::string id) {
    const definition& d = *self->find(name);
    if (!self->claim(id)) {
      // Run by another coroutine of this orchestrator: wait for its end.
      asio::steady_timer timer(self->ex);
      for (;;) {
        auto r = self->log->get(id);
        if (r && finished(r->state)) co_return *r;
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(asio::use_awaitable);
      }
    }
    struct releaser {
      std::shared_ptr<impl> self;
      std::string id;
      ~releaser() { self->release(id); }
    } guard{self, id};
    auto stored = self->log->get(id);
    record r = stored ? self->load(*stored) : self->begin(d, std::move(input), id);
    auto op = self->drive(std::move(r), d);
    co_await std::move(op);
    co_return self->log->get(id).value();
  }

  void spawn(record r, const definition& d) {
    auto self = shared_from_this();
    const std::string id = r.id;
    asio::co_spawn(ex, drive(std::move(r), d), [self, id](std::exception_ptr e) {
      self->release(id);
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        self->opts.log.error("saga", "saga " + id + " stopped: " + x.what());
      }
    });
  }
};

orchestrator::orchestrator(executor ex, std::shared_ptr<saga_log> log, orchestrator_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(log), std::move(options))) {
  if (!impl_->log) throw std::invalid_argument("orchestrator: no saga_log");
}

orchestrator::~orchestrator() = default;

void orchestrator::add(definition d) {
  check(d);
  if (impl_->find(d.name)) throw std::invalid_argument("saga '" + d.name + "' added twice");
  auto name = d.name;
  impl_->definitions.emplace(std::move(name), std::move(d));
}

std::string orchestrator::start(std::string_view name, json::value input, std::string id) {
  const auto* d = impl_->find(name);
  if (!d) throw std::invalid_argument("no saga named '" + std::string(name) + "'");
  if (id.empty()) id = new_uuid();
  if (!impl_->claim(id)) return id;
  try {
    if (auto stored = impl_->log->get(id)) {
      if (finished(stored->state)) {
        impl_->release(id);
        return id;
      }
      impl_->spawn(impl_->load(*stored), *d);
      return id;
    }
    impl_->spawn(impl_->begin(*d, std::move(input), id), *d);
  } catch (...) {
    impl_->release(id);
    throw;
  }
  return id;
}

awaitable<record> orchestrator::run(std::string_view name, json::value input, std::string id) {
  // Not a coroutine: the name is checked and copied before the caller's string may go.
  if (!impl_->find(name)) throw std::invalid_argument("no saga named '" + std::string(name) + "'");
  if (id.empty()) id = new_uuid();
  return impl::run(impl_, std::string(name), std::move(input), std::move(id));
}

std::size_t orchestrator::resume() {
  filter f;
  f.unfinished_only = true;
  f.limit = 0;
  std::size_t n = 0;
  for (const auto& stored : impl_->log->list(f)) {
    const auto* d = impl_->find(stored.name);
    if (!d) {
      impl_->opts.log.error(
          "saga", "saga " + stored.id + " not resumed: no definition named '" + stored.name + "'");
      continue;
    }
    if (!impl_->claim(stored.id)) continue;
    impl_->spawn(impl_->load(stored), *d);
    ++n;
  }
  return n;
}

std::optional<record> orchestrator::get(std::string_view id) const {
  return impl_->log->get(id);
}

std::vector<record> orchestrator::list(const filter& f) const {
  return impl_->log->list(f);
}

std::size_t orchestrator::running() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->running.size();
}

void orchestrator::serve_queries(router& r) const {
  auto log = impl_->log;
  r.message("roost.saga.get", [log](json::value data) -> json::value {
    std::string id;
    if (const auto* s = data.if_string()) {
      id = std::string(*s);
    } else if (const auto* o = data.if_object();
               o && o->contains("id") && o->at("id").is_string()) {
      id = std::string(o->at("id").get_string());
    } else {
      throw rpc_exception("roost.saga.get takes a saga id, or {\"id\": \"...\"}");
    }
    auto rec = log->get(id);
    if (!rec) throw rpc_exception("no saga " + id);
    auto out = to_json(*rec);
    json::array events;
    for (const auto& e : log->events(id)) events.push_back(to_json(e));
    out.as_object()["events"] = std::move(events);
    return out;
  });
  r.message("roost.saga.list", [log](json::value data) -> json::value {
    filter f;
    if (const auto* o = data.if_object()) {
      if (const auto* s = o->if_contains("status")) {
        const auto st = s->is_string() ? status_from_string(s->get_string()) : std::nullopt;
        if (!st) throw rpc_exception("roost.saga.list: unknown status " + json::serialize(*s));
        f.state = st;
      }
      if (const auto* n = o->if_contains("name")) {
        if (!n->is_string()) throw rpc_exception("roost.saga.list: name is not a string");
        f.name = std::string(n->get_string());
      }
      if (const auto* u = o->if_contains("unfinished")) {
        if (!u->is_bool()) throw rpc_exception("roost.saga.list: unfinished is not a boolean");
        f.unfinished_only = u->get_bool();
      }
      if (const auto* l = o->if_contains("limit")) {
        if (!l->is_int64() || l->get_int64() < 1 || l->get_int64() > 10000) {
          throw rpc_exception("roost.saga.list: limit is not an integer from 1 to 10000");
        }
        f.limit = static_cast<std::size_t>(l->get_int64());
      }
    } else if (!data.is_null()) {
      throw rpc_exception(
          "roost.saga.list takes {\"status\", \"name\", \"unfinished\", \"limit\"}");
    }
    json::array out;
    for (const auto& rec : log->list(f)) out.push_back(to_json(rec));
    return out;
  });
}

}  // namespace roost::saga
