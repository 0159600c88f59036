#include <roost/tcp/client.hpp>

#include "connection.hpp"

#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>
#include <roost/net/tls_context.hpp>
#include <roost/packet.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>

namespace roost::tcp {

namespace asio = boost::asio;
using asio::use_awaitable;
using detail::connection;

namespace {
constexpr std::string_view source = "tcp client";

[[noreturn]] void throw_closed() {
  throw connection_error(make_error_code(error::connection_lost), "Connection closed");
}
}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o)
      : opts(std::move(o)),
        tls(opts.tls ? std::optional(net::make_tls_context(*opts.tls, net::tls_side::client))
                     : std::nullopt) {}

  // Completes with an open connection, opening one if needed; concurrent callers share one
  // attempt.
  // The open connection, if there is one.
  std::shared_ptr<connection> open_connection() {
    std::lock_guard lock(mutex);
    return conn && conn->is_open() ? conn : nullptr;
  }

  awaitable<std::shared_ptr<connection>> connection_for_call() {
    auto ready = [this] { return open_connection(); };
    auto attempt = [this]() -> awaitable<std::shared_ptr<connection>> {
      auto open_reported = roost::detail::reported_attempt<std::shared_ptr<connection>>(
          listener, [this] { return open(); });
      auto c = co_await std::move(open_reported);
      std::lock_guard lock(mutex);
      conn = c;
      co_return c;
    };
    auto c = flight.run(ready, attempt);
    co_return co_await std::move(c);
  }

  awaitable<std::shared_ptr<connection>> open() {
    auto ex = co_await asio::this_coro::executor;
    auto strand = asio::make_strand(ex);
    // Connect on the connection's strand, where the deadline's handler runs too.
    auto c = co_await asio::co_spawn(strand, open_on(strand), use_awaitable);
    co_return c;
  }

  awaitable<std::shared_ptr<connection>> open_on(detail::strand_type strand) {
    net::connect_attempt a(strand, opts.connect_timeout);
    // In a statement of its own: GCC 12 destroys by-value arguments of a coroutine called
    // inside a co_await expression twice.
    auto connect =
        a.connect(opts.host, opts.port, tls ? &*tls : nullptr, opts.tls.value_or(tls_options{}));
    co_await std::move(connect);
    auto c = std::make_shared<connection>(a.finish(), strand, opts.limits, opts.log, source);
    std::weak_ptr<impl> weak = shared_from_this();
    c->start(
        [weak](connection& conn, std::string_view frame) {
          if (auto s = weak.lock()) s->on_frame(conn, frame);
        },
        [weak](connection& conn, std::string_view why) {
          if (auto s = weak.lock()) s->on_close(conn, why);
        });
    co_return c;
  }

  void on_frame(connection& c, std::string_view frame) {
    auto reply = decode_reply(frame);
    if (!reply) {
      opts.log.error(source, "The invalid received message from tcp server (from " + c.remote() +
                                 "); closing the connection");
      c.close();
      return;
    }
    if (listener) listener->on_reply(std::move(*reply));
  }

  void on_close(connection& c, std::string_view why) {
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
    std::shared_ptr<connection> c;
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
  std::shared_ptr<connection> conn;
  roost::detail::single_flight<std::shared_ptr<connection>> flight;
};

client::client(client_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
client::client(client&&) noexcept = default;
client::~client() {
  if (impl_) impl_->close();
}

void client::set_listener(std::shared_ptr<client_listener> l) noexcept {
  impl_->listener = std::move(l);
}

awaitable<void> client::connect() {
  co_await impl_->connection_for_call();
}

awaitable<void> client::send_request(const outbound_message& m) {
  // Connected (nearly every call): no coroutine of connection_for_call's to go through.
  auto c = impl_->open_connection();
  if (!c) c = co_await impl_->connection_for_call();
  // Encoded straight into the connection's output.
  const bool sent = c->send_with([&m](std::string& out) {
    encode_request(out, m.pattern, m.data, std::string_view(m.id), m.metadata);
  });
  if (!sent) throw_closed();
}

awaitable<void> client::send_event(const outbound_message& m) {
  auto c = co_await impl_->connection_for_call();
  std::string text;
  // NestJS's ClientTCP sends an event's pattern as its normalized route string.
  encode_event(text, json::value(m.route), m.data, m.metadata);
  if (!c->send(text)) throw_closed();
}

void client::close() {
  impl_->close();
}

}  // namespace roost::tcp
