#include <roost/testing/worker_pool.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace roost::testing {

namespace asio = boost::asio;

// A waiting call's timer, which the call that frees a slot cancels to hand it over.
struct worker_pool::turn {
  explicit turn(const executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
};

worker_pool::worker_pool(std::size_t workers, std::chrono::microseconds cost)
    : free_(workers), cost_(cost) {}

worker_pool::~worker_pool() = default;

awaitable<void> worker_pool::work() {
  const auto ex = co_await asio::this_coro::executor;
  if (free_ > 0) {
    --free_;
  } else {
    auto mine = std::make_shared<turn>(ex);
    waiting_.push_back(mine);
    boost::system::error_code ec;  // operation_aborted: our turn
    co_await mine->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::steady_timer busy(ex, cost_);
  co_await busy.async_wait(asio::use_awaitable);
  if (waiting_.empty()) {
    ++free_;
  } else {
    waiting_.front()->timer.cancel();
    waiting_.pop_front();
  }
}

}  // namespace roost::testing
