#pragma once
// roost::net's plain-or-TLS stream as the layer under Beast's WebSocket stream: one WebSocket
// type for ws:// and wss://, so Beast's code is instantiated once, and the kit's TLS (contexts,
// handshakes with SNI and name checks under a deadline) serves the WebSocket as it serves TCP.

#include <roost/net/stream.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <utility>

namespace roost::ws::detail {

// `Stream` is net::stream (the WebSocket's own), or net::stream& (the upgrade request read on a
// stream that a connect_attempt still holds under its deadline).
template <class Stream>
class kit_stream_of {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit kit_stream_of(Stream s) : s_(std::forward<Stream>(s)) {}
  kit_stream_of(kit_stream_of&&) noexcept = default;

  executor_type get_executor() noexcept { return s_.socket().get_executor(); }
  net::stream& stream() noexcept { return s_; }

  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& b, Handler&& h) {
    if (s_.is_tls()) return s_.tls().async_read_some(b, std::forward<Handler>(h));
    return s_.plain().async_read_some(b, std::forward<Handler>(h));
  }
  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& b, Handler&& h) {
    if (s_.is_tls()) return s_.tls().async_write_some(b, std::forward<Handler>(h));
    return s_.plain().async_write_some(b, std::forward<Handler>(h));
  }

  // What Beast calls when its timeouts fire (keepalive, handshake, close).
  friend void beast_close_socket(kit_stream_of& k) { k.s_.close(); }

  // The end of the TCP connection after a WebSocket close: the socket is shut down and closed
  // (a TLS peer gets no close_notify; the WebSocket close frame has said goodbye already).
  friend void teardown(boost::beast::role_type, kit_stream_of& k, boost::system::error_code& ec) {
    k.s_.close();
    ec = {};
  }
  template <class Handler>
  friend void async_teardown(boost::beast::role_type, kit_stream_of& k, Handler&& h) {
    k.s_.close();
    boost::asio::post(k.get_executor(), [h = std::forward<Handler>(h)]() mutable {
      std::move(h)(boost::system::error_code{});
    });
  }

 private:
  Stream s_;
};

using kit_stream = kit_stream_of<net::stream>;

}  // namespace roost::ws::detail
