#pragma once
// A TCP relay on 127.0.0.1 in front of the broker, on a thread of its own: what the clients
// see of a broker that goes away (`go_down`: every connection reset, new ones refused), comes
// back (`come_up`, on the same port), or goes silent with its connections open (`freeze`: a
// dead peer or a cut network, which only heartbeats notice), or says what the broker did not
// (`say_to_clients`: bytes written to each client, such as a frame of the broker's).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace roost::rmq::test {

class relay {
 public:
  relay(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {
    listen(0);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~relay() {
    on_thread([this] {
      stop_listening();
      drop_all();
      work_.reset();
    });
    thread_.join();
  }
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  std::uint16_t port() const { return listen_port_; }
  void go_down() {
    on_thread([this] {
      stop_listening();
      drop_all();
    });
  }
  void come_up() {
    on_thread([this] { listen(listen_port_); });
  }
  void freeze() { frozen_ = true; }
  void thaw() { frozen_ = false; }
  int connections() const { return accepted_.load(); }
  /// Writes `bytes` to every client connection, between what the broker sends: only whole
  /// frames when the connections are idle (no heartbeats), as they are not cut in two then.
  void say_to_clients(const std::string& bytes) {
    on_thread([&] {
      boost::system::error_code ec;
      for (auto& s : clients_) boost::asio::write(*s, boost::asio::buffer(bytes), ec);
    });
  }

 private:
  using tcp = boost::asio::ip::tcp;
  using socket_ptr = std::shared_ptr<tcp::socket>;

  template <class F>
  void on_thread(F f) {
    std::promise<void> done;
    boost::asio::post(ioc_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void listen(std::uint16_t port) {
    acceptor_ = std::make_shared<tcp::acceptor>(ioc_);
    const tcp::endpoint at(boost::asio::ip::make_address("127.0.0.1"), port);
    acceptor_->open(at.protocol());
    acceptor_->set_option(tcp::acceptor::reuse_address(true));
    acceptor_->bind(at);
    acceptor_->listen();
    listen_port_ = acceptor_->local_endpoint().port();
    boost::asio::co_spawn(ioc_, accept(acceptor_), boost::asio::detached);
  }

  boost::asio::awaitable<void> accept(std::shared_ptr<tcp::acceptor> a) {
    for (;;) {
      auto down = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      co_await a->async_accept(*down, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;  // gone down
      auto up = std::make_shared<tcp::socket>(ioc_);
      tcp::resolver r(ioc_);
      auto at =
          co_await r.async_resolve(host_, std::to_string(port_),
                                   boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (!ec) {
        co_await boost::asio::async_connect(
            *up, at, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      }
      if (ec) continue;  // the client sees its connection close
      ++accepted_;
      sockets_.push_back(down);
      sockets_.push_back(up);
      clients_.push_back(down);
      boost::asio::co_spawn(ioc_, pipe(down, up), boost::asio::detached);
      boost::asio::co_spawn(ioc_, pipe(up, down), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> pipe(socket_ptr from, socket_ptr to) {
    std::vector<char> buf(65536);
    boost::asio::steady_timer pause(ioc_);
    boost::system::error_code ec;
    for (;;) {
      const auto n = co_await from->async_read_some(
          boost::asio::buffer(buf), boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) break;
      while (frozen_ && from->is_open()) {
        pause.expires_after(std::chrono::milliseconds(10));
        co_await pause.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      }
      co_await boost::asio::async_write(
          *to, boost::asio::buffer(buf.data(), n),
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) break;
    }
    from->close(ec);
    to->close(ec);
  }

  void stop_listening() {
    boost::system::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    acceptor_.reset();
  }

  void drop_all() {
    boost::system::error_code ec;
    for (auto& s : sockets_) s->close(ec);
    sockets_.clear();
    clients_.clear();
  }

  std::string host_;
  std::uint16_t port_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::shared_ptr<tcp::acceptor> acceptor_;  // the relay thread's alone
  std::vector<socket_ptr> sockets_;          // likewise
  std::vector<socket_ptr> clients_;          // likewise: the client's side of each
  std::uint16_t listen_port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace roost::rmq::test
