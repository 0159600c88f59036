#pragma once
// The client's connection to one server (client::impl), shared by the single-server client and
// each server of a balancing one (balancer.hpp).

#include "connection.hpp"

#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>
#include <roost/net/tls_context.hpp>
#include <roost/packet.hpp>
#include <roost/tcp/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>

namespace roost::tcp {

namespace asio = boost::asio;

namespace detail {
class balancer;

inline constexpr std::string_view client_source = "tcp client";

[[noreturn]] inline void throw_closed() {
  throw connection_error(make_error_code(error::connection_lost), "Connection closed");
}
}  // namespace detail

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o)
      : opts(std::move(o)),
        tls(opts.tls ? std::optional(net::make_tls_context(*opts.tls, net::tls_side::client))
                     : std::nullopt) {}

  // The open connection, if there is one.
  std::shared_ptr<detail::connection> open_connection() {
    std::lock_guard lock(mutex);
    return conn && conn->is_open() ? conn : nullptr;
  }

  // Completes with an open connection, opening one if needed; concurrent callers share one
  // attempt.
  awaitable<std::shared_ptr<detail::connection>> connection_for_call() {
    auto ready = [this] { return open_connection(); };
    auto attempt = [this]() -> awaitable<std::shared_ptr<detail::connection>> {
      auto open_reported = roost::detail::reported_attempt<std::shared_ptr<detail::connection>>(
          listener, [this] { return open(); });
      auto c = co_await std::move(open_reported);
      std::lock_guard lock(mutex);
      conn = c;
      co_return c;
    };
    auto c = flight.run(ready, attempt);
    co_return co_await std::move(c);
  }

  awaitable<std::shared_ptr<detail::connection>> open() {
    auto ex = co_await asio::this_coro::executor;
    auto strand = asio::make_strand(ex);
    // Connect on the connection's strand, where the deadline's handler runs too.
    auto c = co_await asio::co_spawn(strand, open_on(strand), asio::use_awaitable);
    co_return c;
  }

  awaitable<std::shared_ptr<detail::connection>> open_on(detail::strand_type strand) {
    net::connect_attempt a(strand, opts.connect_timeout);
    // In a statement of its own: GCC 12 destroys by-value arguments of a coroutine called
    // inside a co_await expression twice.
    auto connect =
        a.connect(opts.host, opts.port, tls ? &*tls : nullptr, opts.tls.value_or(tls_options{}));
    co_await std::move(connect);
    auto c = std::make_shared<detail::connection>(a.finish(), strand, opts.limits, opts.log,
                                                  detail::client_source);
    std::weak_ptr<impl> weak = shared_from_this();
    c->start(
        [weak](detail::connection& conn, std::string_view frame) {
          if (auto s = weak.lock()) s->on_frame(conn, frame);
        },
        [weak](detail::connection& conn, std::string_view why) {
          if (auto s = weak.lock()) s->on_close(conn, why);
        });
    co_return c;
  }

  void on_frame(detail::connection& c, std::string_view frame) {
    auto reply = decode_reply(frame);
    if (!reply) {
      opts.log.error(detail::client_source, "The invalid received message from tcp server (from " +
                                                c.remote() + "); closing the connection");
      c.close();
      return;
    }
    if (listener) listener->on_reply(std::move(*reply));
  }

  void on_close(detail::connection& c, std::string_view why) {
    {
      std::lock_guard lock(mutex);
      if (conn.get() == &c) conn.reset();
    }
    if (listener) {
      listener->on_connection_lost(
          make_error_code(why.empty() ? error::connection_closed : error::connection_lost),
          "Connection closed");
      listener->on_status(connection_status::disconnected);
    }
  }

  void close() {
    std::shared_ptr<detail::connection> c;
    {
      std::lock_guard lock(mutex);
      c = std::move(conn);
    }
    // Events and requests already accepted still reach the server, as Node's socket.end().
    if (c) c->close_when_flushed();
  }

  client_options opts;
  std::optional<asio::ssl::context> tls;
  std::shared_ptr<client_listener> listener;
  std::mutex mutex;
  std::shared_ptr<detail::connection> conn;
  roost::detail::single_flight<std::shared_ptr<detail::connection>> flight;
  /// Set when the client balances over several servers: then this object holds no connection
  /// of its own and every call goes through the balancer.
  std::shared_ptr<detail::balancer> balanced;
};

}  // namespace roost::tcp
