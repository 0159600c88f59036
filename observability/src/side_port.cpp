#include "side_port.hpp"

#include <roost/awaitable.hpp>
#include <roost/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace roost::observability::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using asio::ip::tcp;

constexpr std::string_view source = "side port";

// "9464", "0.0.0.0:9464", "[::1]:9464", "localhost:9464"; nullopt when it is none of these.
std::optional<tcp::endpoint> parse_listen(std::string_view text) {
  std::string_view host = "127.0.0.1", port = text;
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost") host = "127.0.0.1";
  }
  unsigned n = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || n > 65535) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, static_cast<std::uint16_t>(n));
}

using response = http::response<http::string_body>;

response reply(http::status s, unsigned version, std::string body,
               std::string_view type = "text/plain; charset=utf-8") {
  response r(s, version);
  r.set(http::field::content_type, type);
  r.set(http::field::cache_control, "no-store");
  r.body() = std::move(body);
  return r;
}

class beast_side_port final : public side_port,
                              public std::enable_shared_from_this<beast_side_port> {
 public:
  beast_side_port(asio::io_context& ioc, const monitor_options& o, pages p, logger log)
      : opts_(o),
        pages_(std::move(p)),
        log_(std::move(log)),
        strand_(asio::make_strand(ioc)),
        acceptor_(strand_) {}

  void bind(const tcp::endpoint& ep) {
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw connection_error(
          make_error_code(error::not_connected),
          "side port: cannot listen on " + opts_.side_port + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    log_.info(source, "serving /healthz, /readyz and /metrics on " +
                          acceptor_.local_endpoint().address().to_string() + ":" +
                          std::to_string(port_));
    asio::co_spawn(strand_, accept_loop(shared_from_this()), asio::detached);
  }

  std::uint16_t port() const noexcept override { return port_; }

  void close() override {
    asio::post(strand_, [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  static awaitable<void> accept_loop(std::shared_ptr<beast_side_port> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(
          asio::make_strand(self->strand_.get_inner_executor()), asio::as_tuple(use_awaitable));
      if (!self->acceptor_.is_open()) co_return;
      if (ec) {
        self->log_.error(source, "accept failed: " + ec.message());
        asio::steady_timer t(self->strand_, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      if (self->open_.fetch_add(1) >= self->opts_.max_connections) {
        self->open_.fetch_sub(1);
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      const auto ex = socket.get_executor();
      asio::co_spawn(ex, serve(self, beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  // Serves the requests of one connection, one at a time, until it closes, times out or
  // sends something that is not a request we take.
  static awaitable<void> serve(std::shared_ptr<beast_side_port> self, beast::tcp_stream stream) {
    struct slot {
      beast_side_port* port;
      ~slot() { port->open_.fetch_sub(1); }
    } held{self.get()};
    beast::flat_buffer buffer(self->opts_.max_request_bytes);
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(self->opts_.max_request_bytes));
      parser.body_limit(0);
      stream.expires_after(self->opts_.request_timeout);
      auto [ec, n] =
          co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
      (void)n;
      if (ec) {
        // A head too large gets its answer; a timeout, a closed connection or garbage, none.
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
          auto r = reply(http::status::request_header_fields_too_large, 11,
                         "request header too large\n");
          r.keep_alive(false);
          r.prepare_payload();
          co_await http::async_write(stream, r, asio::as_tuple(use_awaitable));
        } else if (ec == http::error::body_limit) {
          auto r = reply(http::status::payload_too_large, 11, "no request body is taken\n");
          r.keep_alive(false);
          r.prepare_payload();
          co_await http::async_write(stream, r, asio::as_tuple(use_awaitable));
        } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                   ec != asio::error::eof && ec != asio::error::connection_reset) {
          auto r = reply(http::status::bad_request, 11, "bad request\n");
          r.keep_alive(false);
          r.prepare_payload();
          co_await http::async_write(stream, r, asio::as_tuple(use_awaitable));
        }
        break;
      }
      const auto& req = parser.get();
      auto r = self->answer(req);
      stream.expires_after(self->opts_.request_timeout);
      auto [wec, wn] = co_await http::async_write(stream, r, asio::as_tuple(use_awaitable));
      (void)wn;
      if (wec || !r.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }

  response answer(const http::request<http::empty_body>& req) const {
    std::string_view target(req.target().data(), req.target().size());
    if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    const unsigned v = req.version();
    response r;
    if (target != "/healthz" && target != "/readyz" && target != "/metrics") {
      r = reply(http::status::not_found, v, "not found: /healthz, /readyz and /metrics are\n");
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      r = reply(http::status::method_not_allowed, v, "only GET and HEAD\n");
      r.set(http::field::allow, "GET, HEAD");
    } else if (target == "/healthz") {
      r = reply(http::status::ok, v, "ok\n");
    } else if (target == "/readyz") {
      const bool ready = pages_.ready();
      r = reply(ready ? http::status::ok : http::status::service_unavailable, v,
                ready ? "ready\n" : "not ready\n");
    } else {
      r = reply(http::status::ok, v, pages_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    }
    r.keep_alive(req.keep_alive());
    r.prepare_payload();
    if (req.method() == http::verb::head) r.body().clear();  // its Content-Length stays
    return r;
  }

  monitor_options opts_;
  pages pages_;
  logger log_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> open_{0};
};

}  // namespace

std::shared_ptr<side_port> side_port::open(asio::io_context& ioc, const monitor_options& o, pages p,
                                           logger log) {
  const auto ep = parse_listen(o.side_port);
  if (!ep) {
    throw std::invalid_argument("side port: \"" + o.side_port +
                                "\" is not a port, nor an address and a port (\"9464\", "
                                "\"0.0.0.0:9464\", \"[::]:9464\")");
  }
  auto port = std::make_shared<beast_side_port>(ioc, o, std::move(p), std::move(log));
  port->bind(*ep);
  return port;
}

}  // namespace roost::observability::detail
