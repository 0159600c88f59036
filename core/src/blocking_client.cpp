#include <roost/blocking_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <thread>

namespace roost {

struct blocking_client::impl {
  impl(std::unique_ptr<client_transport> t, client_options opts)
      : work(ioc.get_executor()),
        proxy(ioc.get_executor(), std::move(t), opts),
        thread([this] { ioc.run(); }) {}

  ~impl() {
    proxy.close();
    work.reset();
    // Give the connection's coroutines a moment to see the close, then stop whatever is left.
    ioc.run_for(std::chrono::milliseconds(0));
    ioc.stop();
    thread.join();
  }

  template <class T>
  T wait(awaitable<T> op) {
    return boost::asio::co_spawn(ioc, std::move(op), boost::asio::use_future).get();
  }

  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  client_proxy proxy;
  std::thread thread;
};

blocking_client::blocking_client(std::unique_ptr<client_transport> transport, client_options opts)
    : impl_(std::make_unique<impl>(std::move(transport), opts)) {}

blocking_client::~blocking_client() = default;

void blocking_client::close() {
  impl_->proxy.close();
}

json::value blocking_client::send_value(json::value pattern, json::value data, call_options opts) {
  return impl_->wait(impl_->proxy.send_value(std::move(pattern), std::move(data), std::move(opts)));
}

std::vector<json::value> blocking_client::collect_values(json::value pattern, json::value data,
                                                         call_options opts) {
  return impl_->wait(roost::collect(
      impl_->proxy.stream_values(std::move(pattern), std::move(data), std::move(opts))));
}

void blocking_client::emit_value(json::value pattern, json::value data, call_options opts) {
  impl_->wait(impl_->proxy.emit_value(std::move(pattern), std::move(data), std::move(opts)));
}

}  // namespace roost
