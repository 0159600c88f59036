// The consumer that rmq_broker.a_consumer_killed_mid_handler_loses_nothing starts as a child
// process and kills (SIGKILL) in the middle of its handler: it serves the queue of the URL it
// is given (noAck=false) and, handed a `work` event, writes the mark file and never returns.
//   roost_rmq_victim_consumer URL MARK_FILE
#include <roost/rmq.hpp>
#include <roost/roost.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s URL MARK_FILE\n", argv[0]);
    return 2;
  }
  const auto u = roost::url::parse(argv[1]);
  auto options = u ? roost::rmq::server_options_from(*u)
                   : boost::system::result<roost::rmq::server_options>(
                         make_error_code(roost::error::invalid_argument));
  if (!options) {
    std::fprintf(stderr, "%s: bad URL %s\n", argv[0], argv[1]);
    return 2;
  }
  options->log = roost::logger::silent();
  const std::string mark = argv[2];
  roost::router r;
  r.event("work", [mark](boost::json::value) -> roost::awaitable<void> {
    std::ofstream(mark) << "handling\n";
    for (;;) co_await roost::testing::pause_for(1s);
  });
  roost::testing::run(
      [&]() -> roost::awaitable<void> {
        roost::microservice app(r, roost::testing::app_options());
        app.add_transport(roost::rmq::server(*options));
        co_await app.start();
        for (;;) co_await roost::testing::pause_for(1s);
      },
      120s);
  return 0;
}
