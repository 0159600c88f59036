#pragma once
// One connection being set up under a deadline: a client's resolve, connect and TLS handshake
// (and whatever greeting its protocol adds before the connection counts as up), or a server's
// TLS handshake with a client it accepted.

#include <roost/awaitable.hpp>
#include <roost/net/stream.hpp>
#include <roost/tls_options.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace roost::net {

/// The deadline closes the socket, which fails whatever step is in progress; it runs from
/// construction until finish() or destruction. Use one attempt on one strand.
class connect_attempt {
 public:
  /// A client's attempt: connect() makes its socket.
  connect_attempt(strand_type strand, std::chrono::milliseconds timeout);
  /// A server's attempt for an accepted socket, whose connection will run on `strand`.
  connect_attempt(socket_type accepted, const strand_type& strand,
                  std::chrono::milliseconds timeout);
  ~connect_attempt();
  connect_attempt(const connect_attempt&) = delete;
  connect_attempt& operator=(const connect_attempt&) = delete;

  /// Resolves `host` and connects to one of its addresses, with Nagle's algorithm off; then,
  /// with `tls`, runs the client side of a TLS handshake: sends the server name
  /// (`o.server_name`, or `host` when it is a name, never an address) and, with verify_peer,
  /// checks it in the certificate. `tls` must outlive the stream. Throws connection_error:
  /// not_connected ("cannot resolve ...", "cannot connect to host:port: ...", "TLS handshake
  /// with host:port failed: ..."), or timeout when the deadline passed while connecting.
  awaitable<void> connect(std::string host, std::uint16_t port,
                          boost::asio::ssl::context* tls = nullptr, tls_options o = {});

  /// The server side of a TLS handshake; completes with its error (if any).
  awaitable<boost::system::error_code> server_handshake(boost::asio::ssl::context& ctx);

  /// The stream, for the protocol's own first exchanges.
  net::stream& stream() noexcept;
  bool timed_out() const noexcept;
  /// "timed out" when the deadline passed, else the error's message.
  std::string why(const boost::system::error_code& ec) const;
  /// "host:port" of connect().
  const std::string& where() const noexcept { return where_; }

  /// Ends the deadline and hands the stream over. Throws connection_error (timeout) when the
  /// deadline passed at the last moment.
  net::stream finish();

 private:
  // Shared with the deadline's handler, which may run after the attempt ends.
  struct state;
  void arm(std::chrono::milliseconds timeout);

  std::shared_ptr<state> state_;
  boost::asio::steady_timer deadline_;
  std::string host_;
  std::string where_;
};

}  // namespace roost::net
