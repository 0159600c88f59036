#include <roost/testing/run.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <stdexcept>
#include <thread>
#include <vector>

namespace roost::testing {

void run(std::function<awaitable<void>()> body, std::chrono::milliseconds deadline,
         unsigned threads) {
  boost::asio::io_context ioc;
  std::exception_ptr failure;
  bool done = false;
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
    ioc.stop();
  });
  std::vector<std::jthread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&] { ioc.run_for(deadline); });
  }
  ioc.run_for(deadline);
  ioc.stop();
  pool.clear();
  if (!done) throw std::runtime_error("test deadline exceeded");
  if (failure) std::rethrow_exception(failure);
}

}  // namespace roost::testing
