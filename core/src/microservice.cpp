#include <roost/microservice.hpp>

#include <roost/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <thread>

namespace roost {
namespace {
constexpr std::string_view source = "microservice";

// The options' concurrency limit, or ROOST_CONCURRENCY_LIMIT's when it is set and good.
std::shared_ptr<adaptive_limit> make_limit(const microservice_options& o) {
  auto chosen = o.concurrency_limit;
  if (const char* v = o.from_environment ? std::getenv("ROOST_CONCURRENCY_LIMIT") : nullptr) {
    auto p = adaptive_limit::parse(v, o.concurrency_limit.value_or(adaptive_limit::options{}));
    if (p.error.empty()) {
      chosen = std::move(p.limit);
    } else {
      o.log.error(source, p.error + "; keeping the configured limit");
    }
  }
  return chosen ? std::make_shared<adaptive_limit>(std::move(*chosen)) : nullptr;
}
}  // namespace

struct microservice::impl {
  impl(const router& r, microservice_options o)
      : opts(std::move(o)), disp(r, opts.log), stop_timer(ioc) {
    stop_timer.expires_at(std::chrono::steady_clock::time_point::max());
    disp.limit(make_limit(opts));
  }

  microservice_options opts;
  roost::dispatcher disp;
  boost::asio::io_context ioc;
  boost::asio::steady_timer stop_timer;
  std::vector<std::unique_ptr<server_transport>> transports;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> serving{false};  // from start()'s end to the beginning of shutdown()
  std::function<void()> ready;
};

microservice::microservice(const router& r, microservice_options opts)
    : impl_(std::make_unique<impl>(r, std::move(opts))) {}

microservice::~microservice() = default;

microservice& microservice::add_transport(std::unique_ptr<server_transport> t) {
  impl_->transports.push_back(std::move(t));
  return *this;
}

boost::asio::io_context& microservice::io_context() noexcept {
  return impl_->ioc;
}
roost::dispatcher& microservice::dispatcher() noexcept {
  return impl_->disp;
}
const logger& microservice::log() const noexcept {
  return impl_->opts.log;
}
enhancers& microservice::enhance() noexcept {
  return impl_->disp.enhance();
}

awaitable<void> microservice::start() {
  // A service shut down and started again (as tests do) serves again: the last shutdown's
  // refusal (dispatcher::stop_taking()) ends here.
  impl_->disp.start_taking();
  for (auto& t : impl_->transports) co_await t->listen(impl_->disp);
  impl_->serving = !impl_->stop_requested;
}

bool microservice::ready() const noexcept {
  if (!impl_->serving.load() || impl_->stop_requested.load()) return false;
  for (const auto& t : impl_->transports) {
    if (!t->ready()) return false;
  }
  return true;
}

namespace {
// Polls `done` every 5 ms on the calling coroutine's executor until it holds or `until`.
template <class Pred>
awaitable<bool> wait_for(Pred done, std::chrono::steady_clock::time_point until) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  for (;;) {
    if (done()) co_return true;
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
}
}  // namespace

awaitable<void> microservice::shutdown() {
  auto& i = *impl_;
  i.serving = false;
  const auto until = std::chrono::steady_clock::now() + i.opts.drain_timeout;
  for (auto& t : i.transports) t->stop_accepting();
  // What a broker delivered before its consumer's cancel (or unsubscription) took effect is
  // still served: refusing it would lose a request whose caller waits for its answer.
  const bool stopped = co_await wait_for(
      [&] {
        for (const auto& t : i.transports) {
          if (!t->stopped()) return false;
        }
        return true;
      },
      until);
  if (!stopped) i.opts.log.warn(source, "a transport still took messages at the drain deadline");
  // From now on a message is refused (a request answered "The service is shutting down", an
  // acknowledgeable event handed back to its broker): the drain ends even under load.
  i.disp.stop_taking();
  const bool drained = co_await i.disp.drain(until - std::chrono::steady_clock::now());
  if (!drained) {
    i.opts.log.warn(source, std::to_string(i.disp.in_flight()) +
                                " handler(s) still running at the drain deadline");
  }
  for (auto& t : i.transports) t->close();
  // The closes write what the drained handlers answered: wait for them, or the run's end (which
  // stops the executor) would cut their replies short and leave their callers waiting.
  co_await wait_for(
      [&] {
        for (const auto& t : i.transports) {
          if (!t->closed()) return false;
        }
        return true;
      },
      std::chrono::steady_clock::now() + i.opts.drain_timeout);
}

void microservice::on_ready(std::function<void()> f) {
  impl_->ready = std::move(f);
}

void microservice::stop() {
  impl_->stop_requested = true;
  boost::asio::post(impl_->ioc, [i = impl_.get()] { i->stop_timer.cancel(); });
}

int microservice::run() {
  auto& i = *impl_;
  std::atomic<int> rc{0};  // set on the executor's threads
  boost::asio::signal_set signals(i.ioc);
  // The first signal starts the graceful shutdown; one while it is under way (the operator's
  // second Ctrl-C, or an orchestrator's) ends the run at once.
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int signo) {
    if (ec) return;
    if (!i.stop_requested.exchange(true)) {  // not ready from now on
      i.stop_timer.cancel();
      signals.async_wait(on_signal);
      return;
    }
    i.opts.log.warn(source, "second signal (" + std::to_string(signo) +
                                "): exiting without waiting for the " +
                                std::to_string(i.disp.in_flight()) + " handler(s) in flight");
    rc = 128 + signo;
    i.ioc.stop();
  };
  if (i.opts.handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait(on_signal);
  }
  boost::asio::co_spawn(
      i.ioc,
      [&]() -> awaitable<void> {
        try {
          co_await start();
        } catch (const std::exception& e) {
          i.opts.log.error(source, std::string("could not start: ") + e.what());
          rc = 1;
          for (auto& t : i.transports) t->close();
          signals.cancel();
          co_return;
        }
        if (i.ready) i.ready();
        if (!i.stop_requested) {
          boost::system::error_code ec;
          co_await i.stop_timer.async_wait(
              boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
        // Signals stay watched during the shutdown: a second one forces the exit.
        co_await shutdown();
        signals.cancel();
      },
      [&](std::exception_ptr e) {
        if (e) rc = 1;
        i.ioc.stop();
      });
  unsigned n = i.opts.threads ? i.opts.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::jthread> pool;
  for (unsigned k = 1; k < n; ++k) pool.emplace_back([&] { i.ioc.run(); });
  i.ioc.run();
  pool.clear();
  return rc.load();
}

}  // namespace roost
