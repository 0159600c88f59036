#include "tls.hpp"

#include <amqp_ssl_socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <memory>

namespace roost::rmq::detail {

namespace {

// OpenSSL's reason for the last failure on this thread (its queue emptied).
std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, bio_free> bio_of(const std::string& pem) {
  return std::unique_ptr<BIO, bio_free>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificate chain from PEM text: the first is the leaf, the rest its chain.
bool use_chain_pem(SSL_CTX* ctx, const std::string& pem) {
  auto bio = bio_of(pem);
  std::unique_ptr<X509, x509_free> leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) return false;
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, next) != 1) {
      X509_free(next);
      return false;
    }
  }
  ERR_clear_error();  // the end of the text reads as an error
  return true;
}

bool use_key_pem(SSL_CTX* ctx, const std::string& pem) {
  auto bio = bio_of(pem);
  std::unique_ptr<EVP_PKEY, pkey_free> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  return key && SSL_CTX_use_PrivateKey(ctx, key.get()) == 1;
}

bool add_ca_pem(SSL_CTX* ctx, const std::string& pem) {
  auto bio = bio_of(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    const int ok = X509_STORE_add_cert(store, ca);
    X509_free(ca);
    if (ok != 1) return false;
    ++added;
  }
  ERR_clear_error();
  return added > 0;
}

// The name the broker's certificate must carry: an IP address is matched against the
// certificate's IP addresses, anything else as a DNS name.
bool expect_name(SSL_CTX* ctx, const std::string& name) {
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  unsigned char addr[16];
  if (inet_pton(AF_INET, name.c_str(), addr) == 1 || inet_pton(AF_INET6, name.c_str(), addr) == 1) {
    return X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1;
}

}  // namespace

std::string tls_failure() {
  if (ERR_peek_error() == 0) return {};
  return openssl_error();
}

amqp_socket_t* make_tls_socket(amqp_connection_state_t state, const tls_options& o,
                               const std::string& host, std::string& why) {
  ERR_clear_error();
  amqp_socket_t* socket = amqp_ssl_socket_new(state);  // owned by `state` from here on
  if (!socket) {
    why = "TLS: cannot make a socket: " + openssl_error();
    return nullptr;
  }
  auto* ctx = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  auto fail = [&](const std::string& what) {
    why = "TLS: cannot load " + what + ": " + openssl_error();
    return nullptr;
  };
  if (!o.cert_pem.empty()) {
    if (!use_chain_pem(ctx, o.cert_pem)) return fail("certificate (PEM)");
  } else if (!o.cert_file.empty() &&
             SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) {
    return fail("certificate " + o.cert_file);
  }
  if (!o.key_pem.empty()) {
    if (!use_key_pem(ctx, o.key_pem)) return fail("private key (PEM)");
  } else if (!o.key_file.empty() &&
             SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("private key " + o.key_file);
  }
  if (!o.ca_pem.empty()) {
    if (!add_ca_pem(ctx, o.ca_pem)) return fail("CA (PEM)");
  } else if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
      return fail("CA " + o.ca_file);
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  // The handshake itself fails on a certificate that does not verify or does not name the
  // broker (OpenSSL checks the name, IP addresses included), so the library's own checks
  // after it are not needed.
  amqp_ssl_socket_set_verify_hostname(socket, 0);
  amqp_ssl_socket_set_verify_peer(socket, 0);
  if (o.verify_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!expect_name(ctx, o.server_name.empty() ? host : o.server_name)) {
      return fail("the broker's name");
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return socket;
}

}  // namespace roost::rmq::detail
