#pragma once
// `roost health` and `roost metrics`: one GET to a service's HTTP side port (/readyz,
// /healthz, /metrics), plain HTTP, under one deadline.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace roost::cli {

struct probe_answer {
  unsigned status = 0;
  std::string body;
};

/// The side port's host and port from `http://host:port[/]` or `host:port`; nullopt when it
/// is neither (a path other than "/", another scheme, no port).
struct side_port_address {
  std::string host;
  std::string port;
};
std::optional<side_port_address> parse_side_port_url(std::string_view url);

/// GET `path` from the side port. Returns the answer, or nullopt with `why` set when there is
/// none (no connection, the deadline, not HTTP).
std::optional<probe_answer> probe(const side_port_address& at, std::string_view path,
                                  std::chrono::milliseconds timeout, std::string& why);

}  // namespace roost::cli
