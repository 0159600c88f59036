#include <roost/ws/client.hpp>

#include "connection.hpp"

#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>
#include <roost/net/tls_context.hpp>
#include <roost/packet.hpp>
#include <roost/ws/detail/message_codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <mutex>

namespace roost::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::use_awaitable;
using detail::connection;

namespace {
constexpr std::string_view source = "ws client";

[[noreturn]] void throw_closed() {
  throw connection_error(make_error_code(error::connection_lost), "Connection closed");
}

[[noreturn]] void throw_cannot_connect(const client_options& o, std::string_view why) {
  throw connection_error(make_error_code(error::not_connected),
                         "ws: cannot connect to " + o.host + ":" + std::to_string(o.port) + o.path +
                             ": " + std::string(why));
}
}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o)
      : opts(std::move(o)),
        tls(opts.tls ? std::optional(net::make_tls_context(*opts.tls, net::tls_side::client))
                     : std::nullopt) {}

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
    auto c = co_await asio::co_spawn(strand, open_on(strand), use_awaitable);
    co_return c;
  }

  awaitable<std::shared_ptr<connection>> open_on(detail::strand_type strand) {
    // Resolve, connect and the TLS handshake (wss://) under the deadline; the upgrade under
    // Beast's handshake timeout, the same length.
    net::connect_attempt a(strand, opts.connect_timeout);
    auto connect =
        a.connect(opts.host, opts.port, tls ? &*tls : nullptr, opts.tls.value_or(tls_options{}));
    co_await std::move(connect);
    const std::string remote = a.stream().remote();
    detail::ws_stream ws(detail::kit_stream(a.finish()));
    websocket::stream_base::timeout t{};
    t.handshake_timeout = opts.connect_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.read_message_max(opts.max_payload);
    auto headers = opts.headers;
    ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [name, value] : headers) req.set(name, value);
    }));
    const std::string host = opts.host + ":" + std::to_string(opts.port);
    websocket::response_type answer;
    auto [hec] =
        co_await ws.async_handshake(answer, host, opts.path, asio::as_tuple(use_awaitable));
    if (hec == websocket::error::upgrade_declined && answer.result_int() != 0) {
      // The server answered HTTP instead (a refusal at the upgrade: 401, 403, a wrong path).
      throw_cannot_connect(opts, "the upgrade was refused with HTTP " +
                                     std::to_string(answer.result_int()) + " " +
                                     std::string(answer.reason()));
    }
    if (hec) throw_cannot_connect(opts, hec.message());
    auto c = std::make_shared<connection>(std::move(ws), strand,
                                          connection::settings{opts.max_send_buffer_size, source},
                                          opts.log, 0, roost::headers{}, remote);
    std::weak_ptr<impl> weak = shared_from_this();
    c->start(
        [weak](connection& conn, std::string_view text) {
          if (auto s = weak.lock()) s->on_message(conn, text);
        },
        [weak](connection& conn, std::string_view why) {
          if (auto s = weak.lock()) s->on_close(conn, why);
        });
    co_return c;
  }

  void on_message(connection& c, std::string_view text) {
    auto m = ws::detail::decode_client_message(text);
    if (!m) {
      opts.log.warn(source, "ignored a message from " + c.remote_endpoint() + " that is not JSON");
      return;
    }
    if (m->reply) {
      if (listener) listener->on_reply(std::move(*m->reply));
      return;
    }
    if (opts.on_push) opts.on_push(m->event, m->data);
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
    // What was accepted still goes out, then a normal close.
    if (c) c->close();
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
  auto c = impl_->open_connection();
  if (!c) c = co_await impl_->connection_for_call();
  const bool sent = c->send_with([&m](std::string& out) {
    encode_request(out, m.pattern, m.data, std::string_view(m.id), m.metadata);
  });
  if (!sent) throw_closed();
}

awaitable<void> client::send_event(const outbound_message& m) {
  auto c = co_await impl_->connection_for_call();
  // The gateway shape, which a NestJS gateway and a roost server both serve.
  const bool sent =
      c->send_with([&m](std::string& out) { ws::detail::encode_push(out, m.route, m.data); });
  if (!sent) throw_closed();
}

void client::close() {
  impl_->close();
}

}  // namespace roost::ws
