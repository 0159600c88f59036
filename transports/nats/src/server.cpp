#include <roost/nats/server.hpp>

#include "connection.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/nats/context.hpp>
#include <roost/packet.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>

namespace roost::nats {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "nats server";

// Publishes the replies of one request to its reply subject (NestJS's `msg.respond`). Replies
// never carry headers, as with NestJS.
class inbox_reply_sink final : public reply_sink {
 public:
  inbox_reply_sink(std::shared_ptr<detail::connection> c, std::string reply, const json::value& id,
                   const logger& log)
      : conn_(std::move(c)), reply_(std::move(reply)), id_(id), log_(log) {}
  awaitable<void> send(reply_packet r) override {
    if (reply_.empty()) co_return;  // NestJS sends nothing when the request has no reply subject
    text_.clear();
    encode_reply(text_, r, id_);
    const natsStatus s = conn_->publish(reply_, nullptr, text_);
    conn_->kick();
    if (s != NATS_OK) {
      log_.error(source, "cannot publish the reply to " + reply_ + ": " + natsStatus_GetText(s));
    }
    co_return;
  }

 private:
  std::shared_ptr<detail::connection> conn_;
  std::string reply_;
  const json::value& id_;
  const logger& log_;
  std::string text_;
};

// One message as the library handed it, decoded on its thread.
struct inbound {
  inbound_packet packet;
  std::string subject;
  std::string reply;
  nats::headers headers;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o) : opts(std::move(o)) {}

  awaitable<void> listen(dispatcher& d) {
    disp = &d;
    ex = co_await asio::this_coro::executor;
    std::weak_ptr<impl> weak = shared_from_this();
    detail::connection_events events;
    events.disconnected = [weak] {
      if (auto s = weak.lock()) s->opts.log.warn(source, "disconnected; reconnecting");
    };
    events.reconnected = [weak] {
      if (auto s = weak.lock()) s->opts.log.info(source, "reconnected");
    };
    events.closed = [weak] {
      auto s = weak.lock();
      if (s && !s->closing.load()) {
        s->opts.log.error(source, "connection closed: the server gave up reconnecting");
      }
    };
    // Ordered delivery: an event published before a request (on another subject) is served
    // first, as NestJS serves its socket in order.
    conn = std::make_shared<detail::connection>(opts, std::move(events), true);
    co_await conn->open();
    for (const auto* e : d.routes().entries()) {
      std::string queue = opts.queue;
      if (auto* q = e->extras.if_contains("queue"); q && q->is_string()) {
        queue = std::string(q->get_string());
      }
      subscribe(e->route, queue);
    }
    // Ready once the server has registered every subscription.
    const bool flushed = co_await conn->flush(opts.connect_timeout);
    if (!flushed) {
      throw connection_error(make_error_code(error::not_connected),
                             "nats: the server did not confirm the subscriptions");
    }
    opts.log.info(source, "subscribed to " + std::to_string(d.routes().entries().size()) +
                              " subject(s) on " + opts.servers.front() +
                              (opts.queue.empty() ? "" : " in queue group " + opts.queue));
  }

  void subscribe(const std::string& route, const std::string& queue) {
    std::weak_ptr<impl> weak = shared_from_this();
    const json::value channel(route);
    // Runs on a nats.c thread: decode there, serve on our executor.
    auto on_msg = [weak, route, channel, ex = ex, log = opts.log](detail::msg_ptr m) {
      const auto text = detail::data_of(m.get());
      auto packet = decode_inbound(text, channel);
      if (!packet) {
        // NestJS's `msg.json()` throws: the message is logged and dropped.
        log.error(source, "The invalid received message from nats subject " +
                              std::string(natsMsg_GetSubject(m.get())) + " (not JSON); dropped");
        return;
      }
      auto s = weak.lock();
      if (!s) return;
      inbound in{std::move(*packet), natsMsg_GetSubject(m.get()), "", detail::headers_of(m.get())};
      if (const char* reply = natsMsg_GetReply(m.get())) in.reply = reply;
      asio::co_spawn(ex, serve(std::move(s), route, std::move(in)), asio::detached);
    };
    conn->subscribe(route, queue, std::move(on_msg));
  }

  static awaitable<void> serve(std::shared_ptr<impl> self, std::string route, inbound in) {
    json::object metadata;
    for (const auto& [k, v] : in.headers) {
      if (!metadata.contains(k)) metadata[k] = v;
    }
    const json::object* md = in.headers.empty() ? nullptr : &metadata;
    context ctx(std::move(in.packet.pattern), std::move(in.subject), std::move(in.headers), md);
    auto& p = in.packet;
    if (p.id) {
      inbox_reply_sink sink(self->conn, std::move(in.reply), *p.id, self->opts.log);
      co_await self->disp->dispatch_route(std::move(route), p, ctx, &sink);
    } else {
      co_await self->disp->dispatch_route(std::move(route), p, ctx, nullptr);
    }
  }

  void stop_accepting() {
    if (conn) conn->drain_subscriptions();
  }

  void close() {
    closing = true;
    if (!conn) return;
    // Replies written before close() reach the server before the socket goes: wait for the
    // server to have them (bounded by gracePeriod). This blocks the calling thread only; the
    // library's threads do the work.
    // Without a connection there is nothing to wait for (and nothing would come of waiting).
    auto nc = conn->native();
    if (nc && natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED) {
      natsConnection_FlushTimeout(nc.get(), opts.grace_period.count());
    }
    conn->close();
  }

  server_options opts;
  dispatcher* disp = nullptr;
  executor ex;
  std::shared_ptr<detail::connection> conn;
  std::atomic<bool> closing{false};
};

server::server(server_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
server::server(server&&) noexcept = default;
server::~server() {
  if (impl_ && impl_->conn) {
    impl_->closing = true;
    impl_->conn->close();
  }
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

}  // namespace roost::nats
