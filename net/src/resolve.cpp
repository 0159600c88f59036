#include <roost/net/resolve.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace roost::net {

namespace asio = boost::asio;

awaitable<std::pair<boost::system::error_code, endpoints>> resolve(const std::string& host,
                                                                   std::uint16_t port,
                                                                   bool passive) {
  boost::system::error_code not_numeric;
  const auto address = asio::ip::make_address(host, not_numeric);
  if (!not_numeric) co_return std::pair{boost::system::error_code{}, endpoints{{address, port}}};
  asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [ec, results] = co_await resolver.async_resolve(
      host, std::to_string(port),
      passive ? asio::ip::tcp::resolver::passive : asio::ip::tcp::resolver::flags(),
      asio::as_tuple(asio::use_awaitable));
  endpoints out;
  for (const auto& entry : results) out.push_back(entry.endpoint());
  if (!ec && out.empty()) ec = asio::error::host_not_found;
  co_return std::pair{ec, std::move(out)};
}

}  // namespace roost::net
