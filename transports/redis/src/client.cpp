#include <roost/redis/client.hpp>

#include "link.hpp"

#include <roost/detail/string_hash.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hiredis/hiredis.h>

#include <unordered_map>

namespace roost::redis {

namespace asio = boost::asio;
using asio::use_awaitable;
using detail::connection;

namespace {

constexpr std::string_view source = "redis client";

std::exception_ptr lost_error(std::string_view why) {
  return std::make_exception_ptr(
      connection_error(make_error_code(error::connection_lost), std::string(why)));
}

std::string reply_channel(std::string_view route) {
  std::string c;
  c.reserve(route.size() + 6);
  c.append(route).append(".reply");
  return c;
}

using waiter = std::pair<executor, asio::any_completion_handler<void(std::exception_ptr)>>;

void wake_all(std::vector<waiter>& ws, std::exception_ptr e) {
  for (auto& [ex, h] : ws) asio::post(ex, asio::append(std::move(h), e));
  ws.clear();
}

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  // One reply channel's subscription, shared by the requests in flight on its route.
  struct subscription {
    unsigned refs = 0;
    bool subscribed = false;  // the last command sent for it on this connection: SUBSCRIBE
    unsigned in_flight = 0;   // (UN)SUBSCRIBEs not yet confirmed
    bool ready = false;       // confirmed, and still subscribed
    std::vector<waiter> waiters;
  };

  explicit impl(client_options o)
      : opts(std::move(o)),
        link(std::make_shared<detail::link>(opts.connection, opts.log, source)) {}

  void install_hooks() {
    std::weak_ptr<impl> weak = shared_from_this();
    detail::link::hooks h;
    h.on_push = [weak](const redisReply& r) {
      if (auto s = weak.lock()) s->on_push(r);
    };
    h.on_up = [weak](connection&, connection& sub) {
      if (auto s = weak.lock()) s->resubscribe(sub);
    };
    h.on_down = [weak](std::string_view why) {
      if (auto s = weak.lock()) s->on_down(why);
    };
    h.on_status = [weak](connection_status st) {
      if (auto s = weak.lock(); s && s->listener) s->listener->on_status(st);
    };
    link->set_hooks(std::move(h));
  }

  void on_push(const redisReply& r) {
    auto p = detail::classify(r);
    switch (p.type) {
      case detail::push::kind::message: {
        auto reply = decode_reply(p.payload);
        if (!reply) {
          opts.log.error(source,
                         "a reply on " + std::string(p.channel) + " is not JSON; ignoring it");
          return;
        }
        if (listener) listener->on_reply(std::move(*reply));
        return;
      }
      case detail::push::kind::subscribe:
      case detail::push::kind::unsubscribe:
        confirmed(p.channel);
        return;
      default:
        return;
    }
  }

  void confirmed(std::string_view channel) {
    std::vector<waiter> ready;
    {
      std::lock_guard lock(mutex);
      auto it = subs.find(channel);
      if (it == subs.end()) return;
      auto& s = it->second;
      if (s.in_flight > 0) --s.in_flight;
      if (s.in_flight > 0) return;
      if (s.subscribed) {
        s.ready = true;
        ready.swap(s.waiters);
      } else if (s.refs == 0) {
        subs.erase(it);
      }
    }
    wake_all(ready, nullptr);
  }

  // Both connections are (back) up: subscribe to what the requests in flight wait on.
  void resubscribe(connection& sub) {
    std::lock_guard lock(mutex);
    for (auto& [channel, s] : subs) {
      if (s.refs == 0 || s.subscribed) continue;
      sub.command({"SUBSCRIBE", channel});
      s.subscribed = true;
      ++s.in_flight;
    }
  }

  void on_down(std::string_view why) {
    fail_all("Connection lost" + (why.empty() ? std::string() : " (" + std::string(why) + ")"),
             true);
  }

  // The connection is gone (lost, or closed when `lost` is false): nothing is subscribed any
  // more, and whoever waits for a subscription fails.
  void fail_all(const std::string& text, bool lost) {
    std::vector<waiter> failed;
    {
      std::lock_guard lock(mutex);
      for (auto it = subs.begin(); it != subs.end();) {
        auto& s = it->second;
        for (auto& w : s.waiters) failed.push_back(std::move(w));
        s.waiters.clear();
        s.subscribed = s.ready = false;
        s.in_flight = 0;
        it = s.refs == 0 ? subs.erase(it) : std::next(it);
      }
    }
    const auto code = make_error_code(lost ? error::connection_lost : error::connection_closed);
    wake_all(failed, std::make_exception_ptr(connection_error(code, text)));
    // Replies published while we are away are gone (Redis keeps nothing for a subscriber that
    // is not there): the calls pending now fail at once instead of waiting for them.
    if (listener) listener->on_connection_lost(code, text);
  }

  // Returns whether the channel is subscribed already.
  bool acquire(const std::string& channel) {
    std::lock_guard lock(mutex);
    auto& s = subs[channel];
    ++s.refs;
    return s.ready;
  }

  void release(const std::string& channel) noexcept {
    std::lock_guard lock(mutex);
    auto it = subs.find(channel);
    if (it == subs.end() || it->second.refs == 0) return;
    auto& s = it->second;
    if (--s.refs > 0) return;
    if (s.subscribed) {
      auto sub = link->sub();
      s.subscribed = s.ready = false;
      if (sub && sub->command({"UNSUBSCRIBE", channel})) ++s.in_flight;
    }
    if (s.in_flight == 0) subs.erase(it);
  }

  // Completes once `channel` is subscribed on the current connection.
  awaitable<void> subscribed(std::string channel) {
    {
      std::lock_guard lock(mutex);
      auto it = subs.find(channel);
      if (it != subs.end() && it->second.ready) co_return;
    }
    auto self = shared_from_this();
    auto wait = [self, &channel](auto handler) {
      auto hex = asio::get_associated_executor(handler);
      std::unique_lock lock(self->mutex);
      auto& s = self->subs[channel];
      if (s.ready) {
        lock.unlock();
        asio::post(hex, asio::append(std::move(handler), std::exception_ptr()));
        return;
      }
      if (!s.subscribed) {
        auto sub = self->link->sub();
        if (!sub || !sub->command({"SUBSCRIBE", channel})) {
          lock.unlock();
          asio::post(hex, asio::append(std::move(handler), lost_error("Connection lost")));
          return;
        }
        s.subscribed = true;
        ++s.in_flight;
      }
      s.waiters.emplace_back(std::move(hex), std::move(handler));
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::exception_ptr)>(
        std::move(wait), use_awaitable);
  }

  // PUBLISH to the route's channel, or XADD to its stream in the Streams mode.
  bool publish(connection& pub, const std::string& route, const std::string& text,
               connection::reply_handler h = {}) {
    if (!opts.streams.enabled) return pub.publish(route, text, std::move(h));
    if (opts.streams.max_length == 0) {
      return pub.command({"XADD", route, "*", "m", text}, std::move(h));
    }
    const std::string max = std::to_string(opts.streams.max_length);
    return pub.command({"XADD", route, "MAXLEN", "~", max, "*", "m", text}, std::move(h));
  }

  std::shared_ptr<connection> publisher() {
    auto pub = link->pub();
    if (!pub) std::rethrow_exception(lost_error("Connection lost"));
    return pub;
  }

  client_options opts;
  std::shared_ptr<detail::link> link;
  std::shared_ptr<client_listener> listener;
  std::mutex mutex;
  std::unordered_map<std::string, subscription, roost::detail::string_hash, std::equal_to<>> subs;
};

client::client(client_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {
  impl_->install_hooks();
}
client::client(client&&) noexcept = default;
client::~client() {
  if (impl_) impl_->link->close();
}

void client::set_listener(std::shared_ptr<client_listener> l) noexcept {
  impl_->listener = std::move(l);
}

awaitable<void> client::connect() {
  auto self = impl_;
  co_await self->link->ensure_up();
}

awaitable<void> client::send_request(const outbound_message& m) {
  auto self = impl_;
  const std::string channel = reply_channel(m.route);
  // Taken before anything can fail: end_request releases it however this ends.
  // Connected and subscribed (nearly every call): no coroutines to go through.
  if (!self->acquire(channel) || !self->link->is_up()) {
    co_await self->link->ensure_up();
    co_await self->subscribed(channel);
  }
  std::string text;
  text.reserve(128);  // a usual request in one allocation, not four growing ones
  encode_request(text, m.pattern, m.data, std::string_view(m.id), m.metadata);
  auto pub = self->publisher();
  if (!self->publish(*pub, m.route, text)) std::rethrow_exception(lost_error("Connection lost"));
}

void client::end_request(const outbound_message& m) noexcept {
  try {
    impl_->release(reply_channel(m.route));
  } catch (...) {  // std::bad_alloc: the subscription stays, which costs only its replies
  }
}

awaitable<void> client::send_event(const outbound_message& m) {
  auto self = impl_;
  co_await self->link->ensure_up();
  // Redis events keep the caller's pattern in the body; the channel is its route.
  std::string text;
  encode_event(text, m.pattern, m.data, m.metadata);
  auto pub = self->publisher();
  // Completes on the PUBLISH (XADD) reply, as NestJS's emit.
  auto publish = [self, pub, &m, &text](auto handler) {
    auto hex = asio::get_associated_executor(handler);
    auto h = std::make_shared<asio::any_completion_handler<void(std::exception_ptr)>>(
        std::move(handler));
    auto done = [hex, h](const redisReply* r) mutable {
      std::exception_ptr e;
      if (!r) {
        e = lost_error("Connection lost");
      } else if (detail::is_error(*r)) {
        e = std::make_exception_ptr(connection_error(make_error_code(error::protocol_error),
                                                     std::string(detail::text(*r))));
      }
      asio::post(hex, asio::append(std::move(*h), e));
    };
    if (!self->publish(*pub, m.route, text, done)) done(nullptr);
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::exception_ptr)>(
      std::move(publish), use_awaitable);
}

void client::close() {
  impl_->link->close();
  impl_->fail_all("Connection closed", false);
}

}  // namespace roost::redis
