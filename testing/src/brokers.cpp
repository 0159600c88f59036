#include <roost/testing/brokers.hpp>
#include <roost/testing/url_options.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace roost::testing {

namespace asio = boost::asio;

std::string broker_url(const char* variable) {
  const char* u = std::getenv(variable);
  if (!u || !*u) {
    throw std::runtime_error(std::string(variable) +
                             " is not set (run `bash scripts/brokers.sh start` and export what "
                             "`bash scripts/brokers.sh env` prints)");
  }
  return u;
}

bool test_log_wanted() {
  return std::getenv("ROOST_TEST_LOG") != nullptr;
}

url parse_url(const std::string& text) {
  auto u = url::parse(text);
  if (!u) throw std::runtime_error("bad url " + text);
  return *u;
}

std::string unique_number() {
  std::random_device rd;
  return std::to_string(rd() % 1'000'000'000);
}

std::uint16_t free_port() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

broker_process::broker_process(std::string command, std::vector<std::string> args,
                               std::uint16_t port)
    : command_(std::move(command)), args_(std::move(args)), port_(port) {
  start();
}

broker_process::~broker_process() {
  stop();
}

void broker_process::start() {
  stop();  // one process per broker_process: a second start() replaces the first, never leaks it
  std::vector<char*> argv{command_.data()};
  for (auto& a : args_) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&pid_, command_.c_str(), &quiet, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&quiet);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + command_);
  }
  // Ready once it accepts connections. 10 s: a broker restarting on a loaded machine (the
  // sanitizer tiers run beside a build) can take seconds; one that exits (its port taken, a bad
  // argument) fails at once.
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(command_ + " exited before listening on port " +
                               std::to_string(port_));
    }
    asio::io_context ioc;
    asio::ip::tcp::socket sock(ioc);
    boost::system::error_code ec;
    sock.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    if (!ec) return;
    ::usleep(10'000);
  }
  throw std::runtime_error(command_ + " did not start on port " + std::to_string(port_));
}

void broker_process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace roost::testing
