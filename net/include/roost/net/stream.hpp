#pragma once
// A connected socket, plain or under TLS: what a connection reads from and writes to.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <string>
#include <utility>

namespace roost::net {

using socket_type = boost::asio::ip::tcp::socket;
using tls_stream = boost::asio::ssl::stream<socket_type>;
using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

/// A TCP socket, with a TLS layer over it once start_tls() ran. Only TLS streams carry an
/// OpenSSL stream: its record buffers cost ~34 KiB each. The operations pick the layer with a
/// branch, not a virtual call, and start no coroutine of their own. Not thread-safe.
class stream {
 public:
  explicit stream(socket_type plain) : plain_(std::move(plain)) {}
  stream(stream&&) noexcept = default;
  stream& operator=(stream&&) noexcept = default;

  /// Puts a TLS layer over the socket (the handshake is the caller's). `ctx` must outlive
  /// this stream: transports keep it in their client or server.
  void start_tls(boost::asio::ssl::context& ctx) {
    tls_ = std::make_unique<tls_stream>(std::move(plain_), ctx);
  }

  bool is_tls() const noexcept { return tls_ != nullptr; }
  /// The TCP socket, under TLS or not.
  socket_type& socket() noexcept { return tls_ ? tls_->next_layer() : plain_; }
  /// The socket of a plain stream (for reads that try before they wait).
  socket_type& plain() noexcept { return plain_; }
  /// The TLS layer (after start_tls() only).
  tls_stream& tls() noexcept { return *tls_; }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    if (tls_) return tls_->async_read_some(b, std::forward<Token>(token));
    return plain_.async_read_some(b, std::forward<Token>(token));
  }

  /// Writes all of `b` (boost::asio::async_write).
  template <class Buffers, class Token>
  auto async_write(const Buffers& b, Token&& token) {
    if (tls_) return boost::asio::async_write(*tls_, b, std::forward<Token>(token));
    return boost::asio::async_write(plain_, b, std::forward<Token>(token));
  }

  /// The TLS handshake of a stream after start_tls().
  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token) {
    return tls_->async_handshake(type, std::forward<Token>(token));
  }

  /// Plain streams after set_non_blocking(): writes what the socket takes now, without
  /// waiting.
  template <class Buffers>
  std::size_t write_now(const Buffers& b, boost::system::error_code& ec) {
    return plain_.write_some(b, ec);
  }

  /// Lets write_now() and the reads of plain() return at once instead of blocking (TLS
  /// streams are left alone).
  void set_non_blocking();
  /// Turns Nagle's algorithm off.
  void set_no_delay();
  /// Shuts the socket down and closes it; errors are ignored. Idempotent.
  void close();
  /// "address:port" of the peer, or "unknown".
  std::string remote() const;

 private:
  socket_type plain_;
  std::unique_ptr<tls_stream> tls_;
};

}  // namespace roost::net
