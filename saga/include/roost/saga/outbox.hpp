#pragma once
/// \file roost::saga::outbox: the transactional outbox. A service's state change and the events
/// it announces are written in one SQLite transaction; a publisher sends the events after the
/// commit, through any client, until the transport confirmed each, and marks them sent. Nothing
/// committed is lost (a crash leaves the rows, the next publisher sends them) and nothing is
/// announced that did not happen (a rolled-back change takes its events with it).

#include <roost/awaitable.hpp>
#include <roost/json.hpp>
#include <roost/log.hpp>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

struct sqlite3;

namespace roost {
class client_proxy;
class context;
}  // namespace roost

namespace roost::saga {

struct outbox_options {
  /// fsync on every commit (SQLite's `synchronous=FULL`); false (`NORMAL`): a commit survives
  /// the process's crash, not the machine's.
  bool sync_every_commit = true;
  /// How long a write waits for another process holding the file.
  std::chrono::milliseconds busy_timeout{5000};
};

/// One event of the outbox.
struct outbox_event {
  std::int64_t seq = 0;  ///< the order of the commits (the publisher keeps it)
  std::string id;        ///< a UUID: the message id consumers deduplicate by
  json::value pattern;
  json::value data;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> sent_ms;  ///< when the transport confirmed it
};

struct publish_options {
  /// How long one send may take before it counts as failed (and is sent again).
  std::chrono::milliseconds timeout{5000};
  /// The wait after a failed send, doubling up to `max_backoff`; the same event is sent again.
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  /// How often the table is read without a wake-up (rows another process committed).
  std::chrono::milliseconds poll{1000};
  logger log;
  /// Called after the transport confirmed an event, before it is marked sent (tests: what it
  /// throws ends publish() as a crash there would, the event sent again by the next publisher).
  std::function<void(const outbox_event&)> on_confirmed;
};

/// The transaction a unit of work runs in: the caller's own statements on the outbox's SQLite
/// connection, and the events it announces. Valid only inside outbox::transact.
class outbox_transaction {
 public:
  /// Runs one SQL statement with `params` bound to ?1, ?2... (numbers, strings, null, booleans
  /// as 0/1; arrays and objects as their JSON text) and returns its rows, each an object by
  /// column name. Throws std::runtime_error with SQLite's message.
  json::array query(std::string_view sql, const json::array& params = {});
  /// The same for a statement without rows; returns how many rows it changed.
  std::int64_t exec(std::string_view sql, const json::array& params = {});
  /// Writes an event to the outbox in this transaction; returns its message id. Published
  /// after the commit; dropped with a rollback.
  std::string emit(json::value pattern, json::value data);
  /// The connection, for code that speaks SQLite's C API itself (never close it, never end
  /// the transaction).
  sqlite3* connection() const noexcept;

 private:
  friend class outbox;
  struct impl;
  explicit outbox_transaction(impl& i) : impl_(i) {}
  impl& impl_;
};

/// A SQLite file of the service's state and its outbox (table `roost_outbox`), with the
/// idempotency keys of the messages it consumed (table `roost_idempotency`, as
/// idempotent_consumer's: one file may serve both).
///
/// \code
/// saga::outbox box("/var/lib/inventory/state.db");
/// r.event("order.paid", [&](json::value o, roost::context& ctx) {
///   box.transact_once(ctx, [&](saga::outbox_transaction& tx) {
///     tx.exec("UPDATE stock SET qty = qty - ?2 WHERE item = ?1", {o.at("item"), o.at("qty")});
///     tx.emit("stock.reserved", o);
///     return json::value();
///   });
/// });
/// co_spawn(ex, box.publish(events_client), detached);  // sends after each commit
/// \endcode
///
/// transact() and the reads are thread-safe (one connection behind a mutex; they block on the
/// disk briefly). Run one publish() per file.
class outbox {
 public:
  /// Opens (creates) the file at `path` (":memory:" for one that dies with the object). Throws
  /// std::runtime_error when SQLite cannot.
  explicit outbox(const std::string& path, outbox_options options = {});
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  /// Runs `work(tx)` inside one transaction (BEGIN IMMEDIATE) and commits when it returns; what
  /// it throws rolls back its writes and its events and is thrown on. Returns what `work`
  /// returns. After the commit the publisher is woken. Not reentrant: `work` must not call
  /// transact() of the same outbox.
  template <class F>
  auto transact(F&& work) -> std::invoke_result_t<F&, outbox_transaction&> {
    using R = std::invoke_result_t<F&, outbox_transaction&>;
    if constexpr (std::is_void_v<R>) {
      run_transaction([&](outbox_transaction& tx) { work(tx); });
    } else {
      std::optional<R> out;
      run_transaction([&](outbox_transaction& tx) { out.emplace(work(tx)); });
      return std::move(*out);
    }
  }

  /// transact() once per idempotency key: the key is recorded with the reply in the same
  /// transaction as the work's writes and events, so the effect, its announcement and its
  /// deduplication are one (exactly once, where idempotent_consumer alone cannot be). A repeat
  /// returns the recorded reply; an rpc_exception (a refusal) rolls the work back, is recorded
  /// and thrown again on each repeat; another exception records nothing.
  json::value transact_once(std::string_view key,
                            const std::function<json::value(outbox_transaction&)>& work);
  /// The same with the key of the message `ctx` serves (idempotency_header); without one the
  /// work runs every time.
  json::value transact_once(const context& ctx,
                            const std::function<json::value(outbox_transaction&)>& work);

  /// Sends the unsent events in commit order through `client` (emit, each with its id as the
  /// idempotency_header) and marks each sent once its emit completed. Completes only when
  /// cancelled (its completion's cancellation slot: it stops at its next wait), or with what
  /// `options.on_confirmed` threw. A send that fails or times out is sent again after a
  /// backoff, and the events behind it wait: at-least-once, in order. What each client's emit
  /// waits for decides what "sent" means (docs/sagas.md): RabbitMQ's publisher confirm,
  /// Kafka's produce acknowledgement, Redis's PUBLISH or XADD reply, MQTT QoS 1/2's
  /// acknowledgement; NATS and TCP once handed to the connection. Run it on a strand or a
  /// single-threaded executor; one publisher per outbox (a second throws std::logic_error).
  awaitable<void> publish(std::shared_ptr<client_proxy> client, publish_options options = {});

  /// The unsent events in commit order (at most `limit`; 0: all).
  std::vector<outbox_event> unsent(std::size_t limit = 0) const;
  /// The event with message id `id`, sent or not.
  std::optional<outbox_event> get(std::string_view id) const;
  /// Deletes the events sent before `before`; returns how many.
  std::size_t purge_sent(std::chrono::system_clock::time_point before);

 private:
  void run_transaction(const std::function<void(outbox_transaction&)>& work);
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::saga
