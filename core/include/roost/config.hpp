#pragma once
/// \file roost::config: a service's settings from `ROOST_*` (and `OTEL_*`) environment
/// variables, checked, applied to the options structs, and printed with secrets masked
/// (docs/operations.md, "Configuration").
#include <roost/client_proxy.hpp>
#include <roost/limits.hpp>
#include <roost/microservice.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace roost {

/// Environment variables by name: what a config reads. Tests build one by hand; a service's
/// main takes the process's with config::from_environment().
using environment = std::map<std::string, std::string, std::less<>>;

/// One variable roost reads: the table docs/operations.md shows (a test keeps the two equal).
struct config_variable {
  std::string_view name;      ///< `ROOST_THREADS`
  std::string_view sets;      ///< what it sets: `microservice_options::threads`
  std::string_view expected;  ///< what a value must be, for error messages and the docs
  std::string_view fallback;  ///< the value in force when it is not set, as text
  bool secret = false;        ///< printed masked
};

/// Every variable of config_variables() that is set and not a value it takes, each named with
/// its value and what it expects, one a line:
/// `ROOST_THREADS="lots": expected a whole number (0: one thread per hardware thread)`.
class config_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The settings of one service, read once from an environment and checked whole: a bad value
/// fails the construction (config_error), before the service starts, rather than being ignored
/// in a running service. Unknown `ROOST_*` names are left alone (tests and tools have their
/// own). Immutable; copy it freely.
///
/// \code
/// int main(int argc, char** argv) {
///   roost::config cfg;
///   if (auto status = cfg.load(argc, argv)) return *status;  // a bad value, --print-config
///   roost::microservice app{r, cfg.apply(roost::microservice_options{})};
///   ...
/// }
/// \endcode
class config {
 public:
  /// Nothing set: every apply() leaves its options as they are.
  config() = default;
  /// Reads and checks `env`. Throws config_error naming every bad variable.
  explicit config(environment env);
  /// The process's environment: its `ROOST_*` and `OTEL_*` variables.
  static config from_environment();

  /// Every variable roost reads, in the order they are printed.
  static std::span<const config_variable> variables() noexcept;

  /// The value of `name` as set (unmasked), or nullopt when unset or empty.
  std::optional<std::string> get(std::string_view name) const;

  /// `opts` with what the environment sets replaced: threads, drain timeout, signal handling.
  /// ROOST_LOG_LEVEL and ROOST_LOG_FORMAT are read by every default logger (`opts.log` unless
  /// the program gave its own), and only checked here.
  microservice_options apply(microservice_options opts) const;
  /// `opts` with what the environment sets replaced: default timeout, retry policy, deadline
  /// header, and a circuit breaker or bulkhead when their variables are set.
  client_options apply(client_options opts) const;
  /// `l` with the server limits the environment sets replaced (each transport's
  /// `server_options::serving`). Applied after the URL's query, the environment wins.
  limits apply(limits l) const;

  /// ROOST_SERVER_URL: where the service serves (roost::make_server), or nullopt.
  std::optional<std::string> server_url() const { return get("ROOST_SERVER_URL"); }
  /// ROOST_CLIENT_URL: where the service's client calls (roost::make_client), or nullopt.
  std::optional<std::string> client_url() const { return get("ROOST_CLIENT_URL"); }

  /// One `NAME=value` line per variable, the value in force (set, else the default; `(unset)`
  /// for an optional one), secrets masked (mask()).
  std::string to_lines() const;
  /// The same as one JSON object: `{"ROOST_THREADS":{"value":"0","source":"default"},...}`,
  /// `source` being `environment` or `default`.
  std::string to_json() const;

  /// For a service's main, first thing: reads the process's environment into this config, and
  /// returns the status the program should exit with, if any: 2 when a variable is bad (the
  /// reasons written to stderr), 0 once `--print-config` was answered (print_if_asked());
  /// nullopt when the service should go on.
  std::optional<int> load(int argc, const char* const* argv, std::FILE* out = stdout);

  /// For a service's main: when the arguments hold `--print-config` (lines) or
  /// `--print-config=json`, writes the effective configuration to `out` and returns 0, the
  /// exit status; otherwise nullopt, and the service goes on.
  std::optional<int> print_if_asked(int argc, const char* const* argv,
                                    std::FILE* out = stdout) const;

  /// `value` as printed for variable `name`: `***` for a secret variable (a name with SECRET,
  /// TOKEN, PASSWORD or KEY in it, or one the table marks), and in a URL the password, a NATS
  /// token (a user with no password), and query values named like secrets.
  static std::string mask(std::string_view name, std::string_view value);

 private:
  environment env_;
};

}  // namespace roost
