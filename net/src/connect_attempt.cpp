#include <roost/net/connect_attempt.hpp>

#include <roost/errors.hpp>
#include <roost/net/resolve.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>

namespace roost::net {

namespace asio = boost::asio;
using asio::use_awaitable;

struct connect_attempt::state {
  net::stream stream;
  bool timed_out = false;
};

namespace {
[[noreturn]] void fail(error e, std::string what) {
  throw connection_error(make_error_code(e), std::move(what));
}
}  // namespace

connect_attempt::connect_attempt(strand_type strand, std::chrono::milliseconds timeout)
    : state_(std::make_shared<state>(state{net::stream(socket_type(strand)), false})),
      deadline_(strand) {
  arm(timeout);
}

connect_attempt::connect_attempt(socket_type accepted, const strand_type& strand,
                                 std::chrono::milliseconds timeout)
    : state_(std::make_shared<state>(state{net::stream(std::move(accepted)), false})),
      deadline_(strand) {
  arm(timeout);
}

connect_attempt::~connect_attempt() = default;

void connect_attempt::arm(std::chrono::milliseconds timeout) {
  deadline_.expires_after(timeout);
  deadline_.async_wait([s = state_](boost::system::error_code ec) {
    if (ec) return;
    s->timed_out = true;
    s->stream.socket().close(ec);
  });
}

net::stream& connect_attempt::stream() noexcept {
  return state_->stream;
}

bool connect_attempt::timed_out() const noexcept {
  return state_->timed_out;
}

std::string connect_attempt::why(const boost::system::error_code& ec) const {
  return state_->timed_out ? std::string("timed out") : ec.message();
}

awaitable<void> connect_attempt::connect(std::string host, std::uint16_t port,
                                         asio::ssl::context* tls, tls_options o) {
  host_ = std::move(host);
  where_ = host_ + ":" + std::to_string(port);
  socket_type& socket = state_->stream.plain();
  auto [rec, endpoints] = co_await resolve(host_, port);
  if (rec) fail(error::not_connected, "cannot resolve " + host_ + ": " + rec.message());
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, asio::as_tuple(use_awaitable));
  if (cec) {
    fail(timed_out() ? error::timeout : error::not_connected,
         "cannot connect to " + where_ + ": " + why(cec));
  }
  state_->stream.set_no_delay();
  if (!tls) co_return;
  net::stream& s = state_->stream;
  s.start_tls(*tls);
  const std::string name = o.server_name.empty() ? host_ : o.server_name;
  // SNI carries host names only (RFC 6066), never an address.
  boost::system::error_code not_ip;
  asio::ip::make_address(name, not_ip);
  if (not_ip) SSL_set_tlsext_host_name(s.tls().native_handle(), name.c_str());
  if (o.verify_peer) s.tls().set_verify_callback(asio::ssl::host_name_verification(name));
  auto [hec] =
      co_await s.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(use_awaitable));
  if (hec) fail(error::not_connected, "TLS handshake with " + where_ + " failed: " + why(hec));
}

awaitable<boost::system::error_code> connect_attempt::server_handshake(asio::ssl::context& ctx) {
  net::stream& s = state_->stream;
  s.start_tls(ctx);
  auto [ec] =
      co_await s.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(use_awaitable));
  co_return ec;
}

net::stream connect_attempt::finish() {
  deadline_.cancel();
  if (state_->timed_out) fail(error::timeout, "cannot connect to " + where_ + ": timed out");
  return std::move(state_->stream);
}

}  // namespace roost::net
