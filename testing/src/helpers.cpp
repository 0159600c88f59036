#include <roost/testing/helpers.hpp>

#include <roost/errors.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>

namespace roost::testing {

namespace asio = boost::asio;

awaitable<bool> eventually(std::function<bool()> pred, std::chrono::milliseconds timeout) {
  return eventually(std::move(pred), timeout, std::chrono::milliseconds(2));
}

awaitable<bool> eventually(std::function<bool()> pred, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds every) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  for (;;) {
    if (pred()) co_return true;
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(every);
    co_await t.async_wait(asio::use_awaitable);
  }
}

awaitable<void> pause_for(std::chrono::milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  co_await t.async_wait(asio::use_awaitable);
}

awaitable<std::string> error_of(client_proxy& c, json::value pattern, json::value data) {
  try {
    (void)co_await c.send(std::move(pattern), std::move(data));
  } catch (const rpc_error& e) {
    co_return e.message();
  }
  co_return std::string();
}

awaitable<void> call_and_count(client_proxy& c, json::value pattern, std::atomic<int>& done) {
  (void)co_await c.send<int>(std::move(pattern), 1);
  ++done;
}

microservice_options app_options() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = std::chrono::seconds(5);
  o.handle_signals = false;
  if (!std::getenv("ROOST_TEST_LOG")) o.log = logger::silent();
  return o;
}

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "/?" : "&") + query;
}

}  // namespace roost::testing
