#include <roost/tcp/client.hpp>

#include "connection.hpp"
#include "tls.hpp"

#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>

#include <mutex>
#include <vector>

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
        tls(opts.tls ? std::optional(detail::make_tls_context(*opts.tls, false)) : std::nullopt) {}

  // Completes with an open connection, opening one if needed; concurrent callers share one
  // attempt.
  awaitable<std::shared_ptr<connection>> connection_for_call() {
    for (;;) {
      {
        std::unique_lock lock(mutex);
        if (conn && conn->is_open()) co_return conn;
        if (!connecting) {
          connecting = true;
          break;
        }
      }
      // A failed attempt's exception is rethrown here by use_awaitable.
      co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::exception_ptr)>(
          [this](auto handler) {
            std::unique_lock lock(mutex);
            if (!connecting) {
              lock.unlock();
              auto ex = asio::get_associated_executor(handler);
              asio::post(ex, asio::append(std::move(handler), std::exception_ptr()));
              return;
            }
            auto ex = asio::get_associated_executor(handler);
            waiters.emplace_back(std::move(ex), std::move(handler));
          },
          use_awaitable);
    }
    std::exception_ptr failure;
    std::shared_ptr<connection> c;
    if (listener) listener->on_status(connection_status::connecting);
    try {
      c = co_await open();
    } catch (...) {
      failure = std::current_exception();
    }
    std::vector<waiter> wake;
    {
      std::lock_guard lock(mutex);
      connecting = false;
      conn = c;
      wake.swap(waiters);
    }
    for (auto& [ex, h] : wake) asio::post(ex, asio::append(std::move(h), failure));
    if (listener) {
      listener->on_status(c ? connection_status::connected : connection_status::disconnected);
    }
    if (failure) std::rethrow_exception(failure);
    co_return c;
  }

  awaitable<std::shared_ptr<connection>> open() {
    auto ex = co_await asio::this_coro::executor;
    auto strand = asio::make_strand(ex);
    // Connect on the connection's strand, where the deadline's handler runs too.
    auto c = co_await asio::co_spawn(strand, open_on(strand), use_awaitable);
    co_return c;
  }

  // What one connection attempt owns; shared with the deadline's handler.
  struct attempt {
    detail::socket_type plain;
    std::unique_ptr<detail::tls_stream> tls;
    bool timed_out = false;
    detail::socket_type& socket() { return tls ? tls->next_layer() : plain; }
  };

  awaitable<std::shared_ptr<connection>> open_on(detail::strand_type strand) {
    const std::string where = opts.host + ":" + std::to_string(opts.port);
    asio::ip::tcp::resolver resolver(strand);
    auto [rec, endpoints] = co_await resolver.async_resolve(opts.host, std::to_string(opts.port),
                                                            asio::as_tuple(use_awaitable));
    if (rec) {
      throw connection_error(make_error_code(error::not_connected),
                             "cannot resolve " + opts.host + ": " + rec.message());
    }
    auto a = std::make_shared<attempt>(attempt{detail::socket_type(strand), nullptr});
    // The deadline closes the socket, which fails whatever step is in progress.
    asio::steady_timer deadline(strand, opts.connect_timeout);
    deadline.async_wait([a](boost::system::error_code ec) {
      if (ec) return;
      a->timed_out = true;
      a->socket().close(ec);
    });
    auto [cec, ep] =
        co_await asio::async_connect(a->plain, endpoints, asio::as_tuple(use_awaitable));
    if (cec) {
      deadline.cancel();
      throw connection_error(make_error_code(a->timed_out ? error::timeout : error::not_connected),
                             "cannot connect to " + where + ": " +
                                 (a->timed_out ? std::string("timed out") : cec.message()));
    }
    std::shared_ptr<connection> c;
    if (tls) {
      a->tls = std::make_unique<detail::tls_stream>(std::move(a->plain), *tls);
      auto& stream = *a->tls;
      const std::string name = opts.tls->server_name.empty() ? opts.host : opts.tls->server_name;
      // SNI carries host names only (RFC 6066), never an address.
      boost::system::error_code not_ip;
      asio::ip::make_address(name, not_ip);
      if (not_ip) SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
      if (opts.tls->verify_peer)
        stream.set_verify_callback(asio::ssl::host_name_verification(name));
      auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client,
                                                   asio::as_tuple(use_awaitable));
      deadline.cancel();
      if (hec) {
        throw connection_error(make_error_code(error::not_connected),
                               "TLS handshake with " + where + " failed: " + hec.message());
      }
      c = std::make_shared<connection>(std::move(a->tls), strand, opts.limits, opts.log, source);
    } else {
      deadline.cancel();
      c = std::make_shared<connection>(std::move(a->plain), strand, opts.limits, opts.log, source);
    }
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
  client_listener* listener = nullptr;
  std::mutex mutex;
  std::shared_ptr<connection> conn;
  bool connecting = false;
  // Callers waiting for a connection attempt, with their executors (1.81's type-erased handler
  // cannot post to its own).
  using waiter = std::pair<executor, asio::any_completion_handler<void(std::exception_ptr)>>;
  std::vector<waiter> waiters;
};

client::client(client_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
client::client(client&&) noexcept = default;
client::~client() {
  if (impl_) impl_->close();
}

void client::set_listener(client_listener* l) noexcept {
  impl_->listener = l;
}

awaitable<void> client::connect() {
  co_await impl_->connection_for_call();
}

awaitable<void> client::send_request(const outbound_message& m) {
  auto c = co_await impl_->connection_for_call();
  std::string text;
  encode_request(text, m.pattern, m.data, json::value(m.id), m.metadata);
  if (!c->send(text)) throw_closed();
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
