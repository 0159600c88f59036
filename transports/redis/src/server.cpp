#include <roost/redis/server.hpp>

#include "link.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>
#include <roost/redis/context.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hiredis/hiredis.h>

#include <unistd.h>
#include <atomic>
#include <deque>
#include <mutex>

namespace roost::redis {

namespace asio = boost::asio;
using asio::use_awaitable;
using detail::connection;

namespace {

constexpr std::string_view source = "redis server";

// Publishes the replies of one request to its reply channel.
class channel_reply_sink final : public immediate_reply_sink {
 public:
  channel_reply_sink(std::shared_ptr<detail::link> l, std::string channel)
      : link_(std::move(l)), channel_(std::move(channel)) {}
  // A PUBLISH is queued on the connection's write buffer: it never waits.
  void send_now(reply_packet reply, const json::value& id) override {
    text_.clear();
    encode_reply(text_, reply, id);
    auto pub = link_->pub();
    // While the broker is away the reply is dropped, as a PUBLISH to a broken connection is.
    if (!pub || !pub->publish(channel_, text_)) {
      link_->log().warn(source, "cannot publish a reply to " + channel_ +
                                    ": not connected, or too much output waiting");
    }
  }

 private:
  std::shared_ptr<detail::link> link_;
  std::string channel_;
  std::string text_;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o)
      : opts(std::move(o)),
        // Replies and acknowledgements are published without waiting for their outcome.
        link(std::make_shared<detail::link>(opts.connection, opts.log, source, false)) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    for (const auto* e : d.routes().entries()) routes.push_back(e->route);
    std::weak_ptr<impl> weak = shared_from_this();
    detail::link::hooks h;
    h.on_push = [weak](const redisReply& r) {
      if (auto s = weak.lock()) s->on_push(r);
    };
    h.on_up = [weak](connection&, connection& sub) {
      if (auto s = weak.lock()) {
        if (s->opts.streams.enabled) {
          s->start_streams(sub);
        } else {
          s->subscribe(sub);
        }
      }
    };
    h.on_down = [weak](std::string_view) {
      if (auto s = weak.lock()) {
        std::lock_guard lock(s->mutex);
        s->expected.clear();
        s->read_outstanding = false;
      }
    };
    if (opts.streams.enabled) {
      consumer = opts.streams.consumer;
      if (consumer.empty()) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        consumer = std::string(host) + "-" + std::to_string(::getpid());
      }
    }
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
    opts.log.info(source, (opts.streams.enabled ? "reading " : "subscribed to ") +
                              std::to_string(routes.size()) +
                              (opts.streams.enabled ? " stream(s) as " + consumer + " in group " +
                                                          opts.streams.group + " on "
                                                    : " channel(s) on ") +
                              opts.connection.host + ":" + std::to_string(opts.connection.port) +
                              (opts.wildcards ? " (wildcards)" : ""));
    if (opts.streams.enabled) {
      claim_timer.emplace(ex);
      asio::co_spawn(ex, claim_loop(self), asio::detached);
    }
  }

  // ---- Streams mode (roost extension) --------------------------------------------------------
  // Everything goes over the `sub` connection, which is not subscribed in this mode: its
  // replies still arrive in on_push, in the order of the commands, which `expected` records.
  enum class command { create, read, read_own, claim };

  // The group on every route's stream, this consumer's own unacknowledged entries, what others
  // left idle, then new entries.
  void start_streams(connection& sub) {
    std::lock_guard lock(mutex);
    expected.clear();
    read_outstanding = false;
    if (!accepting) return;
    unconfirmed = routes.size();
    for (const auto& r : routes) {
      sub.command({"XGROUP", "CREATE", r, opts.streams.group, "$", "MKSTREAM"});
      expected.emplace_back(command::create, std::string());
    }
    if (routes.empty()) {
      ready = true;
      return;
    }
    send_read(sub, true);
    claim(sub);
    send_read(sub, false);
  }

  // XREADGROUP of new entries (`>`) or of this consumer's pending ones (`0`). Mutex held.
  void send_read(connection& sub, bool own) {
    const std::string count = std::to_string(opts.streams.batch);
    const std::string block = std::to_string(opts.streams.block.count());
    std::vector<std::string_view> args{"XREADGROUP", "GROUP", opts.streams.group,
                                       consumer,     "COUNT", count};
    if (!own) {
      args.push_back("BLOCK");
      args.push_back(block);
    }
    args.push_back("STREAMS");
    for (const auto& r : routes) args.push_back(r);
    for (std::size_t i = 0; i < routes.size(); ++i) args.push_back(own ? "0" : ">");
    if (sub.command(args)) {
      expected.emplace_back(own ? command::read_own : command::read, std::string());
      if (!own) read_outstanding = true;
    }
  }

  // XAUTOCLAIM what waited longer than claim_idle with any consumer (one that crashed). Mutex
  // held.
  void claim(connection& sub) {
    const std::string idle = std::to_string(opts.streams.claim_idle.count());
    const std::string count = std::to_string(opts.streams.batch);
    for (const auto& r : routes) {
      if (sub.command(
              {"XAUTOCLAIM", r, opts.streams.group, consumer, idle, "0-0", "COUNT", count})) {
        expected.emplace_back(command::claim, r);
      }
    }
  }

  static awaitable<void> claim_loop(std::shared_ptr<impl> self) {
    auto& t = *self->claim_timer;
    const auto period = std::max(self->opts.streams.claim_idle / 2, std::chrono::milliseconds(50));
    while (self->accepting) {
      t.expires_after(period);
      co_await t.async_wait(asio::as_tuple(use_awaitable));
      auto sub = self->link->sub();
      std::lock_guard lock(self->mutex);
      if (sub && self->accepting && self->link->is_up()) self->claim(*sub);
    }
  }

  void on_stream_reply(const redisReply& r) {
    command kind;
    std::string key;  // the stream, for a claim (its reply does not name it)
    {
      std::lock_guard lock(mutex);
      if (expected.empty()) return;
      kind = expected.front().first;
      key = std::move(expected.front().second);
      expected.pop_front();
      if (kind == command::read) read_outstanding = false;
    }
    const bool failed = detail::is_error(r);
    switch (kind) {
      case command::create: {
        // BUSYGROUP: the group exists already, which is the usual case.
        if (failed && detail::text(r).substr(0, 9) != "BUSYGROUP") {
          opts.log.error(source, "XGROUP CREATE failed: " + std::string(detail::text(r)));
        }
        bool now_ready = false;
        {
          std::lock_guard lock(mutex);
          if (unconfirmed > 0 && --unconfirmed == 0) now_ready = !ready;
        }
        if (now_ready) mark_ready();
        return;
      }
      case command::read:
      case command::read_own:
        if (failed) {
          opts.log.error(source, "XREADGROUP failed: " + std::string(detail::text(r)));
        } else if (r.type == REDIS_REPLY_ARRAY) {
          // [[stream, [[id, [field, value, ...]], ...]], ...]
          for (std::size_t i = 0; i < r.elements; ++i) {
            const auto* s = r.element[i];
            if (s->type != REDIS_REPLY_ARRAY || s->elements != 2) continue;
            serve_entries(detail::text(*s->element[0]), *s->element[1]);
          }
        }
        if (kind == command::read) maybe_read();
        return;
      case command::claim:
        // [next id, [[id, fields], ...], [deleted ids]]
        if (failed) {
          opts.log.error(source, "XAUTOCLAIM failed: " + std::string(detail::text(r)));
        } else if (r.type == REDIS_REPLY_ARRAY && r.elements >= 2) {
          serve_entries(key, *r.element[1]);
        }
        return;
    }
  }

  void serve_entries(std::string_view key, const redisReply& entries) {
    if (entries.type != REDIS_REPLY_ARRAY) return;
    for (std::size_t i = 0; i < entries.elements; ++i) {
      const auto* e = entries.element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
      const std::string_view id = detail::text(*e->element[0]);
      const auto* fields = e->element[1];
      std::optional<std::string_view> payload;
      if (fields->type == REDIS_REPLY_ARRAY) {
        for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
          if (detail::text(*fields->element[f]) == "m")
            payload = detail::text(*fields->element[f + 1]);
        }
      }
      if (!payload) {
        // Deleted meanwhile, or not written by a roost client: nothing to serve.
        ack(key, id);
        continue;
      }
      json::value chan(key);
      if (gauge.too_large(payload->size())) [[unlikely]] {
        // Answered (or dropped) and acknowledged without being parsed: it never would be served.
        disp->refuse_too_large(ex, *payload, chan,
                               entry_origin{shared_from_this(), std::string(key), std::string(id)},
                               key);
        continue;
      }
      {
        std::lock_guard lock(mutex);
        ++stream_in_flight;
      }
      auto packet = decode_inbound(*payload, chan);
      inbound_packet p = packet ? std::move(*packet)
                                : inbound_from_value(json::value(json::string(*payload)), chan);
      asio::co_spawn(ex,
                     serve_entry(shared_from_this(), std::string(key), std::string(id),
                                 std::string(*payload), std::move(p)),
                     asio::detached);
    }
  }

  // Entries are served in a coroutine each, and settled by the core's rule
  // (roost/acknowledgement.hpp, stream_options::ack) through their context.
  static awaitable<void> serve_entry(std::shared_ptr<impl> self, std::string key, std::string id,
                                     std::string payload, inbound_packet p) {
    {
      acknowledgement ack{self->opts.streams.ack,
                          [self, key, id, payload = std::move(payload)](settlement s) {
                            self->settle(key, id, payload, s);
                          }};
      context ctx(json::value(key), std::move(p.metadata), key, id, std::move(ack));
      if (p.id) {
        channel_reply_sink sink(self->link, key + ".reply");
        co_await self->disp->dispatch(p, ctx, &sink, key);
      } else {
        co_await self->disp->dispatch(p, ctx, nullptr, key);
      }
    }
    {
      std::lock_guard lock(self->mutex);
      --self->stream_in_flight;
    }
    self->maybe_read();
  }

  // An entry refused for its size: a request is answered, and the entry acknowledged.
  struct entry_origin {
    std::shared_ptr<impl> server;
    std::string key, id;

    redis::context make_context(json::value, std::optional<json::object> metadata) {
      acknowledgement ack{
          server->opts.streams.ack,
          [server = server, key = key, id = id](settlement s) { server->settle(key, id, {}, s); }};
      return redis::context(json::value(key), std::move(metadata), key, id, std::move(ack));
    }
    channel_reply_sink make_sink() { return channel_reply_sink(server->link, key + ".reply"); }
  };

  // Ack and drop: XACK. Redeliver: left pending, claimed again after claim_idle. Dead letter:
  // XADD to `<route>:dead`, then XACK (the XADD is sent first on the same connection).
  void settle(std::string_view key, std::string_view id, std::string_view payload, settlement s) {
    if (s == settlement::redeliver) return;
    if (s == settlement::dead_letter) {
      if (auto pub = link->pub()) {
        const std::string dead = std::string(key) + ":dead";
        pub->command({"XADD", dead, "*", "m", payload, "id", id});
      }
    }
    ack(key, id);
  }

  void ack(std::string_view key, std::string_view id) {
    if (auto pub = link->pub()) pub->command({"XACK", key, opts.streams.group, id});
  }

  // Reads more unless a read is out or enough is in hand already (backpressure).
  void maybe_read() {
    auto sub = link->sub();
    std::lock_guard lock(mutex);
    if (!sub || read_outstanding || !accepting || !link->is_up()) return;
    if (stream_in_flight >= 4u * opts.streams.batch) return;
    send_read(*sub, false);
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
    if (opts.streams.enabled) {
      on_stream_reply(r);
      return;
    }
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
      case kind::unsubscribe:
      case kind::punsubscribe:
        // The last confirmation of stop_accepting()'s unsubscription: nothing comes after it.
        if (p.count == 0) unsubscribed = true;
        return;
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
  // Also after stop_accepting(), until the server confirms the unsubscription: a request
  // published before it is answered, not lost.
  void serve_message(std::string_view key, std::string_view channel, std::string_view payload) {
    json::value chan(channel);
    if (gauge.too_large(payload.size())) [[unlikely]] {
      disp->refuse_too_large(ex, payload, chan, message_origin{this, key, channel, nullptr, {}, {}},
                             key);
      return;
    }
    auto packet = decode_inbound(payload, chan);
    inbound_packet p;
    if (packet) {
      p = std::move(*packet);
    } else {
      // NestJS takes a payload that is not JSON as the raw string: an external event whose
      // pattern is the channel.
      p = inbound_from_value(json::value(json::string(payload)), chan);
    }
    // The handler is found by `key`, a subscribed route already.
    disp->serve(ex, p, message_origin{this, key, channel, nullptr, {}, {}}, key);
  }

  // A message of a subscription: its context and reply sink. The server, the key and the
  // channel are borrowed while it is served at once, kept when it is served later.
  struct message_origin {
    impl* server;
    std::string_view key_view, channel_view;  // borrowed until retain()
    std::shared_ptr<impl> owner;              // set by retain(), with the copies below
    std::string key_copy, channel_copy;

    std::string_view key() const { return owner ? key_copy : key_view; }
    std::string_view channel() const { return owner ? channel_copy : channel_view; }

    redis::context make_context(json::value, std::optional<json::object> metadata) {
      return redis::context(json::value(key()), std::move(metadata), std::string(channel()));
    }
    // NestJS 12 replies to the concrete channel's reply channel, also in wildcards mode.
    channel_reply_sink make_sink() {
      std::string to;
      to.reserve(channel().size() + 6);
      to.append(channel()).append(".reply");
      return channel_reply_sink(server->link, std::move(to));
    }
    void retain() {
      key_copy = key_view;
      channel_copy = channel_view;
      owner = server->shared_from_this();
    }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  void stop_accepting() {
    {
      std::lock_guard lock(mutex);
      if (!accepting) return;
      accepting = false;
    }
    if (opts.streams.enabled) {
      // No read is sent any more; the claim loop ends now rather than at its next tick.
      if (claim_timer) asio::post(ex, [self = shared_from_this()] { self->claim_timer->cancel(); });
      return;
    }
    auto sub = link->sub();
    if (routes.empty() || !sub || !sub->command({opts.wildcards ? "PUNSUBSCRIBE" : "UNSUBSCRIBE"}))
      unsubscribed = true;  // nothing subscribed, or no connection to bring anything
  }

  // Pub/sub: the server confirmed the unsubscription (or the connection went, and nothing
  // subscribes it again). Streams: no read or claim is outstanding (what the last ones
  // brought is being served, and will be acknowledged).
  bool stopped() {
    if (accepting) return false;
    if (!link->is_up()) return true;
    if (!opts.streams.enabled) return unsubscribed;
    std::lock_guard lock(mutex);
    return expected.empty();
  }

  void close() {
    stop_accepting();
    // The replies and acknowledgements of the drained handlers are queued on the publishing
    // connection: they go before it closes.
    link->close_when_flushed(close_deadline);
  }

  server_options opts;
  std::shared_ptr<detail::link> link;
  roost::detail::flight_gauge gauge{opts.serving};  // the subscription connection's
  std::optional<dispatcher> disp;
  executor ex;
  std::vector<std::string> routes;
  std::mutex mutex;
  std::atomic<bool> accepting{true};
  std::atomic<bool> unsubscribed{false};  // pub/sub: stop_accepting()'s unsubscription is over
  static constexpr std::chrono::milliseconds close_deadline{5'000};
  std::size_t unconfirmed = 0;
  bool ready = false;
  std::optional<std::pair<executor, asio::any_completion_handler<void()>>> ready_waiter;
  // Streams mode
  std::string consumer;
  std::optional<asio::steady_timer> claim_timer;         // used on `ex` only
  std::deque<std::pair<command, std::string>> expected;  // replies due on `sub`, in order
  bool read_outstanding = false;
  std::size_t stream_in_flight = 0;
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
bool server::stopped() const noexcept {
  return impl_->stopped();
}
bool server::closed() const noexcept {
  return impl_->link->closed();
}
bool server::ready() const noexcept {
  if (!impl_->link->is_up()) return false;
  std::lock_guard lock(impl_->mutex);
  return impl_->accepting && impl_->ready && impl_->unconfirmed == 0;
}

}  // namespace roost::redis
