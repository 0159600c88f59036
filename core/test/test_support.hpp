#pragma once
/// \file Small helpers shared by the core tests (coroutine sleeps, waits, log capture).

#include <roost/awaitable.hpp>
#include <roost/log.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace roost::test {

/// Sleeps on the calling coroutine's executor; throws when cancelled.
inline awaitable<void> sleep_for(std::chrono::milliseconds d) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex);
  t.expires_after(d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

/// Polls `pred` every millisecond until it holds or `limit` passes; returns the last result.
inline awaitable<bool> wait_until(std::function<bool()> pred,
                                  std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) co_return pred();
    t.expires_after(std::chrono::milliseconds(1));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
  co_return true;
}

/// A latch the test opens by hand. A handler that awaits it is certainly still running at any
/// check made before `open()`: an order the test controls, where a sleep would be a bet that a
/// slow machine (a sanitizer build, a busy CI host) could lose.
class gate {
 public:
  void open() { open_ = true; }
  bool is_open() const { return open_; }

  /// Completes once `open()` has been called (polled every millisecond); throws when cancelled.
  awaitable<void> wait() const {
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer t(ex);
    while (!open_) {
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(boost::asio::use_awaitable);
    }
  }

 private:
  bool open_ = false;
};

/// A logger that records every line, for asserting what roost logged.
struct log_capture {
  struct line {
    log_level level;
    std::string source;
    std::string message;
  };
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<line>> lines = std::make_shared<std::vector<line>>();

  logger make() const {
    return logger(log_level::debug, [m = mutex, l = lines](log_level lvl, std::string_view src,
                                                           std::string_view msg) {
      std::lock_guard lock(*m);
      l->push_back({lvl, std::string(src), std::string(msg)});
    });
  }

  /// true when some line at `level` contains `text`
  bool contains(log_level level, std::string_view text) const {
    std::lock_guard lock(*mutex);
    for (const auto& l : *lines) {
      if (l.level == level && l.message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::size_t size() const {
    std::lock_guard lock(*mutex);
    return lines->size();
  }
};

}  // namespace roost::test
