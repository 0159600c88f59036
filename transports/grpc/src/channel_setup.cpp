#include "channel_setup.hpp"

#include <grpc/grpc.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace roost::grpc::detail {
namespace {

// The PEM text of one item: given as text, or read from its file; empty when neither.
std::string pem_of(const std::string& pem, const std::string& file, const char* what) {
  if (!pem.empty() || file.empty()) return pem;
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    throw std::invalid_argument(std::string("grpc: cannot read the TLS ") + what + " file " + file);
  }
  return text.str();
}

int clamp_int(std::int64_t v) {
  if (v > INT32_MAX) return INT32_MAX;
  if (v < INT32_MIN) return INT32_MIN;
  return static_cast<int>(v);
}

}  // namespace

void for_each_channel_arg(const proto_options& o,
                          const std::function<void(const char*, int)>& add) {
  if (o.max_send_message_length) add(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, *o.max_send_message_length);
  if (o.max_receive_message_length) {
    add(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, *o.max_receive_message_length);
  }
  const auto& k = o.keepalive;
  const auto put = [&](const char* name, const std::optional<std::int64_t>& v) {
    if (v) add(name, clamp_int(*v));
  };
  put(GRPC_ARG_KEEPALIVE_TIME_MS, k.keepalive_time_ms);
  put(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, k.keepalive_timeout_ms);
  if (k.keepalive_permit_without_calls) {
    add(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, *k.keepalive_permit_without_calls ? 1 : 0);
  }
  put(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, k.http2_max_pings_without_data);
  put(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, k.http2_min_time_between_pings_ms);
  put(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      k.http2_min_ping_interval_without_data_ms);
  put(GRPC_ARG_HTTP2_MAX_PING_STRIKES, k.http2_max_ping_strikes);
}

std::shared_ptr<::grpc::ServerCredentials> server_credentials(const proto_options& o) {
  if (!o.tls) return ::grpc::InsecureServerCredentials();
  const auto& t = *o.tls;
  ::grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = pem_of(t.key_pem, t.key_file, "key");
  pair.cert_chain = pem_of(t.cert_pem, t.cert_file, "certificate");
  if (pair.private_key.empty() || pair.cert_chain.empty()) {
    throw std::invalid_argument("grpc: a TLS server needs a certificate and its key");
  }
  const std::string ca = pem_of(t.ca_pem, t.ca_file, "CA");
  // With CAs, a client must present a certificate they signed (mutual TLS), as on every
  // transport's server (tls_options::verify_peer).
  const bool mutual = !ca.empty() && t.verify_peer;
  ::grpc::SslServerCredentialsOptions opts(
      mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  opts.pem_root_certs = ca;
  opts.pem_key_cert_pairs.push_back(std::move(pair));
  return ::grpc::SslServerCredentials(opts);
}

std::shared_ptr<::grpc::ChannelCredentials> client_credentials(const proto_options& o) {
  if (!o.tls) return ::grpc::InsecureChannelCredentials();
  const auto& t = *o.tls;
  if (!t.verify_peer) {
    throw std::invalid_argument(
        "grpc: verify=false is not supported (gRPC always verifies the server): give its CA");
  }
  ::grpc::SslCredentialsOptions opts;
  opts.pem_root_certs = pem_of(t.ca_pem, t.ca_file, "CA");
  opts.pem_private_key = pem_of(t.key_pem, t.key_file, "key");
  opts.pem_cert_chain = pem_of(t.cert_pem, t.cert_file, "certificate");
  if (opts.pem_private_key.empty() != opts.pem_cert_chain.empty()) {
    throw std::invalid_argument(
        "grpc: a client certificate needs its key, and a key its certificate");
  }
  return ::grpc::SslCredentials(opts);
}

}  // namespace roost::grpc::detail
