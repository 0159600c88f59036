#pragma once
// The table of idempotency keys and the replies they got (`roost_idempotency`), shared by
// idempotent_consumer and outbox::transact_once: the same schema in any file, so one file may
// serve both.

#include "sqlite.hpp"

#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <functional>
#include <optional>
#include <string_view>

namespace roost::saga::detail {

/// What a key got the first time: a reply, or a refusal (an rpc_exception's error).
struct recorded_reply {
  bool failed = false;
  json::value reply;
};

void create_idempotency_table(database& db);
/// The reply recorded under `key`, or nullopt. Call it inside the transaction that records.
std::optional<recorded_reply> find_reply(database& db, std::string_view key);
void record_reply(database& db, std::string_view key, const recorded_reply& r);
/// A recorded reply as the caller gets it: the value, or the refusal thrown as the handler
/// threw it (the same `err` on the wire).
json::value replay(recorded_reply r);

/// In one transaction of `db`: the reply recorded under `key`, or `effect()`'s, recorded. A
/// refusal (rpc_exception) rolls back what `effect` wrote (a savepoint) and is recorded; any
/// other exception rolls back everything, nothing recorded. Returns (or throws) as replay().
/// `ran` tells whether `effect` ran and succeeded (its writes committed).
json::value once(database& db, std::string_view key, const std::function<json::value()>& effect,
                 bool* ran = nullptr);

}  // namespace roost::saga::detail
