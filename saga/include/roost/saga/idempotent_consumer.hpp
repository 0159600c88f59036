#pragma once
/// \file roost::saga::idempotent_consumer: runs a handler's effect once per idempotency key, so
/// that a message delivered again (a saga step re-sent after a crash, an event redelivered)
/// does no harm.

#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace roost {
class context;
}

namespace roost::saga {

/// The header that carries a message's idempotency key. The orchestrator sets it on every step
/// call to `<saga id>:<step index>:action` or `<saga id>:<step index>:compensation`; on TCP and
/// Redis it travels in the packet's `metadata` (which NestJS 11 servers ignore and NestJS 12
/// servers hand to `getMetadata()`), on NATS, RabbitMQ, Kafka, MQTT 5 and gRPC as a header.
inline constexpr std::string_view idempotency_header = "x-roost-idempotency-key";

/// A SQLite table of the keys seen and the reply each got. Thread-safe; several processes may
/// share one file.
///
/// \code
/// r.message("payments.charge", [&](json::value order, roost::context& ctx) {
///   return payments_seen.once(ctx, [&] { return charge(order); });
/// });
/// \endcode
class idempotent_consumer {
 public:
  /// Opens (creates) the table `roost_idempotency` in the SQLite file at `path` (":memory:"
  /// for one that dies with the object). Throws std::runtime_error when SQLite cannot.
  explicit idempotent_consumer(const std::string& path,
                               std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  ~idempotent_consumer();
  idempotent_consumer(const idempotent_consumer&) = delete;
  idempotent_consumer& operator=(const idempotent_consumer&) = delete;

  /// Runs `effect` and records its reply under `key`, in one SQLite transaction; when `key` was
  /// recorded already, returns that reply without running `effect`. An rpc_exception `effect`
  /// throws (a refusal: "payment declined") is recorded too and thrown again on each repeat;
  /// another exception records nothing (the next delivery runs `effect` again). Calls with one
  /// key are serialized, in this process and across processes sharing the file, so a repeat
  /// that arrives while the first is running waits for its reply.
  ///
  /// `effect` runs inside the transaction: when its state is in memory or in another store, a
  /// crash between the effect and the commit loses the record (the next delivery runs it
  /// again). Exactly once needs the effect's own writes in the same transaction (a later
  /// release: the transactional outbox).
  json::value once(std::string_view key, const std::function<json::value()>& effect);
  /// The same with the key of the message `ctx` serves (its idempotency_header); a message
  /// without one runs `effect` every time.
  json::value once(const context& ctx, const std::function<json::value()>& effect);

  /// The key of the message `ctx` serves, or nullopt.
  static std::optional<std::string> key_of(const context& ctx);
  /// Whether `key` was recorded.
  bool seen(std::string_view key) const;
  /// Keys recorded.
  std::size_t size() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace roost::saga
