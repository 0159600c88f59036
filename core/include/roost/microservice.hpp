#pragma once
/// \file roost::microservice: runs a router on one or more server transports.

#include <roost/adaptive_limit.hpp>
#include <roost/awaitable.hpp>
#include <roost/dispatcher.hpp>
#include <roost/log.hpp>
#include <roost/router.hpp>
#include <roost/server_transport.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace roost {

struct microservice_options {
  /// Threads that run handlers and I/O; 0 means one per hardware thread.
  unsigned threads = 0;
  /// How long a graceful shutdown waits for the transports to stop taking messages
  /// (server_transport::stopped()) and the handlers in flight to finish, before closing
  /// anyway; then, at most as long again, for the transports to write the replies of the
  /// drained handlers and close (server_transport::closed()).
  std::chrono::milliseconds drain_timeout{10'000};
  /// Stop gracefully on SIGINT and SIGTERM; a second one while the shutdown is under way ends
  /// run() at once (it returns 128 + the signal), without waiting for the handlers in flight.
  bool handle_signals = true;
  /// An adaptive concurrency limit for the whole service (roost/adaptive_limit.hpp,
  /// docs/resilience.md "Overload"): messages beyond it are refused at once with "Too many
  /// requests in flight". Off by default, as in NestJS: a limit learnt from latency suits a
  /// service whose latency grows with its load, which only its owner knows.
  std::optional<adaptive_limit::options> concurrency_limit;
  /// When true and ROOST_CONCURRENCY_LIMIT is set, it replaces `concurrency_limit` (`off`,
  /// `adaptive`, `adaptive,max=200,...`: adaptive_limit::parse()); a bad value is logged and
  /// `concurrency_limit` kept.
  bool from_environment = true;
  logger log;
};

/// A service: one router served on one or more transports at once (NestJS's hybrid app).
///
/// \code
/// roost::microservice app{r};
/// app.add_transport(roost::tcp::server({.port = 3000}));
/// return app.run();
/// \endcode
///
/// The router must outlive the microservice and is not modified while it runs.
class microservice {
 public:
  explicit microservice(const router& r, microservice_options opts = {});
  ~microservice();
  microservice(const microservice&) = delete;
  microservice& operator=(const microservice&) = delete;

  /// Adds a transport to serve on. Call before run() or start().
  microservice& add_transport(std::unique_ptr<server_transport> t);

  /// Adds a transport given by value (`app.add_transport(roost::tcp::server({.port = 3000}))`)
  /// and returns it, e.g. to read the port it bound.
  template <class T>
  requires std::derived_from<std::remove_cvref_t<T>, server_transport> std::remove_cvref_t<T>
  &add_transport(T&& t) {
    auto p = std::make_unique<std::remove_cvref_t<T>>(std::forward<T>(t));
    auto& ref = *p;
    add_transport(std::unique_ptr<server_transport>(std::move(p)));
    return ref;
  }

  /// Serves until stop() or SIGINT/SIGTERM, then stops taking messages, lets the handlers in
  /// flight finish (up to drain_timeout), closes, and returns 0. Returns 1 when a transport
  /// could not start (the reason is logged). A SIGINT or SIGTERM while the shutdown is under
  /// way (the second Ctrl-C) stops the executor at once and returns 128 + the signal's number
  /// (130, 143): the handlers still running are abandoned, their replies never sent, the
  /// broker messages they were serving left unacknowledged (the broker delivers them again).
  int run();

  /// Starts every transport on the calling coroutine's executor and completes once all listen
  /// (for embedding the service in your own io_context, and for tests). Throws what a
  /// transport threw.
  awaitable<void> start();

  /// Graceful shutdown of what start() started: stop accepting (and wait until each transport
  /// stopped()), refuse what still comes (dispatcher::stop_taking()), drain the handlers in
  /// flight, close (and wait until each transport closed()); each wait up to drain_timeout.
  awaitable<void> shutdown();

  /// Called by run() once every transport listens (e.g. to print a readiness line).
  void on_ready(std::function<void()> f);

  /// Asks run() to shut down gracefully. Thread-safe; may be called from a handler.
  void stop();

  /// Whether the service takes traffic: every transport listens and says it is ready
  /// (server_transport::ready()), and no shutdown has begun (false from the moment a stop is
  /// asked, while the handlers in flight drain). Thread-safe; for readiness probes.
  bool ready() const noexcept;

  /// The io_context run() drives (valid for the microservice's lifetime).
  boost::asio::io_context& io_context() noexcept;

  /// Also the adaptive limit's owner, when there is one (dispatcher().limiter()).
  roost::dispatcher& dispatcher() noexcept;
  const logger& log() const noexcept;

  /// The service-wide enhancers (guards, pipes, interceptors, filters; roost/enhancers.hpp).
  /// Unlike a NestJS hybrid app, they apply to every transport of the service. Set them up
  /// before run() or start().
  enhancers& enhance() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace roost
