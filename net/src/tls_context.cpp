#include <roost/net/tls_context.hpp>

#include <roost/errors.hpp>

namespace roost::net {

namespace ssl = boost::asio::ssl;

namespace {
[[noreturn]] void fail(const std::string& what, const boost::system::error_code& ec) {
  throw connection_error(make_error_code(error::invalid_argument),
                         "TLS: cannot load " + what + ": " + ec.message());
}

// Loads one item from its PEM text, else from its file; false when neither is given.
template <class FromPem, class FromFile>
bool load(const std::string& what, const std::string& pem, const std::string& file,
          FromPem from_pem, FromFile from_file) {
  boost::system::error_code ec;
  if (!pem.empty()) {
    from_pem(boost::asio::buffer(pem), ec);
    if (ec) fail(what + " (PEM)", ec);
    return true;
  }
  if (file.empty()) return false;
  from_file(file, ec);
  if (ec) fail(what + " " + file, ec);
  return true;
}

}  // namespace

ssl::context make_tls_context(const tls_options& o, tls_side side) {
  const bool server = side == tls_side::server;
  ssl::context ctx(server ? ssl::context::tls_server : ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  using buffer = boost::asio::const_buffer;
  using error_code = boost::system::error_code;
  load(
      "certificate", o.cert_pem, o.cert_file,
      [&](buffer b, error_code& ec) { ctx.use_certificate_chain(b, ec); },
      [&](const std::string& f, error_code& ec) { ctx.use_certificate_chain_file(f, ec); });
  load(
      "private key", o.key_pem, o.key_file,
      [&](buffer b, error_code& ec) { ctx.use_private_key(b, ssl::context::pem, ec); },
      [&](const std::string& f, error_code& ec) {
        ctx.use_private_key_file(f, ssl::context::pem, ec);
      });
  const bool has_ca = load(
      "CA", o.ca_pem, o.ca_file,
      [&](buffer b, error_code& ec) { ctx.add_certificate_authority(b, ec); },
      [&](const std::string& f, error_code& ec) { ctx.load_verify_file(f, ec); });
  if (!has_ca && !server) {
    error_code ec;
    ctx.set_default_verify_paths(ec);
  }
  if (server) {
    // A server asks for client certificates (mutual TLS) only when it has CAs to check them
    // against, as a NestJS server with `requestCert` would; a cert and key alone serve TLS.
    ctx.set_verify_mode(o.verify_peer && has_ca
                            ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                            : ssl::verify_none);
  } else {
    ctx.set_verify_mode(o.verify_peer ? ssl::verify_peer : ssl::verify_none);
  }
  return ctx;
}

}  // namespace roost::net
