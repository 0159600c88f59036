#include <roost/nats/server.hpp>

#include "connection.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/nats/context.hpp>
#include <roost/packet.hpp>
#include <roost/server_transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <atomic>
#include <mutex>
#include <vector>

namespace roost::nats {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "nats server";

// Publishes the replies of one request to its reply subject (NestJS's `msg.respond`). Replies
// never carry headers, as with NestJS.
class inbox_reply_sink final : public immediate_reply_sink {
 public:
  // `reply` outlives the sink (the message or the coroutine that owns it).
  inbox_reply_sink(std::shared_ptr<detail::connection> c, const char* reply, const json::value& id,
                   const logger& log)
      : conn_(std::move(c)), reply_(reply), id_(id), log_(log) {}
  // Publishing only queues in the connection's buffer: it never waits.
  void send_now(reply_packet r) override {
    if (!*reply_) return;  // NestJS sends nothing when the request has no reply subject
    text_.clear();
    encode_reply(text_, r, id_);
    const natsStatus s = conn_->publish(reply_, nullptr, text_);
    conn_->kick();
    if (s != NATS_OK) {
      log_.error(source, "cannot publish the reply to " + std::string(reply_) + ": " +
                             natsStatus_GetText(s));
    }
  }

 private:
  std::shared_ptr<detail::connection> conn_;
  const char* reply_;
  const json::value& id_;
  const logger& log_;
  std::string text_;
};

// NestJS's metadata of a message with headers: the first value of each header.
json::object metadata_of(const nats::headers& headers) {
  json::object metadata;
  for (const auto& [k, v] : headers) {
    if (!metadata.contains(k)) metadata[k] = v;
  }
  return metadata;
}

// One message and its decoded packet, kept for a handler that runs later.
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
    // These run on a library thread: they log, and take no reference to the server (its last
    // one must not be dropped there: closing the connection waits for these callbacks).
    detail::connection_events events;
    events.disconnected = [log = opts.log] { log.warn(source, "disconnected; reconnecting"); };
    events.reconnected = [log = opts.log] { log.info(source, "reconnected"); };
    events.closed = [log = opts.log, closing = closing] {
      if (!closing->load()) log.error(source, "connection closed: the server gave up reconnecting");
    };
    // Ordered delivery: an event published before a request (on another subject) is served
    // first, as NestJS serves its socket in order.
    // Unless told otherwise, a server reconnects for ever (-1).
    // Unless told otherwise, a server reads with the library's thread: it carries more
    // requests per second when the server is saturated (see options.hpp).
    conn = std::make_shared<detail::connection>(opts, std::move(events), true, -1, false);
    co_await conn->open();
    // With JetStream (roost extension), routes served only by event handlers are consumed
    // from the stream; everything else is a plain subscription, as NestJS subscribes.
    std::vector<const router::entry*> plain, durable;
    for (const auto* e : d.routes().entries()) {
      const bool events_only = !e->message && !e->events.empty();
      (opts.jetstream && events_only ? durable : plain).push_back(e);
    }
    if (!durable.empty()) {
      std::vector<std::string> subjects;
      for (const auto* e : durable) subjects.push_back(e->route);
      co_await conn->ensure_stream(opts.jetstream->stream, std::move(subjects));
    }
    for (const auto* e : plain) subscribe(e->route, queue_of(*e));
    for (const auto* e : durable) {
      // Named first: no owning temporaries in a co_await expression (GCC 12).
      std::string route = e->route, queue = queue_of(*e);
      co_await consume(std::move(route), std::move(queue));
    }
    // Ready once the server has registered every subscription.
    const bool flushed = co_await conn->flush(opts.connect_timeout);
    if (!flushed) {
      throw connection_error(make_error_code(error::not_connected),
                             "nats: the server did not confirm the subscriptions");
    }
    opts.log.info(source,
                  "subscribed to " + std::to_string(plain.size()) + " subject(s)" +
                      (durable.empty() ? std::string()
                                       : " and consuming " + std::to_string(durable.size()) +
                                             " from JetStream stream " + opts.jetstream->stream) +
                      " on " + opts.servers.front() +
                      (opts.queue.empty() ? "" : " in queue group " + opts.queue));
  }

  std::string queue_of(const router::entry& e) const {
    if (auto* q = e.extras.if_contains("queue"); q && q->is_string()) {
      return std::string(q->get_string());
    }
    return opts.queue;
  }

  // A durable consumer name from a route: letters, digits, '-' and '_' only.
  std::string durable_name(const std::string& route) const {
    std::string name = opts.jetstream->durable + "_";
    for (char c : route) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      name += ok ? c : '_';
    }
    return name;
  }

  // JetStream (roost extension): each event is acknowledged once its handlers succeeded,
  // negatively acknowledged (delivered again) when one threw, and terminated when it is not
  // JSON (it never will be).
  awaitable<void> consume(std::string route, std::string queue) {
    std::weak_ptr<impl> weak = shared_from_this();
    const json::value channel(route);
    auto on_msg = [weak, route, channel, ex = ex, log = opts.log](detail::msg_ptr m) {
      auto packet = decode_inbound(detail::data_of(m.get()), channel);
      if (!packet) {
        log.error(source, "The invalid received message from nats subject " +
                              std::string(natsMsg_GetSubject(m.get())) +
                              " (not JSON); terminated in the stream");
        natsMsg_Term(m.get(), nullptr);
        return;
      }
      auto s = weak.lock();
      if (!s) return;
      // An event, whatever the packet says: a stream stores no reply subject.
      packet->id.reset();
      inbound in{std::move(*packet), natsMsg_GetSubject(m.get()), "", detail::headers_of(m.get())};
      std::shared_ptr<natsMsg> msg(m.release(), detail::msg_deleter{});
      asio::co_spawn(ex, serve_durable(std::move(s), route, std::move(in), std::move(msg)),
                     asio::detached);
    };
    const auto& js = *opts.jetstream;
    std::string stream = js.stream, name = durable_name(route);
    detail::message_fn fn = std::move(on_msg);
    co_await conn->js_subscribe(std::move(stream), std::move(route), std::move(queue),
                                std::move(name), js.ack_wait, js.max_deliver, std::move(fn));
  }

  static awaitable<void> serve_durable(std::shared_ptr<impl> self, std::string route, inbound in,
                                       std::shared_ptr<natsMsg> msg) {
    const json::object metadata = metadata_of(in.headers);
    const json::object* md = in.headers.empty() ? nullptr : &metadata;
    context ctx(std::move(in.packet.pattern), std::move(in.subject), std::move(in.headers), md);
    co_await self->disp->dispatch_route(std::move(route), in.packet, ctx, nullptr);
    const natsStatus s =
        ctx.handler_failed() ? natsMsg_Nak(msg.get(), nullptr) : natsMsg_Ack(msg.get(), nullptr);
    if (s != NATS_OK) {
      self->opts.log.warn(source, std::string("cannot acknowledge an event of ") + ctx.subject() +
                                      ": " + natsStatus_GetText(s) + " (it will come again)");
    }
    self->conn->kick();
  }

  // A subscribed route; its address is stable while the server lives.
  struct subscribed_route {
    std::string route;
    json::value channel;  // the pattern of an external message
  };

  // Messages handed over by the library's delivery thread, in arrival order (across all
  // subjects: the server's delivery is ordered). They are served on our executor in batches:
  // one hand-over (and at most one wake-up) for all the messages that arrived while the
  // previous batch was served, instead of one per message.
  struct mailbox {
    std::mutex mutex;
    std::vector<std::pair<const subscribed_route*, detail::msg_ptr>> messages;
    bool posted = false;  // a serve_batch() is queued that has not taken `messages` yet
  };

  void subscribe(const std::string& route, const std::string& queue) {
    std::weak_ptr<impl> weak = shared_from_this();
    const subscribed_route* sr =
        subscribed.emplace_back(std::make_unique<subscribed_route>(route, json::value(route)))
            .get();
    // Runs on a library thread: it only queues the message, and takes no reference to the
    // server there (closing the connection waits for these callbacks). `sr` is used only
    // while the server lives.
    auto on_msg = [weak, sr, box = box, ex = ex](detail::msg_ptr m) {
      bool post;
      {
        std::lock_guard lock(box->mutex);
        box->messages.emplace_back(sr, std::move(m));
        post = !std::exchange(box->posted, true);
      }
      if (!post) return;
      asio::post(ex, [weak] {
        if (auto s = weak.lock()) s->serve_batch();
      });
    };
    conn->subscribe(route, queue, std::move(on_msg));
  }

  void serve_batch() {
    decltype(mailbox::messages) batch;
    {
      std::lock_guard lock(box->mutex);
      batch.swap(box->messages);
      box->posted = false;
    }
    // The replies leave in parts while the rest are served, and the last part at once.
    std::size_t served = 0;
    for (auto& [sr, m] : batch) {
      serve_message(*sr, m.get());
      if (++served % roost::detail::replies_per_part == 0) conn->write_now();
    }
    conn->write_now();
    batch.clear();
    std::lock_guard lock(box->mutex);
    if (box->messages.empty()) box->messages.swap(batch);  // keeps the capacity for the next one
  }

  void serve_message(const subscribed_route& sr, natsMsg* m) {
    const std::string& route = sr.route;
    // Most messages are served before this returns: their JSON lives in a scratch buffer that
    // is dropped at once instead of being freed value by value.
    alignas(std::max_align_t) unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    auto packet = decode_inbound(detail::data_of(m), sr.channel, json::storage_ptr(&arena));
    if (!packet) {
      // NestJS's `msg.json()` throws: the message is logged and dropped.
      opts.log.error(source, "The invalid received message from nats subject " +
                                 std::string(natsMsg_GetSubject(m)) + " (not JSON); dropped");
      return;
    }
    const char* reply = natsMsg_GetReply(m);
    auto& p = *packet;
    nats::headers headers = detail::headers_of(m);
    {
      // Handlers that cannot suspend are served here. What a handler can keep (its context's
      // pattern and metadata; payloads are converted) is copied out of the scratch buffer.
      const json::object metadata = metadata_of(headers);
      const json::object* md = headers.empty() ? nullptr : &metadata;
      context ctx(json::value(p.pattern, json::storage_ptr()), natsMsg_GetSubject(m), headers, md);
      if (!p.id) {
        if (disp->try_dispatch_route(route, p, ctx, nullptr)) return;
      } else {
        inbox_reply_sink sink(conn, reply ? reply : "", *p.id, opts.log);
        if (disp->try_dispatch_route(route, p, ctx, &sink)) return;
      }
    }
    // The others get a coroutine (started at once by co_spawn on this thread, so messages
    // still start in arrival order).
    inbound in{with_default_storage(p), natsMsg_GetSubject(m), reply ? reply : "",
               std::move(headers)};
    asio::co_spawn(ex, serve(shared_from_this(), route, std::move(in)), asio::detached);
  }

  static awaitable<void> serve(std::shared_ptr<impl> self, std::string route, inbound in) {
    const json::object metadata = metadata_of(in.headers);
    const json::object* md = in.headers.empty() ? nullptr : &metadata;
    context ctx(std::move(in.packet.pattern), std::move(in.subject), std::move(in.headers), md);
    auto& p = in.packet;
    if (p.id) {
      inbox_reply_sink sink(self->conn, in.reply.c_str(), *p.id, self->opts.log);
      co_await self->disp->dispatch_route(std::move(route), p, ctx, &sink);
    } else {
      co_await self->disp->dispatch_route(std::move(route), p, ctx, nullptr);
    }
  }

  void stop_accepting() {
    if (conn) conn->drain_subscriptions();
  }

  void close() {
    *closing = true;
    if (!conn) return;
    // Replies written before close() reach the server before the socket goes: wait for the
    // server to have them (bounded by gracePeriod). This blocks the calling thread only; the
    // library's threads do the work.
    // Without a connection there is nothing to wait for (and nothing would come of waiting).
    auto nc = conn->native();
    if (nc && natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED) {
      conn->flush_here(opts.grace_period);
    }
    conn->close();
  }

  server_options opts;
  dispatcher* disp = nullptr;
  executor ex;
  std::shared_ptr<detail::connection> conn;
  std::vector<std::unique_ptr<subscribed_route>> subscribed;
  std::shared_ptr<mailbox> box = std::make_shared<mailbox>();
  // Set by close(): the connection's end is then expected. Shared with a library callback.
  std::shared_ptr<std::atomic<bool>> closing = std::make_shared<std::atomic<bool>>(false);
};

server::server(server_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
server::server(server&&) noexcept = default;
server::~server() {
  if (impl_ && impl_->conn) {
    *impl_->closing = true;
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
