// The server that mqtt_broker.killed_mid_handler starts as a child process and kills (SIGKILL)
// in the middle of its handler: it serves the URL it is given (a persistent session, QoS 1)
// with one event handler on TOPIC; it writes MARK_FILE.ready once subscribed and, handed an
// event, MARK_FILE.handling, and never returns from the handler.
//   roost_mqtt_victim_server URL TOPIC MARK_FILE
#include <roost/mqtt.hpp>
#include <roost/roost.hpp>
#include <roost/testing/helpers.hpp>
#include <roost/testing/run.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s URL TOPIC MARK_FILE\n", argv[0]);
    return 2;
  }
  const auto u = roost::url::parse(argv[1]);
  auto options = u ? roost::mqtt::server_options_from(*u)
                   : boost::system::result<roost::mqtt::server_options>(
                         make_error_code(roost::error::invalid_argument));
  if (!options) {
    std::fprintf(stderr, "%s: bad URL %s\n", argv[0], argv[1]);
    return 2;
  }
  options->log = roost::logger::silent();
  const std::string mark = argv[3];
  roost::router r;
  r.event(boost::json::string(argv[2]), [mark](boost::json::value) -> roost::awaitable<void> {
    std::ofstream(mark + ".handling") << "handling\n";
    for (;;) co_await roost::testing::pause_for(1s);
  });
  roost::testing::run(
      [&]() -> roost::awaitable<void> {
        roost::microservice app(r, roost::testing::app_options());
        app.add_transport(roost::mqtt::server(*options));
        co_await app.start();
        std::ofstream(mark + ".ready") << "ready\n";
        for (;;) co_await roost::testing::pause_for(1s);
      },
      120s);
  return 0;
}
