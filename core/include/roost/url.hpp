#pragma once
/// \file roost::url: transport URLs (`tcp://host:3000`, `nats://a:4222,b:4222`,
/// `amqp://user:pass@host/?queue=orders`).

#include <roost/limits.hpp>
#include <roost/tls_options.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost {

/// A parsed transport URL. Percent-escapes in the user, password and query are decoded.
struct url {
  std::string scheme;  ///< lower-cased: "tcp", "tls", "redis", ...
  std::string user;
  std::string password;
  std::string host;                   ///< first host; IPv6 without brackets
  std::optional<std::uint16_t> port;  ///< of the first host
  /// every `host[:port]` of a comma-separated authority (brokers lists), as written
  std::vector<std::string> hosts;
  std::string path;  ///< without the leading '/'
  std::vector<std::pair<std::string, std::string>> query;

  /// Parses `scheme://[user[:password]@]host[:port][,host[:port]...][/path][?k=v&...]`.
  /// Returns roost::error::invalid_argument for anything else; never throws.
  static boost::system::result<url> parse(std::string_view text);

  /// The value of a query parameter, or nullopt.
  std::optional<std::string> param(std::string_view key) const;

  /// Reads a numeric query parameter into `out`: true when it is absent (`out` unchanged) or a
  /// whole decimal number, false when it is there but not one.
  bool param_number(std::string_view key, std::uint64_t& out) const;
  bool param_number(std::string_view key, std::int64_t& out) const;

  /// Reads a duration in milliseconds into `out`: true when it is absent (`out` unchanged) or a
  /// whole non-negative decimal number, false otherwise.
  bool param_millis(std::string_view key, std::chrono::milliseconds& out) const;

  /// The TLS parameters every transport reads the same way: `ca`, `cert`, `key` (PEM files),
  /// `servername` and `verify` (`false` accepts any server certificate). Sets `out` when `on`
  /// (a TLS scheme such as `tls://` or `rediss://`) or when any of them is given; leaves it
  /// unchanged otherwise.
  void param_tls(bool on, std::optional<tls_options>& out) const;

  /// The limits every server reads the same way (roost/limits.hpp): `maxMessageSize`,
  /// `maxInFlightPerConnection`, `maxInFlight`, `maxConnections`, whole decimal numbers (0: no
  /// limit). Those given replace `out`'s; false when one is not a number.
  bool param_limits(limits& out) const;
};

}  // namespace roost
