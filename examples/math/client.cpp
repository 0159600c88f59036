// Calls the math service and prints what it answers.
//   math_client [port]      (default 3000)

#include <roost/roost.hpp>
#include <roost/tcp.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <vector>

using namespace std::chrono_literals;

roost::awaitable<void> demo(roost::client_proxy& math) {
  const std::vector<double> xs{1, 2, 3, 4};

  double sum = co_await math.send<double>("sum", xs, {.timeout = 2s});
  std::cout << "sum [1,2,3,4] = " << sum << "\n";

  const roost::json::value by_object = {{"role", "math"}, {"cmd", "sum"}};
  double s2 = co_await math.send<double>(by_object, xs);
  std::cout << "{cmd:sum, role:math} [1,2,3,4] = " << s2 << "\n";

  std::cout << "count 5 =";
  auto counter = math.stream<int>("count", 5);
  while (auto v = co_await counter.next()) std::cout << " " << *v;
  std::cout << "\n";

  co_await math.emit("number.recorded", 42);
  std::cout << "emitted number.recorded 42\n";

  const std::vector<double> by_zero{1, 0};
  try {
    co_await math.send<double>("divide", by_zero);
  } catch (const roost::rpc_error& e) {
    std::cout << "divide [1,0] failed: " << roost::json::serialize(e.error()) << "\n";
  }
  try {
    co_await math.send("nope", 1);
  } catch (const roost::rpc_error& e) {
    std::cout << "nope failed: " << e.message() << "\n";
  }
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoi(argv[1]) : 3000);
  boost::asio::io_context ioc;
  roost::client_proxy math(ioc.get_executor(),
                           roost::tcp::client({.host = "127.0.0.1", .port = port}));
  int rc = 0;
  boost::asio::co_spawn(ioc, demo(math), [&](std::exception_ptr e) {
    math.close();  // ends the connection, so run() returns
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "error: " << ex.what() << "\n";
      rc = 1;
    }
  });
  ioc.run();
  return rc;
}
