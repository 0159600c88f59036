#pragma once
// TLS for a rabbitmq-c connection: its SSL socket, set up from roost::tls_options.

#include <roost/tls_options.hpp>

#include <amqp.h>

#include <string>

namespace roost::rmq::detail {

/// Makes `state`'s socket a TLS one set up from `o` for a broker reached as `host`: TLS 1.2 and
/// later, the CA (none: the system's), the client certificate and key (files or PEM text) and,
/// unless `o.verify_peer` is off, the broker's certificate and name (`o.server_name`, else
/// `host`; a name or an IP address) checked during the handshake. Returns the socket, or null
/// and `why`.
amqp_socket_t* make_tls_socket(amqp_connection_state_t state, const tls_options& o,
                               const std::string& host, std::string& why);

/// Why the last TLS operation on this thread failed, in OpenSSL's words ("" when it did not
/// say): the library reports a failed handshake without the reason.
std::string tls_failure();

}  // namespace roost::rmq::detail
