#pragma once
/// \file roost::saga::definition: a saga's name and its ordered steps, each an action and an
/// optional compensation sent through a client_proxy.

#include <roost/client_proxy.hpp>
#include <roost/json.hpp>
#include <roost/retry_policy.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace roost::saga {

/// What a step's payload is made from: the saga's input and the replies of the steps that
/// succeeded so far, by step name (all of them, when compensating).
struct data {
  json::value input;
  json::object replies;
};

/// One request a step sends: `pattern` with the payload `payload(data)` (the saga's input when
/// `payload` is empty), through `target`.
struct call {
  std::shared_ptr<client_proxy> target;
  json::value pattern;
  std::function<json::value(const data&)> payload;
};

/// One step of a saga.
struct step {
  /// Unique within the saga: its reply is `data::replies[name]`.
  std::string name;
  call action;
  /// Undoes the action; none: nothing to undo (a read, a notification).
  std::optional<call> compensation;
  /// Attempts of the action. Connection errors and timeouts are retried; the handler's own
  /// error (rpc_error: "payment declined") only with `retry_rpc_errors`. The attempts' budget
  /// field is not used: a saga's steps are few and each must reach an end.
  retry_policy retry;
  /// Each attempt's timeout (action and compensation); zero: the client's default.
  std::chrono::milliseconds timeout{5000};
  /// Attempts of the compensation, every error retried; after the last the saga is
  /// `failed_compensation` (stuck, for a person to look at).
  retry_policy compensation_retry{.max_attempts = 10};
};

/// A saga: what the orchestrator runs under `name`.
struct definition {
  std::string name;
  std::vector<step> steps;
};

}  // namespace roost::saga
