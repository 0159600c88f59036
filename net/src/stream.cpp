#include <roost/net/stream.hpp>

namespace roost::net {

void stream::set_non_blocking() {
  boost::system::error_code ec;
  if (!tls_) plain_.non_blocking(true, ec);
}

void stream::set_no_delay() {
  boost::system::error_code ec;
  socket().set_option(boost::asio::ip::tcp::no_delay(true), ec);
}

void stream::close() {
  boost::system::error_code ec;
  socket().shutdown(socket_type::shutdown_both, ec);
  socket().close(ec);
}

std::string stream::remote() const {
  const socket_type& s = tls_ ? tls_->next_layer() : plain_;
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace roost::net
