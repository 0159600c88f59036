#include <roost/rmq/client.hpp>

#include "connection.hpp"

#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/detail/thread_bridge.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <any>
#include <mutex>

namespace roost::rmq {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "rmq client";

[[noreturn]] void throw_closed() {
  throw connection_error(make_error_code(error::connection_lost), "Connection closed");
}

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o) : opts(std::move(o)) {}

  std::shared_ptr<detail::connection> current() {
    std::lock_guard lock(mutex);
    return conn;
  }

  // The connection for a call, connecting if there is none. One that has ended was lost and
  // its news (posted before it ended) not handled yet: the call lets it be handled first (the
  // calls in flight fail, the connection is dropped) and then connects anew, rather than
  // failing at once, which would also let a caller that retries at once starve the executor
  // of that news.
  awaitable<std::shared_ptr<detail::connection>> connection_now() {
    auto c = current();
    if (c && !c->alive()) {
      auto ex = co_await asio::this_coro::executor;
      co_await asio::post(ex, asio::use_awaitable);
      c = current();
      if (c && !c->alive()) throw_closed();
    }
    if (!c) c = co_await connection_for_call();
    co_return c;
  }

  // An open connection, opening one if needed; concurrent callers share one attempt.
  awaitable<std::shared_ptr<detail::connection>> connection_for_call() {
    auto ready = [this] { return current(); };
    auto attempt = [this]() -> awaitable<std::shared_ptr<detail::connection>> {
      auto open_reported = roost::detail::reported_attempt<std::shared_ptr<detail::connection>>(
          listener, [this] { return open(); });
      auto c = co_await std::move(open_reported);
      std::lock_guard lock(mutex);
      conn = c;
      co_return c;
    };
    auto c = flight.run(ready, attempt);
    co_return co_await std::move(c);
  }

  // A reply as delivered by direct reply-to, decoded on the connection's thread: its request
  // is the one whose id is its correlationId (NestJS's replies carry no `id` in the body).
  // `replyQueue`; none given in code is direct reply-to, as NestJS's default.
  std::string reply_queue() const {
    return opts.reply_queue.empty() ? std::string(detail::direct_reply_to) : opts.reply_queue;
  }

  static std::optional<inbound_reply> reply_of(const amqp_envelope_t& e, const logger& log) {
    const auto& p = e.message.properties;
    if (!(p._flags & AMQP_BASIC_CORRELATION_ID_FLAG)) {
      log.error(source, "a reply without a correlationId; dropped");
      return std::nullopt;
    }
    auto reply = decode_reply(detail::text_of(e.message.body));
    if (!reply) {
      log.error(source, "a reply is not JSON; dropped");
      return std::nullopt;
    }
    reply->id = json::string(detail::text_of(p.correlation_id));
    return std::move(*reply);
  }

  awaitable<std::shared_ptr<detail::connection>> open() {
    const executor on = co_await asio::this_coro::executor;
    {
      std::lock_guard lock(mutex);
      if (!home) home = on;
    }
    std::weak_ptr<impl> weak = weak_from_this();
    auto replies = roost::detail::thread_bridge<inbound_reply>::make(
        on, [weak](std::vector<inbound_reply>& batch) {
          auto s = weak.lock();
          if (!s || !s->listener) return;
          for (auto& r : batch) s->listener->on_reply(std::move(r));
        });
    // The lost event must know which connection it is about, which exists only once made: it
    // finds it in a slot. These run on the connection's thread and take no strong reference
    // to the client there.
    auto slot = std::make_shared<std::weak_ptr<detail::connection>>();
    detail::connection_events events;
    events.delivered = [replies, log = opts.log](detail::delivery dv) {
      if (auto r = reply_of(*dv.envelope, log)) replies->push(std::move(*r));
    };
    events.lost = [weak, on, slot](const std::string& why) {
      asio::post(on, [weak, slot, why] {
        if (auto s = weak.lock()) s->on_lost(*slot, why);
      });
    };
    detail::setup s;
    s.consume_replies = true;
    s.reply_queue = reply_queue();
    s.confirms = true;  // emit completes when the broker confirmed, as NestJS's (a confirm channel)
    auto c = std::make_shared<detail::connection>(opts, s, std::move(events));
    *slot = c;
    co_await c->open();
    co_return c;
  }

  // The connection went away (the broker closed it, or the network).
  void on_lost(const std::weak_ptr<detail::connection>& which, const std::string& why) {
    {
      std::lock_guard lock(mutex);
      auto c = which.lock();
      if (!c || c != conn) return;  // an older connection, or closed by us
      conn.reset();
    }
    if (listener) {
      listener->on_connection_lost(make_error_code(error::connection_lost),
                                   "Connection closed: " + why);
      listener->on_status(connection_status::disconnected);
    }
    reconnect_later();
  }

  // After a lost connection: connects again every reconnect_time until it works (as NestJS's
  // client does), so that the reply consumer is back before the next call needs it. A call in
  // the meantime connects by itself (sharing an attempt under way); close() stops this.
  void reconnect_later() {
    auto timer = std::make_shared<asio::steady_timer>(*home);
    {
      std::lock_guard lock(mutex);
      if (retry) retry->cancel();
      retry = timer;
    }
    auto loop = [](std::weak_ptr<impl> weak,
                   std::shared_ptr<asio::steady_timer> timer) -> awaitable<void> {
      for (;;) {
        std::chrono::milliseconds wait;
        {
          auto s = weak.lock();
          if (!s) co_return;
          wait = s->opts.reconnect_time;
        }
        timer->expires_after(wait);
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // closed
        auto s = weak.lock();
        if (!s || s->current()) co_return;  // gone, or a call connected meanwhile
        try {
          co_await s->connection_for_call();
          co_return;
        } catch (const std::exception& e) {
          s->opts.log.warn(source, std::string("reconnecting failed: ") + e.what());
        }
      }
    };
    asio::co_spawn(*home, loop(weak_from_this(), timer), asio::detached);
  }

  // The headers of one message: its record's, then the call's (its metadata: strings as they
  // are, other values as JSON), then the client's defaults, each for names not given before.
  roost::headers headers_for(const json::object* metadata, const record* rec) const {
    roost::headers h = rec ? rec->headers : roost::headers();
    auto add = [&h](const std::string& k, const std::string& v) {
      if (!h.contains(k)) h.add(k, v);
    };
    if (metadata) {
      for (const auto& [k, v] : roost::headers::from_metadata(*metadata)) add(k, v);
    }
    for (const auto& [k, v] : opts.headers) add(k, v);
    return h;
  }

  detail::outgoing message_for(const detail::connection& c, const outbound_message& m) const {
    // NestJS's RmqRecord: a call's own properties (another type of record is ignored).
    const record* rec = m.record ? std::any_cast<record>(m.record) : nullptr;
    detail::outgoing op;
    if (opts.wildcards || opts.exchange_type == "fanout") {
      // NestJS's ClientRMQ: to the exchange (the queue's name when none), the pattern as the
      // routing key (a string as it is, another pattern as its JSON, in the caller's order).
      op.exchange = opts.exchange.empty() ? opts.queue : opts.exchange;
      op.routing_key =
          m.pattern.is_string() ? std::string(m.pattern.get_string()) : json::serialize(m.pattern);
    } else {
      op.routing_key = c.queue();
    }
    const bool persistent = rec && rec->persistent ? *rec->persistent : opts.persistent;
    op.delivery_mode = persistent ? 2 : 1;
    op.headers = headers_for(m.metadata, rec);
    if (rec) {
      op.priority = rec->priority;
      if (rec->expiration) op.expiration = std::to_string(rec->expiration->count());
      op.message_id = rec->message_id;
      op.content_type = rec->content_type;
    }
    return op;
  }

  void close() {
    std::shared_ptr<detail::connection> c;
    {
      std::lock_guard lock(mutex);
      c = std::move(conn);
      if (retry) {
        // The timer belongs to the executor's thread; close() may be called from another.
        asio::post(*home, [t = std::move(retry)] { t->cancel(); });
      }
    }
    if (!c) return;
    c->close();
    if (listener) {
      listener->on_connection_lost(make_error_code(error::connection_closed), "Connection closed");
      listener->on_status(connection_status::closed);
    }
  }

  client_options opts;
  std::shared_ptr<client_listener> listener;
  std::mutex mutex;
  std::shared_ptr<detail::connection> conn;
  std::optional<executor> home;               // where the first connection was opened
  std::shared_ptr<asio::steady_timer> retry;  // the pause before reconnecting, while one runs
  roost::detail::single_flight<std::shared_ptr<detail::connection>> flight;
};

client::client(client_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
client::client(client&&) noexcept = default;
client::~client() {
  if (impl_) impl_->close();
}

void client::set_listener(std::shared_ptr<client_listener> l) noexcept {
  impl_->listener = std::move(l);
}

awaitable<void> client::connect() {
  co_await impl_->connection_for_call();
}

awaitable<void> client::send_request(const outbound_message& m) {
  auto c = co_await impl_->connection_now();
  auto op = impl_->message_for(*c, m);
  // NestJS's ClientRMQ: replies by direct reply-to (or `replyQueue`), matched by
  // correlationId = the id.
  op.reply_to = impl_->reply_queue();
  op.correlation_id = m.id;
  encode_request(op.body, m.pattern, m.data, std::string_view(m.id), nullptr);
  // A request the broker refuses (basic.nack on the confirm channel), or one held by a block
  // for longer than `blockedTimeout`, fails its call at once instead of by its timeout. Lost
  // connections fail every call by themselves (the listener).
  const executor ex = co_await asio::this_coro::executor;
  op.confirmed = [weak = std::weak_ptr<impl>(impl_), ex, id = m.id](const std::string& failed) {
    const bool refused = failed == detail::refused_by_broker;
    if (!refused && !failed.starts_with(detail::blocked_by_broker)) return;
    asio::post(ex, [weak, id, why = refused ? "the broker refused the request" : failed] {
      auto s = weak.lock();
      if (!s || !s->listener) return;
      inbound_reply r;
      r.id = json::string(id);
      r.err = json::string("rmq: " + why);
      r.disposed = true;
      s->listener->on_reply(std::move(r));
    });
  };
  if (!c->send(std::move(op))) throw_closed();
}

awaitable<void> client::send_event(const outbound_message& m) {
  auto c = co_await impl_->connection_now();
  auto op = impl_->message_for(*c, m);
  encode_event(op.body, m.pattern, m.data, nullptr);
  // Completes when the broker confirmed the event (NestJS's emit resolves then too), or fails
  // with why it did not. The connection's thread calls `confirmed` once, and only hands over.
  auto init = [&c, &op](auto handler) {
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    op.confirmed = [h, ex](const std::string& failed) {
      asio::post(ex, asio::append(std::move(*h), failed));
    };
    if (!c->send(std::move(op))) {
      asio::post(ex, asio::append(std::move(*h), std::string("Connection closed")));
    }
  };
  std::string failed =
      co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::string)>(
          init, asio::use_awaitable);
  if (!failed.empty()) {
    throw connection_error(make_error_code(error::connection_lost), "rmq: " + failed);
  }
}

void client::close() {
  impl_->close();
}

}  // namespace roost::rmq
