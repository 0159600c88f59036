#include <roost/redis/server.hpp>

#include "link.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>
#include <roost/redis/context.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hiredis/hiredis.h>

#include <atomic>
#include <mutex>

namespace roost::redis {

namespace asio = boost::asio;
using asio::use_awaitable;
using detail::connection;

namespace {

constexpr std::string_view source = "redis server";

// Publishes the replies of one request to its reply channel.
class channel_reply_sink final : public reply_sink {
 public:
  channel_reply_sink(std::shared_ptr<detail::link> l, std::string channel, const json::value& id)
      : link_(std::move(l)), channel_(std::move(channel)), id_(id) {}
  awaitable<void> send(reply_packet reply) override {
    text_.clear();
    encode_reply(text_, reply, id_);
    auto pub = link_->pub();
    // While the broker is away the reply is dropped, as a PUBLISH to a broken connection is.
    if (!pub || !pub->publish(channel_, text_)) {
      link_->log().warn(source, "cannot publish a reply to " + channel_ + ": not connected");
    }
    co_return;
  }

 private:
  std::shared_ptr<detail::link> link_;
  std::string channel_;
  const json::value& id_;
  std::string text_;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o)
      : opts(std::move(o)),
        link(std::make_shared<detail::link>(opts.connection, opts.log, source)) {}

  awaitable<void> listen(dispatcher& d) {
    disp = &d;
    ex = co_await asio::this_coro::executor;
    for (const auto* e : d.routes().entries()) routes.push_back(e->route);
    std::weak_ptr<impl> weak = shared_from_this();
    detail::link::hooks h;
    h.on_push = [weak](const redisReply& r) {
      if (auto s = weak.lock()) s->on_push(r);
    };
    h.on_up = [weak](connection&, connection& sub) {
      if (auto s = weak.lock()) s->subscribe(sub);
    };
    link->set_hooks(std::move(h));
    try {
      co_await link->ensure_up();
    } catch (...) {
      link->close();  // listen() failed: no reconnection loop behind it
      throw;
    }
    // Ready once every subscription is confirmed, so that a message published right after
    // listen() completes is not missed.
    auto self = shared_from_this();
    auto wait = [self](auto handler) {
      auto hex = asio::get_associated_executor(handler);
      std::unique_lock lock(self->mutex);
      if (self->ready) {
        lock.unlock();
        asio::post(hex, std::move(handler));
        return;
      }
      self->ready_waiter.emplace(std::move(hex), std::move(handler));
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(std::move(wait),
                                                                         use_awaitable);
    opts.log.info(source, "subscribed to " + std::to_string(routes.size()) + " channel(s) on " +
                              opts.connection.host + ":" + std::to_string(opts.connection.port) +
                              (opts.wildcards ? " (wildcards)" : ""));
  }

  // (Re)subscribes to every route, in one command.
  void subscribe(connection& sub) {
    std::vector<std::string_view> args;
    args.reserve(routes.size() + 1);
    args.push_back(opts.wildcards ? "PSUBSCRIBE" : "SUBSCRIBE");
    for (const auto& r : routes) args.push_back(r);
    {
      std::lock_guard lock(mutex);
      if (!accepting) return;
      unconfirmed = routes.size();
    }
    if (routes.empty()) {
      mark_ready();
      return;
    }
    sub.command(args);
  }

  void mark_ready() {
    std::optional<std::pair<executor, asio::any_completion_handler<void()>>> w;
    {
      std::lock_guard lock(mutex);
      ready = true;
      w.swap(ready_waiter);
    }
    if (w) asio::post(w->first, std::move(w->second));
  }

  void on_push(const redisReply& r) {
    auto p = detail::classify(r);
    using kind = detail::push::kind;
    switch (p.type) {
      case kind::subscribe:
      case kind::psubscribe: {
        bool now_ready = false;
        {
          std::lock_guard lock(mutex);
          if (unconfirmed > 0 && --unconfirmed == 0) now_ready = !ready;
        }
        if (now_ready) mark_ready();
        return;
      }
      case kind::message:
        serve_message(p.channel, p.channel, p.payload);
        return;
      case kind::pmessage:
        serve_message(p.pattern, p.channel, p.payload);
        return;
      default:
        return;
    }
  }

  // `key`: what the handler is found by (the channel, or the glob that matched it).
  void serve_message(std::string_view key, std::string_view channel, std::string_view payload) {
    if (!accepting.load(std::memory_order_relaxed)) return;
    json::value chan(channel);
    auto packet = decode_inbound(payload, chan);
    inbound_packet p;
    if (packet) {
      p = std::move(*packet);
    } else {
      // NestJS takes a payload that is not JSON as the raw string: an external event whose
      // pattern is the channel.
      p = inbound_from_value(json::value(json::string(payload)), chan);
    }
    asio::co_spawn(ex,
                   serve(shared_from_this(), std::string(key), std::string(channel), std::move(p)),
                   asio::detached);
  }

  static awaitable<void> serve(std::shared_ptr<impl> self, std::string key, std::string channel,
                               inbound_packet p) {
    context ctx(json::value(key), p.metadata ? &*p.metadata : nullptr, channel);
    if (p.id) {
      // NestJS 12 replies to the concrete channel's reply channel, also in wildcards mode.
      channel_reply_sink sink(self->link, channel + ".reply", *p.id);
      co_await self->disp->dispatch(p, ctx, &sink);
    } else {
      co_await self->disp->dispatch(p, ctx, nullptr);
    }
  }

  void stop_accepting() {
    {
      std::lock_guard lock(mutex);
      if (!accepting) return;
      accepting = false;
    }
    if (auto sub = link->sub()) {
      sub->command({opts.wildcards ? "PUNSUBSCRIBE" : "UNSUBSCRIBE"});
    }
  }

  void close() {
    stop_accepting();
    link->close();
  }

  server_options opts;
  std::shared_ptr<detail::link> link;
  dispatcher* disp = nullptr;
  executor ex;
  std::vector<std::string> routes;
  std::mutex mutex;
  std::atomic<bool> accepting{true};
  std::size_t unconfirmed = 0;
  bool ready = false;
  std::optional<std::pair<executor, asio::any_completion_handler<void()>>> ready_waiter;
};

server::server(server_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
server::server(server&&) noexcept = default;
server::~server() {
  if (impl_) impl_->link->close();
}

awaitable<void> server::listen(dispatcher& d) {
  return impl_->listen(d);
}
void server::stop_accepting() {
  impl_->stop_accepting();
}
void server::close() {
  impl_->close();
}

}  // namespace roost::redis
