#pragma once
/// \file What the transports' broker tests share around a broker: its URL from the
/// environment, names no other test uses, a free port, waiting on a plain thread, and a broker
/// process of a test's own.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace roost::testing {

/// The URL in the environment variable `variable` (e.g. ROOST_NATS_URL). When it is missing or
/// empty, throws std::runtime_error saying how to start the brokers: a test without its broker
/// fails, it never skips.
std::string broker_url(const char* variable);

/// A random number, as text, for names (subjects, topics, keys) no other test or run uses.
std::string unique_number();

/// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

/// Polls `pred` on the calling thread every `every` until it holds (true) or `timeout` has
/// passed (false). For code that is not a coroutine.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds every = std::chrono::milliseconds(5));

/// A broker of the test's own: `command args...` started with its output discarded, ready once
/// 127.0.0.1:port accepts connections; stopped (killed) by stop() or the destructor, and
/// started again by start(), for tests of a broker that goes away.
class broker_process {
 public:
  broker_process(std::string command, std::vector<std::string> args, std::uint16_t port);
  ~broker_process();
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  /// Starts the command (stopping the one this object started before, if any) and waits (up to
  /// 10 s) until the port accepts connections; throws std::runtime_error if it cannot start,
  /// exits, or does not listen.
  void start();
  /// Kills the process and waits for it; nothing when it is not running.
  void stop();

  std::uint16_t port() const noexcept { return port_; }

 private:
  std::string command_;
  std::vector<std::string> args_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

}  // namespace roost::testing
