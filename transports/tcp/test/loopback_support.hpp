#pragma once
// Helpers of the TCP loopback tests (STYLE tier 3): a service on 127.0.0.1 port 0, a raw
// socket peer that reads and writes exact bytes as a NestJS peer would, timed waits, and
// polling for conditions the tests cannot be told about directly.
//
// GCC 12 miscompiles some co_await sub-expressions: no co_await inside call arguments or
// conditions; and in a full-expression that contains co_await, no brace-init-lists, no
// `?:` yielding a class temporary and no lambda that owns what it captures (GCC destroys
// such temporaries twice).

#include <roost/roost.hpp>
#include <roost/tcp.hpp>
#include <roost/testing/run.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace roost::tcp::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using asio::use_awaitable;
using std::chrono::milliseconds;

/// JavaScript's `string.length` of a valid UTF-8 text: one unit per code point, two for those
/// above U+FFFF. Written independently of the transport's own counter on purpose.
inline std::size_t js_length(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++n;  // a code point starts here
    if (c >= 0xF0) ++n;           // ...and needs a surrogate pair
  }
  return n;
}

/// One NestJS TCP frame: `<N>#<json>`.
inline std::string frame(std::string_view json) {
  return std::to_string(js_length(json)) + "#" + std::string(json);
}

/// Polls `pred` every few milliseconds until it holds or `timeout` passes; returns its value.
/// Give it lambdas that capture by reference only: GCC 12 destroys a lambda temporary in a
/// co_await full-expression twice, which is harmless only when the closure owns nothing.
inline awaitable<bool> eventually(std::function<bool()> pred, milliseconds timeout = 10s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  for (;;) {
    if (pred()) co_return true;
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(2ms);
    co_await t.async_wait(use_awaitable);
  }
}

/// Waits for `d` (only where the test is about time itself).
inline awaitable<void> pause_for(milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  co_await t.async_wait(use_awaitable);
}

inline std::string str(const json::value& v) {
  return json::serialize(v);
}

/// The JSON text of a frame `<N>#<json>`.
inline std::string body_of(std::string_view frame_text) {
  const auto hash = frame_text.find('#');
  return std::string(hash == std::string_view::npos ? frame_text : frame_text.substr(hash + 1));
}

/// Runs a coroutine in the background and keeps its outcome.
template <class T>
struct background {
  std::optional<T> value;
  std::exception_ptr error;
  std::atomic<bool> done{false};

  /// Completes with the outcome (rethrows its exception); throws if it did not end in time.
  awaitable<T> join(milliseconds timeout = 10s) {
    const bool ended = co_await eventually([this] { return done.load(); }, timeout);
    if (!ended) throw std::runtime_error("background operation did not complete in time");
    if (error) std::rethrow_exception(error);
    co_return std::move(*value);
  }
};

template <class T>
std::shared_ptr<background<T>> spawn(executor ex, awaitable<T> op) {
  auto b = std::make_shared<background<T>>();
  asio::co_spawn(ex, std::move(op), [b](std::exception_ptr e, T v) {
    if (e) {
      b->error = e;
    } else {
      b->value.emplace(std::move(v));
    }
    b->done = true;
  });
  return b;
}

/// A plain socket on 127.0.0.1 that reads and writes bytes, as a NestJS peer sees them.
class raw_peer {
 public:
  explicit raw_peer(asio::ip::tcp::socket s) : socket_(std::move(s)) {
    boost::system::error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  }

  static awaitable<raw_peer> connect(std::uint16_t port, int receive_buffer = 0) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket s(ex);
    s.open(asio::ip::tcp::v4());
    // A small receive buffer set before connecting makes backpressure show up quickly.
    if (receive_buffer > 0) s.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    co_await s.async_connect(ep, use_awaitable);
    co_return raw_peer(std::move(s));
  }

  asio::ip::tcp::socket& socket() noexcept { return socket_; }

  awaitable<void> write(std::string_view bytes) {
    co_await asio::async_write(socket_, asio::buffer(bytes), use_awaitable);
  }

  /// Writes each byte on its own (the peer's reads see the text in tiny pieces).
  awaitable<void> write_bytewise(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      co_await asio::async_write(socket_, asio::buffer(bytes.substr(i, 1)), use_awaitable);
    }
  }

  /// Reads `n` bytes, or fewer when the connection ends or `timeout` passes first.
  awaitable<std::string> read(std::size_t n, milliseconds timeout = 10s) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer t(ex, timeout);
    while (buffered_.size() < n && !ended_) {
      // The timer gives up waiting; whoever wins cancels the other.
      auto r = co_await (socket_.async_read_some(asio::buffer(chunk_), as_tuple(use_awaitable)) ||
                         t.async_wait(as_tuple(use_awaitable)));
      if (r.index() == 1) break;
      auto [ec, k] = std::get<0>(r);
      if (ec) {
        ended_ = true;
        end_reason_ = ec;
        break;
      }
      buffered_.append(chunk_.data(), k);
    }
    std::string out = buffered_.substr(0, std::min(n, buffered_.size()));
    buffered_.erase(0, out.size());
    co_return out;
  }

  /// Reads one whole `<N>#<json>` frame of ASCII JSON (prefix included); what arrived
  /// before EOF or the timeout otherwise.
  awaitable<std::string> read_frame(milliseconds timeout = 10s) {
    std::string text;
    for (;;) {
      std::string c = co_await read(1, timeout);
      if (c.empty()) co_return text;
      text += c;
      if (c == "#") break;
    }
    std::size_t n = 0;
    try {
      n = std::stoul(text);
    } catch (const std::exception&) {
      co_return text;
    }
    std::string body = co_await read(n, timeout);
    co_return text + body;
  }

  /// True once the peer has closed the connection (EOF or reset) within `timeout`; data that
  /// arrives meanwhile is discarded.
  awaitable<bool> closed_by_peer(milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!ended_) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      buffered_.clear();
      (void)co_await read(chunk_.size(), left);
    }
    co_return ended_;
  }

  bool ended() const noexcept { return ended_; }
  boost::system::error_code end_reason() const noexcept { return end_reason_; }

 private:
  asio::ip::tcp::socket socket_;
  std::vector<char> chunk_ = std::vector<char>(64 * 1024);
  std::string buffered_;
  bool ended_ = false;
  boost::system::error_code end_reason_;
};

/// What the test service's handlers record.
struct service_state {
  std::atomic<int> events{0};
  std::mutex mutex;
  std::vector<std::string> event_data;  // serialized, in arrival order
  std::atomic<int> blobs{0};            // "blob" calls served
  std::atomic<int> held{0};             // "hold" calls waiting at the gate
  asio::steady_timer* gate = nullptr;   // "hold" waits until this is cancelled

  std::vector<std::string> events_seen() {
    std::lock_guard lock(mutex);
    return event_data;
  }
};

/// The handlers every loopback test uses.
inline router make_router(service_state& st) {
  router r;
  r.message("sum", [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message(json::value{{"cmd", "sum"}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message("echo", [](json::value v) { return v; });
  r.message("count", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message("boom", []() -> int { throw rpc_exception("bad thing"); });
  r.message("sleep", [](int ms) -> awaitable<int> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer t(ex, milliseconds(ms));
    co_await t.async_wait(use_awaitable);
    co_return ms;
  });
  r.message("hold", [&st]() -> awaitable<std::string> {
    ++st.held;
    boost::system::error_code ec;
    co_await st.gate->async_wait(asio::redirect_error(use_awaitable, ec));
    --st.held;
    co_return "released";
  });
  // `{"n": size, "pad": ...}` -> a string of `size` characters.
  r.message("blob", [&st](json::value v) {
    ++st.blobs;
    return std::string(static_cast<std::size_t>(v.at("n").to_number<std::int64_t>()), 'x');
  });
  r.event("note", [&st](json::value v) {
    {
      std::lock_guard lock(st.mutex);
      st.event_data.push_back(str(v));
    }
    ++st.events;
  });
  // Reached by the normalized route string a NestJS client sends for an object event pattern.
  r.event(json::value{{"role", "math"}, {"cmd", "ev"}}, [&st](json::value v) {
    {
      std::lock_guard lock(st.mutex);
      st.event_data.push_back("ev:" + str(v));
    }
    ++st.events;
  });
  return r;
}

inline server_options server_opts(tcp::limits lim = {}, std::uint16_t port = 0) {
  server_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.limits = lim;
  o.log = logger::silent();
  return o;
}

inline tcp::client_options client_opts(std::uint16_t port) {
  tcp::client_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.log = logger::silent();
  return o;
}

inline microservice_options app_opts() {
  microservice_options o;
  o.threads = 1;
  o.drain_timeout = 5s;
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

/// A microservice with one TCP server; start() it from the test body.
struct service {
  explicit service(const router& r, server_options o = server_opts(),
                   microservice_options a = app_opts())
      : app(r, std::move(a)), srv(app.add_transport(tcp::server(std::move(o)))) {}

  std::uint16_t port() const noexcept { return srv.port(); }

  microservice app;
  tcp::server& srv;
};

}  // namespace roost::tcp::test
