#include <roost/tcp/server.hpp>

#include "connection.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>
#include <roost/net/resolve.hpp>
#include <roost/net/tls_context.hpp>
#include <roost/packet.hpp>
#include <roost/tcp/context.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <unordered_set>

namespace roost::tcp {

namespace asio = boost::asio;
using asio::use_awaitable;
using detail::connection;

namespace {

constexpr std::string_view source = "tcp server";

// The UTF-16 length of a short text, a reply's value (a number, mostly): a plain loop when it
// is ASCII, which costs less than the general count's set-up for a few bytes.
std::size_t units_of_short(std::string_view text) {
  if (text.size() > 32) return detail::utf16_length(text);
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return detail::utf16_length(text);
  }
  return text.size();
}

// Writes the replies of one request to the connection it came on.
class socket_reply_sink final : public immediate_reply_sink {
 public:
  explicit socket_reply_sink(connection& c) : conn_(c) {}
  void send_now(reply_packet reply, const json::value& id) override {
    // Encoded straight into the connection's write queue; a closed connection drops it, as a
    // closed socket would.
    conn_.send_with([&](std::string& out) { encode_reply(out, reply, id); });
  }
  void send_value_now(roost::detail::value_writer write, std::string_view id_json) override {
    // The envelope and the id (a plain string's text, inbound_packet::id_text) are ASCII, one
    // UTF-16 unit a byte: only the value's own bytes are counted for the length prefix.
    conn_.send_counted([&](std::string& out) {
      std::size_t value_bytes = 0, value_units = 0;
      const auto counted = [&](std::string& s) {
        const std::size_t at = s.size();
        write(s);
        value_bytes = s.size() - at;
        value_units = units_of_short(std::string_view(s).substr(at));
      };
      const std::size_t at = out.size();
      encode_value_reply(out, counted, id_json);
      return out.size() - at - value_bytes + value_units;
    });
  }

 private:
  connection& conn_;
};

// A frame read on a connection: its context and reply sink. The connection is borrowed while
// the frame is served at once, and shared when it is served later.
struct frame_origin {
  connection* conn;
  std::shared_ptr<connection> owner;

  tcp::context make_context(json::value pattern, std::optional<json::object> metadata) {
    return tcp::context(std::move(pattern), std::move(metadata), conn->remote());
  }
  socket_reply_sink make_sink() { return socket_reply_sink(*conn); }
  void retain() { owner = conn->shared_from_this(); }
  roost::detail::flight_gauge& gauge() { return conn->gauge(); }
  roost::detail::route_memo& route_memo() { return conn->route_memo(); }
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o)
      : opts(std::move(o)),
        tls(opts.tls ? std::optional(net::make_tls_context(*opts.tls, net::tls_side::server))
                     : std::nullopt) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    auto [rec, endpoints] = co_await net::resolve(opts.host, opts.port, /*passive=*/true);
    if (rec) {
      throw connection_error(make_error_code(error::not_connected),
                             "tcp: cannot resolve " + opts.host + ": " + rec.message());
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
                             "tcp: cannot listen on " + opts.host + ":" +
                                 std::to_string(opts.port) + ": " + ec.message());
    }
    port = acceptor->local_endpoint().port();
    opts.log.info(source, "listening on " + ep.address().to_string() + ":" +
                              std::to_string(port.load()) + (tls ? " (TLS)" : ""));
    asio::co_spawn(ex, accept_loop(shared_from_this()), asio::detached);
    listening = true;
  }

  static awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor->async_accept(asio::as_tuple(use_awaitable));
      if (!self->acceptor->is_open()) co_return;
      if (ec) {
        // Out of file descriptors and the like: log, breathe, and keep serving the others.
        self->opts.log.error(source, "accept failed: " + ec.message());
        asio::steady_timer t(self->ex, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      if (!self->take_slot(socket)) continue;
      auto strand = asio::make_strand(self->ex);
      asio::co_spawn(strand, self->open_connection(self, std::move(socket), strand),
                     asio::detached);
    }
  }

  // Counts a connection just accepted against max_connections (from its accept until it
  // closes, its TLS handshake included); beyond it, closes the socket at once.
  bool take_slot(detail::socket_type& socket) {
    const auto max = opts.serving.max_connections;
    if (max == 0) return true;
    if (open.fetch_add(1, std::memory_order_relaxed) < max) return true;
    open.fetch_sub(1, std::memory_order_relaxed);
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    opts.log.warn(source,
                  "connection from " +
                      (ec ? std::string("an unknown peer")
                          : peer.address().to_string() + ":" + std::to_string(peer.port())) +
                      " refused: " + std::to_string(max) +
                      " connections open already (max_connections)");
    socket.close(ec);
    return false;
  }
  void release_slot() {
    if (opts.serving.max_connections != 0) open.fetch_sub(1, std::memory_order_relaxed);
  }

  static awaitable<void> open_connection(std::shared_ptr<impl> self, detail::socket_type socket,
                                         detail::strand_type strand) {
    // The slot take_slot() counted, given back when the connection does not open.
    struct slot {
      impl* server;
      ~slot() {
        if (server) server->release_slot();
      }
    } held{self.get()};
    std::shared_ptr<connection> conn;
    if (self->tls) {
      // A client that never finishes its handshake is dropped.
      net::connect_attempt a(std::move(socket), strand,
                             self->opts.limits.incomplete_message_timeout.count() > 0
                                 ? self->opts.limits.incomplete_message_timeout
                                 : std::chrono::milliseconds(30'000));
      auto handshake = a.server_handshake(*self->tls);
      const auto ec = co_await std::move(handshake);
      if (ec || a.timed_out()) {
        self->opts.log.warn(source, "TLS handshake failed: " + a.why(ec));
        co_return;
      }
      conn = std::make_shared<connection>(a.finish(), strand, self->opts.limits, self->opts.log,
                                          source, self->opts.serving);
    } else {
      conn = std::make_shared<connection>(net::stream(std::move(socket)), strand, self->opts.limits,
                                          self->opts.log, source, self->opts.serving);
    }
    {
      std::lock_guard lock(self->mutex);
      if (!self->accepting) co_return;
      self->connections.insert(conn);
      self->live.fetch_add(1, std::memory_order_relaxed);
    }
    held.server = nullptr;  // given back by the close handler from now on
    std::weak_ptr<impl> weak = self;
    conn->start(
        [weak](connection& c, std::string_view frame) {
          if (auto s = weak.lock()) s->on_frame(c, frame);
        },
        [weak](connection& c, std::string_view) {
          if (auto s = weak.lock()) {
            s->release_slot();
            s->live.fetch_sub(1, std::memory_order_acq_rel);
            std::lock_guard lock(s->mutex);
            s->connections.erase(c.shared_from_this());
          }
        });
  }

  void on_frame(connection& c, std::string_view frame) {
    if (c.gauge().too_large(frame.size())) [[unlikely]] {
      // Answered without being parsed; the connection goes on (unlike maxBufferSize).
      disp->refuse_too_large(c.strand(), frame, json::value(), frame_origin{&c, nullptr});
      return;
    }
    // Most packets are served before this returns: their JSON lives in a scratch buffer that
    // is dropped at once instead of being freed value by value, and a plain `data` stays text
    // in the frame, for a typed handler to read straight into its parameter.
    alignas(std::max_align_t) unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    auto packet = decode_inbound(frame, nullptr, json::storage_ptr(&arena), true);
    if (!packet) {
      opts.log.error(source, "The invalid received message from tcp server (from " + c.remote() +
                                 "); closing the connection");
      c.close();
      return;
    }
    disp->serve(c.strand(), *packet, frame_origin{&c, nullptr});
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
    // Replies of the handlers that finished during the drain still go out.
    for (auto& c : all) c->close_when_flushed();
  }

  server_options opts;
  std::optional<asio::ssl::context> tls;
  std::optional<dispatcher> disp;
  executor ex;
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::atomic<std::uint16_t> port{0};
  std::atomic<std::size_t> open{0};    // connections counted against max_connections
  std::atomic<bool> listening{false};  // from listen() to stop_accepting()
  std::atomic<std::size_t> live{0};    // connections started and not yet shut
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

std::size_t server::connections() const noexcept {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections.size();
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
bool server::closed() const noexcept {
  return !impl_->listening && impl_->live.load(std::memory_order_acquire) == 0;
}
bool server::ready() const noexcept {
  return impl_->listening;
}

}  // namespace roost::tcp
