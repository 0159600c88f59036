#include "tls.hpp"

#include <roost/errors.hpp>

namespace roost::tcp::detail {

namespace ssl = boost::asio::ssl;

namespace {
[[noreturn]] void fail(const std::string& what, const boost::system::error_code& ec) {
  throw connection_error(make_error_code(error::invalid_argument),
                         "TLS: cannot load " + what + ": " + ec.message());
}
}  // namespace

ssl::context make_tls_context(const tls_options& o, bool server) {
  ssl::context ctx(server ? ssl::context::tls_server : ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (!o.cert_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(o.cert_pem), ec);
    if (ec) fail("certificate (PEM)", ec);
  } else if (!o.cert_file.empty()) {
    ctx.use_certificate_chain_file(o.cert_file, ec);
    if (ec) fail("certificate " + o.cert_file, ec);
  }
  if (!o.key_pem.empty()) {
    ctx.use_private_key(boost::asio::buffer(o.key_pem), ssl::context::pem, ec);
    if (ec) fail("private key (PEM)", ec);
  } else if (!o.key_file.empty()) {
    ctx.use_private_key_file(o.key_file, ssl::context::pem, ec);
    if (ec) fail("private key " + o.key_file, ec);
  }
  if (!o.ca_pem.empty()) {
    ctx.add_certificate_authority(boost::asio::buffer(o.ca_pem), ec);
    if (ec) fail("CA (PEM)", ec);
  } else if (!o.ca_file.empty()) {
    ctx.load_verify_file(o.ca_file, ec);
    if (ec) fail("CA " + o.ca_file, ec);
  } else if (!server) {
    ctx.set_default_verify_paths(ec);
  }
  const bool has_ca = !o.ca_pem.empty() || !o.ca_file.empty();
  if (server) {
    // A server asks for client certificates (mutual TLS) only when it has CAs to check them
    // against, as a NestJS server with `requestCert` would; a cert and key alone serve TLS.
    ctx.set_verify_mode(o.verify_peer && has_ca
                            ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                            : ssl::verify_none);
  } else if (o.verify_peer) {
    ctx.set_verify_mode(ssl::verify_peer);
  } else {
    ctx.set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

}  // namespace roost::tcp::detail
