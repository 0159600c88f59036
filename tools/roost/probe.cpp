#include "probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <charconv>

namespace roost::cli {

namespace asio = boost::asio;

std::optional<side_port_address> parse_side_port_url(std::string_view url) {
  if (url.starts_with("http://")) url.remove_prefix(7);
  if (url.ends_with("/")) url.remove_suffix(1);
  if (url.find('/') != std::string_view::npos) return std::nullopt;
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  side_port_address a{std::string(url.substr(0, colon)), std::string(url.substr(colon + 1))};
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
    a.host = a.host.substr(1, a.host.size() - 2);
  }
  unsigned port = 0;
  const auto r = std::from_chars(a.port.data(), a.port.data() + a.port.size(), port);
  if (a.port.empty() || r.ec != std::errc() || r.ptr != a.port.data() + a.port.size() ||
      port == 0 || port > 65535) {
    return std::nullopt;
  }
  return a;
}

std::optional<probe_answer> probe(const side_port_address& at, std::string_view path,
                                  std::chrono::milliseconds timeout, std::string& why) {
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  asio::ip::tcp::socket socket(ioc);
  const std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + at.host + ":" +
                              at.port + "\r\nConnection: close\r\n\r\n";
  std::string reply;
  boost::system::error_code failure;
  resolver.async_resolve(at.host, at.port, [&](auto ec, auto endpoints) {
    if (ec) {
      failure = ec;
      return;
    }
    asio::async_connect(socket, endpoints, [&](auto ec2, auto) {
      if (ec2) {
        failure = ec2;
        return;
      }
      asio::async_write(socket, asio::buffer(request), [&](auto ec3, std::size_t) {
        if (ec3) {
          failure = ec3;
          return;
        }
        // The side port closes the connection after its answer (Connection: close).
        asio::async_read(socket, asio::dynamic_buffer(reply, 16 << 20), [&](auto ec4, std::size_t) {
          if (ec4 && ec4 != asio::error::eof) failure = ec4;
        });
      });
    });
  });
  ioc.run_for(timeout);
  if (!ioc.stopped()) {
    why = "no answer within " + std::to_string(timeout.count()) + " ms";
    return std::nullopt;
  }
  if (failure) {
    why = failure.message();
    return std::nullopt;
  }
  const auto end = reply.find("\r\n\r\n");
  probe_answer a;
  if (!reply.starts_with("HTTP/1.") || reply.size() < 12 || end == std::string::npos ||
      std::from_chars(reply.data() + 9, reply.data() + 12, a.status).ec != std::errc()) {
    why = "not an HTTP answer";
    return std::nullopt;
  }
  a.body = reply.substr(end + 4);
  return a;
}

}  // namespace roost::cli
