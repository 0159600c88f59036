#include <roost/saga/outbox.hpp>

#include "idempotency.hpp"
#include "ids.hpp"
#include "sqlite.hpp"

#include <roost/client_proxy.hpp>
#include <roost/context.hpp>
#include <roost/errors.hpp>
#include <roost/saga/idempotent_consumer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>

namespace roost::saga {

namespace asio = boost::asio;

namespace {

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS roost_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, pattern TEXT NOT NULL,
  data TEXT NOT NULL, created_ms INTEGER NOT NULL, sent_ms INTEGER);
CREATE INDEX IF NOT EXISTS roost_outbox_unsent ON roost_outbox (seq) WHERE sent_ms IS NULL;
)";

constexpr const char* event_columns =
    "SELECT seq, id, pattern, data, created_ms, sent_ms FROM roost_outbox ";

outbox_event read_event(const detail::statement& s) {
  outbox_event e;
  e.seq = s.integer(0);
  e.id = s.text(1);
  e.pattern = detail::parse_or_null(s.text(2));
  e.data = detail::parse_or_null(s.text(3));
  e.created_ms = s.integer(4);
  if (!s.is_null(5)) e.sent_ms = s.integer(5);
  return e;
}

void bind_params(detail::statement& s, const json::array& params) {
  int i = 1;
  for (const auto& p : params) {
    if (p.is_null()) {
      s.bind_null(i);
    } else if (p.is_int64()) {
      s.bind(i, p.get_int64());
    } else if (p.is_uint64()) {
      s.bind(i, static_cast<std::int64_t>(p.get_uint64()));
    } else if (p.is_double()) {
      s.bind(i, p.get_double());
    } else if (p.is_bool()) {
      s.bind(i, std::int64_t{p.get_bool() ? 1 : 0});
    } else if (p.is_string()) {
      s.bind(i, std::string_view(p.get_string()));
    } else {
      s.bind(i, json::serialize(p));
    }
    ++i;
  }
}

json::value column_value(const detail::statement& s, int col) {
  switch (s.type(col)) {
    case detail::statement::kind::integer:
      return s.integer(col);
    case detail::statement::kind::real:
      return s.real(col);
    case detail::statement::kind::null:
      return nullptr;
    case detail::statement::kind::text:
      break;
  }
  return json::string(s.text(col));
}

}  // namespace

struct outbox::impl {
  impl(const std::string& path, const outbox_options& o)
      : db(path, o.sync_every_commit ? "FULL" : "NORMAL", o.busy_timeout) {
    db.exec(schema);
    detail::create_idempotency_table(db);
  }

  mutable std::mutex mutex;  // the connection, and `wake`
  mutable detail::database db;
  // The running publisher's wake-up (posted to its executor), empty when none runs.
  std::function<void()> wake;
  // Set by a commit that wrote events, cleared by the publisher before it reads the table: a
  // commit it did not see keeps it from going to sleep.
  std::atomic<bool> dirty{false};

  void committed(bool wrote_events) {
    if (!wrote_events) return;
    dirty = true;
    std::lock_guard lock(mutex);
    if (wake) wake();
  }
};

struct outbox_transaction::impl {
  detail::database& db;
  bool emitted = false;
};

json::array outbox_transaction::query(std::string_view sql, const json::array& params) {
  const std::string text(sql);
  auto s = impl_.db.prepare(text.c_str());
  bind_params(s, params);
  json::array rows;
  while (s.step()) {
    json::object row;
    const int n = s.column_count();
    for (int c = 0; c < n; ++c) row[s.column_name(c)] = column_value(s, c);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::int64_t outbox_transaction::exec(std::string_view sql, const json::array& params) {
  const std::string text(sql);
  auto s = impl_.db.prepare(text.c_str());
  bind_params(s, params);
  s.run();
  return impl_.db.changes();
}

std::string outbox_transaction::emit(json::value pattern, json::value data) {
  std::string id = detail::new_uuid();
  impl_.db
      .prepare("INSERT INTO roost_outbox (id, pattern, data, created_ms) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, id)
      .bind(2, json::serialize(pattern))
      .bind(3, json::serialize(data))
      .bind(4, detail::now_ms())
      .run();
  impl_.emitted = true;
  return id;
}

sqlite3* outbox_transaction::connection() const noexcept {
  return impl_.db.handle();
}

outbox::outbox(const std::string& path, outbox_options options)
    : impl_(std::make_shared<impl>(path, options)) {}

outbox::~outbox() = default;

void outbox::run_transaction(const std::function<void(outbox_transaction&)>& work) {
  bool emitted = false;
  {
    std::lock_guard lock(impl_->mutex);
    detail::transaction t(impl_->db);
    outbox_transaction::impl state{impl_->db};
    outbox_transaction tx(state);
    work(tx);
    t.commit();
    emitted = state.emitted;
  }
  impl_->committed(emitted);
}

json::value outbox::transact_once(std::string_view key,
                                  const std::function<json::value(outbox_transaction&)>& work) {
  bool ran = false;
  bool emitted = false;
  std::optional<json::value> reply;
  std::exception_ptr refusal;
  {
    std::lock_guard lock(impl_->mutex);
    outbox_transaction::impl state{impl_->db};
    outbox_transaction tx(state);
    try {
      reply = detail::once(
          impl_->db, key, [&] { return work(tx); }, &ran);
    } catch (const rpc_exception&) {
      refusal = std::current_exception();
    }
    emitted = ran && state.emitted;
  }
  // The publisher is woken outside the connection's lock.
  impl_->committed(emitted);
  if (refusal) std::rethrow_exception(refusal);
  return std::move(*reply);
}

json::value outbox::transact_once(const context& ctx,
                                  const std::function<json::value(outbox_transaction&)>& work) {
  if (auto key = idempotent_consumer::key_of(ctx)) return transact_once(*key, work);
  return transact([&](outbox_transaction& tx) { return work(tx); });
}

std::vector<outbox_event> outbox::unsent(std::size_t limit) const {
  std::lock_guard lock(impl_->mutex);
  const std::string sql =
      std::string(event_columns) + "WHERE sent_ms IS NULL ORDER BY seq LIMIT ?1";
  auto s = impl_->db.prepare(sql.c_str());
  s.bind(1, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
  std::vector<outbox_event> out;
  while (s.step()) out.push_back(read_event(s));
  return out;
}

std::optional<outbox_event> outbox::get(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  const std::string sql = std::string(event_columns) + "WHERE id = ?1";
  auto s = impl_->db.prepare(sql.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_event(s);
}

std::size_t outbox::purge_sent(std::chrono::system_clock::time_point before) {
  std::lock_guard lock(impl_->mutex);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  impl_->db.prepare("DELETE FROM roost_outbox WHERE sent_ms IS NOT NULL AND sent_ms < ?1")
      .bind(1, std::int64_t{ms})
      .run();
  return static_cast<std::size_t>(impl_->db.changes());
}

namespace {

// One send, bounded by `timeout`. The emit runs as a coroutine of its own so that a transport
// whose emit ignores cancellation (or waits for a connection) cannot hold the publisher: after
// the timeout the publisher moves on (and sends the event again), and the late emit finishes
// alone, owning its client; when it does go through, the consumer gets a duplicate, which its
// deduplication by message id absorbs.
awaitable<std::string> send_once(const std::shared_ptr<client_proxy>& client, const outbox_event& e,
                                 std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  struct state {
    explicit state(executor ex) : timer(std::move(ex)) {}
    asio::steady_timer timer;
    bool done = false;
    std::string error;
  };
  auto st = std::make_shared<state>(ex);
  call_options o;
  o.headers.set(idempotency_header, e.id);
  asio::co_spawn(ex, client->emit_value(e.pattern, e.data, std::move(o)),
                 [st](std::exception_ptr failure) {
                   st->done = true;
                   if (failure) {
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& x) {
                       st->error = x.what();
                     } catch (...) {
                       st->error = "unknown error";
                     }
                   }
                   st->timer.cancel();
                 });
  st->timer.expires_after(timeout);
  if (!st->done) co_await st->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!st->done) co_return "no confirmation within " + std::to_string(timeout.count()) + " ms";
  co_return st->error;
}

// Whether the caller cancelled the publisher (the waits complete quietly either way: a wake-up
// cancels them too).
awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

awaitable<void> outbox::publish(std::shared_ptr<client_proxy> client, publish_options o) {
  if (!client) throw std::invalid_argument("outbox::publish: no client");
  auto self = impl_;
  auto ex = co_await asio::this_coro::executor;
  // A cancellation ends the loop at its next check, not with an exception from a wait.
  co_await asio::this_coro::throw_if_cancelled(false);
  auto timer = std::make_shared<asio::steady_timer>(ex);
  {
    std::lock_guard lock(self->mutex);
    if (self->wake) throw std::logic_error("outbox::publish: a publisher runs already");
    std::weak_ptr<asio::steady_timer> weak = timer;
    self->wake = [ex, weak] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
  }
  struct unregister {
    std::shared_ptr<impl> self;
    ~unregister() {
      std::lock_guard lock(self->mutex);
      self->wake = nullptr;
    }
  } on_exit{self};

  auto backoff = o.initial_backoff;
  for (;;) {
    self->dirty = false;
    bool failed = false;
    for (auto& e : unsent(64)) {
      auto error = co_await send_once(client, e, o.timeout);
      if (co_await cancelled()) co_return;
      if (!error.empty()) {
        o.log.warn("outbox", "event " + e.id + " (" + json::serialize(e.pattern) +
                                 ") not confirmed, sent again in " +
                                 std::to_string(backoff.count()) + " ms: " + error);
        failed = true;
        break;
      }
      if (o.on_confirmed) o.on_confirmed(e);
      {
        std::lock_guard lock(self->mutex);
        self->db.prepare("UPDATE roost_outbox SET sent_ms = ?2 WHERE seq = ?1")
            .bind(1, e.seq)
            .bind(2, detail::now_ms())
            .run();
      }
      backoff = o.initial_backoff;
      self->dirty = true;  // the batch may have had more behind it
    }
    if (failed) {
      timer->expires_after(backoff);
      backoff = std::min(backoff * 2, o.max_backoff);
      // A wake-up must not cut the backoff short: wait it out.
      while (timer->expiry() > asio::steady_timer::clock_type::now()) {
        co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
        if (co_await cancelled()) co_return;
      }
      continue;
    }
    if (self->dirty) continue;
    timer->expires_after(o.poll);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (co_await cancelled()) co_return;
  }
}

}  // namespace roost::saga
