#pragma once
// Host names to endpoints, for the transports that run their own sockets.

#include <roost/awaitable.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace roost::net {

using endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

/// The endpoints of host:port, in the resolver's order; `passive` for an address to listen on.
/// Completes with an error code and no endpoints when the name does not resolve (never throws
/// for it). A numeric address is taken as it is, without the resolver: Asio's resolver runs
/// getaddrinfo on a thread of its own, started on first use and kept until the io_context ends,
/// which would cost every service listening on or connecting to an address an idle thread (its
/// stack and its malloc arena). Cancelled with the coroutine's cancellation.
awaitable<std::pair<boost::system::error_code, endpoints>> resolve(const std::string& host,
                                                                   std::uint16_t port,
                                                                   bool passive = false);

}  // namespace roost::net
