#pragma once
// The HTTP side port of a monitor (internal): /healthz, /readyz and /metrics over Beast.

#include <roost/log.hpp>
#include <roost/observability/monitor.hpp>

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>

namespace roost::observability::detail {

class side_port {
 public:
  // What the port serves, asked at each request.
  struct pages {
    std::function<bool()> ready;
    std::function<std::string()> metrics;
  };

  // Binds now (throws connection_error, or std::invalid_argument for a bad address) and
  // serves once `ioc` runs.
  static std::shared_ptr<side_port> open(boost::asio::io_context& ioc, const monitor_options& o,
                                         pages p, logger log);
  virtual ~side_port() = default;
  virtual std::uint16_t port() const noexcept = 0;
  // Stops accepting; connections open finish their request.
  virtual void close() = 0;
};

}  // namespace roost::observability::detail
