#include <roost/ws/server.hpp>

#include "connection.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>
#include <roost/net/resolve.hpp>
#include <roost/net/tls_context.hpp>
#include <roost/packet.hpp>
#include <roost/ws/context.hpp>
#include <roost/ws/detail/message_codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <unordered_set>

namespace roost::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::use_awaitable;
using detail::connection;

namespace {

constexpr std::string_view source = "ws server";

// Replies to a packet with an id: NestJS's microservice reply packets, on the same socket.
class packet_reply_sink final : public immediate_reply_sink {
 public:
  explicit packet_reply_sink(connection& c) : conn_(c) {}
  void send_now(reply_packet reply, const json::value& id) override {
    conn_.send_with([&](std::string& out) { encode_reply(out, reply, id); });
  }

 private:
  connection& conn_;
};

// Answers a gateway message as platform-ws does: each value the handler gives, as JSON, unless
// null; an error as the event "exception"; nothing for the end of a stream or an unknown event.
class gateway_reply_sink final : public immediate_reply_sink {
 public:
  gateway_reply_sink(connection& c, const json::value& event, const json::value& data)
      : conn_(c), event_(event), data_(data) {}
  void send_now(reply_packet reply, const json::value&) override {
    switch (reply.type) {
      case reply_packet::kind::value:
        if (reply.body.is_null()) return;
        conn_.send_with([&](std::string& out) { out += json::serialize(reply.body); });
        return;
      case reply_packet::kind::error:
        conn_.send_with([&](std::string& out) {
          ws::detail::encode_gateway_error(out, reply.body, event_, data_);
        });
        return;
      case reply_packet::kind::end:
      case reply_packet::kind::no_handler:
        return;
    }
  }

 private:
  connection& conn_;
  const json::value& event_;
  const json::value& data_;
};

// A message read on a connection. The connection is borrowed while the message is served at
// once, and shared when it is served later; so are the gateway message's event and data, which
// an error answer repeats.
struct message_origin {
  connection* conn;
  std::shared_ptr<connection> owner;
  std::shared_ptr<roost::gateway> peers;
  bool gateway_shape;
  json::value event, data;  // of a gateway message, for its error answer

  ws::context make_context(json::value pattern, std::optional<json::object> metadata) {
    return ws::context(std::move(pattern), std::move(metadata), conn->shared_from_this(), peers,
                       gateway_shape);
  }
  void retain() { owner = conn->shared_from_this(); }
  roost::detail::flight_gauge& gauge() { return conn->gauge(); }
  roost::detail::route_memo& route_memo() { return conn->route_memo(); }
};

struct packet_origin : message_origin {
  packet_reply_sink make_sink() { return packet_reply_sink(*conn); }
};
struct gateway_origin : message_origin {
  gateway_reply_sink make_sink() { return gateway_reply_sink(*conn, event, data); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o)
      : opts(std::move(o)),
        peers(std::make_shared<roost::gateway>()),
        tls(opts.tls ? std::optional(net::make_tls_context(*opts.tls, net::tls_side::server))
                     : std::nullopt) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    auto [rec, endpoints] = co_await net::resolve(opts.host, opts.port, /*passive=*/true);
    if (rec) {
      throw connection_error(make_error_code(error::not_connected),
                             "ws: cannot resolve " + opts.host + ": " + rec.message());
    }
    auto ep = endpoints.front();
    acceptor.emplace(ex);
    boost::system::error_code ec;
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw connection_error(make_error_code(error::not_connected),
                             "ws: cannot listen on " + opts.host + ":" + std::to_string(opts.port) +
                                 ": " + ec.message());
    }
    port = acceptor->local_endpoint().port();
    listening = true;
    opts.log.info(source, std::string(tls ? "listening on wss://" : "listening on ws://") +
                              ep.address().to_string() + ":" + std::to_string(port.load()) +
                              opts.path);
    asio::co_spawn(ex, accept_loop(shared_from_this()), asio::detached);
  }

  static awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      auto strand = asio::make_strand(self->ex);
      // The socket's executor is the connection's strand, and so are Beast's operations on it.
      asio::ip::tcp::socket socket(strand);
      auto [ec] = co_await self->acceptor->async_accept(socket, asio::as_tuple(use_awaitable));
      if (!self->acceptor->is_open()) co_return;
      if (ec) {
        // Out of file descriptors and the like: log, breathe, and keep serving the others.
        self->opts.log.error(source, "accept failed: " + ec.message());
        asio::steady_timer t(self->ex, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      if (!self->take_slot(socket)) continue;
      asio::co_spawn(strand, upgrade(self, std::move(socket), strand), asio::detached);
    }
  }

  // Counts a connection against max_connections from its accept until it closes.
  bool take_slot(asio::ip::tcp::socket& socket) {
    const auto max = opts.serving.max_connections;
    if (max == 0) return true;
    if (open.fetch_add(1, std::memory_order_relaxed) < max) return true;
    open.fetch_sub(1, std::memory_order_relaxed);
    opts.log.warn(source, "connection refused: " + std::to_string(max) +
                              " connections open already (max_connections)");
    boost::system::error_code ec;
    socket.close(ec);
    return false;
  }
  void release_slot() {
    if (opts.serving.max_connections != 0) open.fetch_sub(1, std::memory_order_relaxed);
  }

  // Reads the HTTP upgrade request, checks its path, and opens the WebSocket.
  static awaitable<void> upgrade(std::shared_ptr<impl> self, asio::ip::tcp::socket socket,
                                 detail::strand_type strand) {
    struct slot {
      impl* server;
      ~slot() {
        if (server) server->release_slot();
      }
    } held{self.get()};
    // A client that does not finish its TLS handshake and upgrade request in time is dropped.
    net::connect_attempt a(std::move(socket), strand, self->opts.handshake_timeout);
    std::string remote = a.stream().remote();
    if (self->tls) {
      auto handshake = a.server_handshake(*self->tls);
      const auto hec = co_await std::move(handshake);
      if (hec || a.timed_out()) {
        self->opts.log.warn(source, "TLS handshake with " + remote + " failed: " + a.why(hec));
        co_return;
      }
    }
    detail::kit_stream_of<net::stream&> io(a.stream());
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    auto [rec, rn] = co_await http::async_read(io, buffer, parser, asio::as_tuple(use_awaitable));
    if (rec) {
      self->opts.log.debug(source, "upgrade request from " + remote + " failed: " + a.why(rec));
      co_return;
    }
    auto req = parser.release();
    if (!websocket::is_upgrade(req) || path_of(req.target()) != self->opts.path) {
      self->opts.log.warn(source, "refused " + std::string(req.target()) + " from " + remote +
                                      ": not a WebSocket upgrade for " + self->opts.path);
      http::response<http::string_body> res{http::status::bad_request, req.version()};
      res.set(http::field::connection, "close");
      res.body() = "Bad Request";
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(io, res, asio::as_tuple(use_awaitable));
      (void)wec;
      co_return;
    }
    roost::headers hs;
    for (const auto& f : req) hs.add(lower(f.name_string()), std::string(f.value()));
    if (self->opts.check_upgrade) {
      auto refusal = self->opts.check_upgrade(upgrade_request{req.target(), hs, remote});
      if (refusal) {
        co_await refuse_upgrade(*self, io, *refusal, req.version(), remote);
        co_return;
      }
    }

    std::optional<net::stream> upgraded;
    try {
      upgraded.emplace(a.finish());
    } catch (const connection_error&) {
      co_return;  // the deadline passed at the last moment
    }
    // Beast's own timeouts from now on: the upgrade's answer, the keepalive, the close.
    detail::ws_stream ws(detail::kit_stream(std::move(*upgraded)));
    websocket::stream_base::timeout t{};
    t.handshake_timeout = self->opts.handshake_timeout;
    t.idle_timeout = self->opts.idle_timeout.count() > 0
                         ? std::chrono::steady_clock::duration(self->opts.idle_timeout)
                         : websocket::stream_base::none();
    t.keep_alive_pings = self->opts.idle_timeout.count() > 0;
    ws.set_option(t);
    ws.read_message_max(self->opts.max_payload);
    auto [aec] = co_await ws.async_accept(req, asio::as_tuple(use_awaitable));
    if (aec) {
      self->opts.log.warn(source, "WebSocket upgrade from " + remote + " failed: " + aec.message());
      co_return;
    }
    auto conn = std::make_shared<connection>(
        std::move(ws), strand,
        connection::settings{self->opts.max_send_buffer_size, source, &self->opts.serving,
                             self->opts.send_high_water_mark},
        self->opts.log, self->next_id++, std::move(hs), std::move(remote));
    {
      std::lock_guard lock(self->mutex);
      if (!self->accepting) co_return;
      self->connections.insert(conn);
      self->live.fetch_add(1, std::memory_order_relaxed);
    }
    held.server = nullptr;  // given back when the connection closes
    // The connect hooks run on the connection's strand, before its first message is served.
    self->peers->add(conn);
    std::weak_ptr<impl> weak = self;
    conn->start(
        [weak](connection& c, std::string_view text) {
          if (auto s = weak.lock()) s->on_message(c, text);
        },
        [weak](connection& c, std::string_view) {
          if (auto s = weak.lock()) s->on_close(c);
        });
  }

  // Answers an upgrade with the check's refusal instead of a WebSocket, then the connection
  // closes (the caller returns).
  static awaitable<void> refuse_upgrade(impl& self, detail::kit_stream_of<net::stream&>& io,
                                        const upgrade_refusal& refusal, unsigned version,
                                        const std::string& remote) {
    const auto status = http::int_to_status(refusal.status);
    self.opts.log.info(source, "refused the upgrade of " + remote + " with " +
                                   std::to_string(refusal.status) + " (check_upgrade)");
    http::response<http::string_body> res{
        status == http::status::unknown ? http::status::forbidden : status, version};
    for (const auto& [name, value] : refusal.headers) res.set(name, value);
    res.set(http::field::connection, "close");
    res.body() = refusal.body;
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(io, res, asio::as_tuple(use_awaitable));
    (void)wec;
  }

  void on_close(connection& c) {
    auto self = c.shared_from_this();
    release_slot();
    {
      std::lock_guard lock(mutex);
      connections.erase(self);
    }
    peers->remove(self);
    live.fetch_sub(1, std::memory_order_acq_rel);
  }

  void on_message(connection& c, std::string_view text) {
    if (c.gauge().too_large(text.size())) [[unlikely]] {
      disp->refuse_too_large(c.strand(), text, json::value(),
                             packet_origin{{&c, nullptr, peers, false, {}, {}}});
      return;
    }
    auto m = ws::detail::decode_message(text);
    if (!m) {
      // As platform-ws: a message that is not JSON, or names no event, is dropped.
      opts.log.debug(source, "ignored a message from " + c.remote_endpoint() +
                                 " that is neither {\"event\",\"data\"} nor a packet");
      return;
    }
    auto& packet = m->packet;
    if (!m->gateway) {
      disp->serve(c.strand(), packet, packet_origin{{&c, nullptr, peers, false, {}, {}}});
      return;
    }
    // A gateway message runs the message handler of its event and is answered; an event with
    // event handlers only runs them.
    const auto* entry = disp->routes().find(disp->routes().routes().lookup_route(packet.pattern));
    const bool events_only = entry && !entry->message && !entry->events.empty();
    if (events_only) {
      disp->serve(c.strand(), packet, packet_origin{{&c, nullptr, peers, true, {}, {}}});
      return;
    }
    packet.id = json::value(nullptr);
    gateway_origin origin{{&c, nullptr, peers, true, packet.pattern, packet.data}};
    disp->serve(c.strand(), packet, std::move(origin));
  }

  void stop_accepting() {
    listening = false;
    std::lock_guard lock(mutex);
    accepting = false;
    if (acceptor)
      asio::post(ex, [self = shared_from_this()] {
        boost::system::error_code ec;
        self->acceptor->close(ec);
      });
  }

  void close() {
    stop_accepting();
    std::unordered_set<std::shared_ptr<connection>> all;
    {
      std::lock_guard lock(mutex);
      all.swap(connections);
    }
    // What is queued still goes out, then a close frame with 1001 (going away).
    for (auto& c : all) c->close_going_away();
  }

  server_options opts;
  std::shared_ptr<roost::gateway> peers;
  std::optional<asio::ssl::context> tls;
  std::optional<dispatcher> disp;
  executor ex;
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> listening{false};  // from a bound listener to stop_accepting()
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::size_t> live{0};  // connections started and not yet shut
  mutable std::mutex mutex;
  bool accepting = true;
  std::unordered_set<std::shared_ptr<connection>> connections;
};

server::server(server_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
server::server(server&&) noexcept = default;
server::~server() = default;

std::uint16_t server::port() const noexcept {
  return impl_->port;
}
roost::gateway& server::gateway() noexcept {
  return *impl_->peers;
}
const std::shared_ptr<roost::gateway>& server::gateway_ptr() const noexcept {
  return impl_->peers;
}

awaitable<void> server::listen(dispatcher& d) {
  return impl_->listen(d);
}
void server::stop_accepting() {
  impl_->stop_accepting();
}
void server::close() {
  impl_->close();
}
bool server::ready() const noexcept {
  return impl_->listening;
}

bool server::closed() const noexcept {
  return !impl_->listening && impl_->live.load(std::memory_order_acquire) == 0;
}

}  // namespace roost::ws
