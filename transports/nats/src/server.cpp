#include <roost/nats/server.hpp>

#include "connection.hpp"

#include <roost/detail/string_hash.hpp>
#include <roost/detail/thread_bridge.hpp>
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
#include <unordered_map>
#include <vector>

namespace roost::nats {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "nats server";

// Publishes the replies of one request to its reply subject (NestJS's `msg.respond`). Replies
// never carry headers, as with NestJS.
class inbox_reply_sink final : public immediate_reply_sink {
 public:
  inbox_reply_sink(detail::connection& c, const char* reply, const logger& log)
      : conn_(c), reply_(reply), log_(log) {}
  // Publishing only queues in the connection's buffer: it never waits.
  void send_now(reply_packet r, const json::value& id) override {
    if (!*reply_) return;  // NestJS sends nothing when the request has no reply subject
    text_.clear();
    encode_reply(text_, r, id);
    const natsStatus s = conn_.publish(reply_, nullptr, text_);
    conn_.kick();
    if (s != NATS_OK) {
      log_.error(source, "cannot publish the reply to " + std::string(reply_) + ": " +
                             natsStatus_GetText(s));
    }
  }

 private:
  detail::connection& conn_;
  const char* reply_;
  const logger& log_;
  std::string text_;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o) : opts(std::move(o)) {}

  // A subscribed route; its address is stable while the server lives.
  struct subscribed_route {
    std::string route;
    json::value channel;  // the pattern of an external message
    bool durable;         // consumed from JetStream
  };
  const subscribed_route* add_route(const std::string& route, bool durable) {
    return subscribed
        .emplace_back(std::make_unique<subscribed_route>(
            subscribed_route{route, json::value(route), durable}))
        .get();
  }

  // What the library's delivery threads hand over, in arrival order (across all subjects: the
  // server's delivery is ordered), served on our executor in batches.
  struct delivery {
    const subscribed_route* route;  // used only while the server lives
    detail::msg_ptr msg;
  };

  // The messages of plain subscriptions taken on the thread that reads the socket (the
  // executor's, see connection::take_inline), served right after the read that brought them.
  // Shared with the reading thread, which must not hold the server.
  struct inline_queue {
    std::mutex mutex;
    std::vector<delivery> items;
    std::unordered_map<std::string, const subscribed_route*, roost::detail::string_hash,
                       std::equal_to<>>
        routes;  // by subject: only literal subjects, each subscribed once
    std::atomic<bool> taking{true};

    void take(detail::msg_ptr& m) {
      if (!taking.load(std::memory_order_relaxed)) return;
      std::lock_guard lock(mutex);
      auto it = routes.find(std::string_view(natsMsg_GetSubject(m.get())));
      if (it == routes.end()) return;  // JetStream's: left to its subscription
      items.push_back({it->second, std::move(m)});
    }
  };

  // A message only says its subject: with a wildcard subscription, a subject could belong to
  // two subscriptions and come once for each, so such a server leaves every message to the
  // delivery thread.
  static bool has_wildcard(std::string_view subject) {
    for (std::size_t at = 0; at <= subject.size();) {
      const auto end = std::min(subject.find('.', at), subject.size());
      const auto token = subject.substr(at, end - at);
      if (token == "*" || token == ">") return true;
      at = end + 1;
    }
    return false;
  }

  void serve_taken() {
    {
      std::lock_guard lock(taken->mutex);
      if (taken->items.empty()) return;
      taken_batch.swap(taken->items);
    }
    serve_batch(taken_batch);
    taken_batch.clear();
  }

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    bridge = roost::detail::thread_bridge<delivery>::make(
        ex, [weak = weak_from_this()](std::vector<delivery>& batch) {
          if (auto s = weak.lock()) s->serve_batch(batch);
        });
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
    // Unless told otherwise, a server runs its socket on the executor and serves what each
    // read brings at once, on the same thread (docs/benchmarks.md, "NATS: where the time
    // goes").
    conn = std::make_shared<detail::connection>(opts, std::move(events), true, -1, true);
    // With JetStream (roost extension), routes served only by event handlers are consumed
    // from the stream; everything else is a plain subscription, as NestJS subscribes.
    std::vector<const router::entry*> plain, durable;
    for (const auto* e : d.routes().entries()) {
      const bool events_only = !e->message && !e->events.empty();
      (opts.jetstream && events_only ? durable : plain).push_back(e);
    }
    for (const auto* e : plain) {
      if (has_wildcard(e->route)) taken->taking = false;
    }
    conn->take_inline([q = taken](detail::msg_ptr& m) { q->take(m); },
                      [weak = weak_from_this()] {
                        if (auto s = weak.lock()) s->serve_taken();
                      });
    co_await conn->open();
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
    listening = true;
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

  // JetStream (roost extension): events are settled by the core's rule
  // (roost/acknowledgement.hpp, jetstream_options::ack), and one that is not JSON is terminated
  // (it never will be).
  awaitable<void> consume(std::string route, std::string queue) {
    const subscribed_route* sr = add_route(route, true);
    auto on_msg = [sr, bridge = bridge](detail::msg_ptr m) { bridge->push({sr, std::move(m)}); };
    const auto& js = *opts.jetstream;
    std::string stream = js.stream, name = durable_name(route);
    detail::message_fn fn = std::move(on_msg);
    co_await conn->js_subscribe(std::move(stream), std::move(route), std::move(queue),
                                std::move(name), js.ack_wait, js.max_deliver, std::move(fn));
  }

  // A JetStream event: its context settles it with the stream.
  struct durable_origin {
    std::shared_ptr<impl> server;
    std::shared_ptr<natsMsg> msg;

    nats::context make_context(json::value pattern, std::optional<json::object>) {
      acknowledgement ack{server->opts.jetstream->ack,
                          [server = server, msg = msg](settlement s) { server->settle(*msg, s); }};
      return nats::context(std::move(pattern), natsMsg_GetSubject(msg.get()),
                           detail::headers_of(msg.get()), std::move(ack));
    }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  void serve_durable(const subscribed_route& sr, detail::msg_ptr m) {
    if (gauge.too_large(detail::data_of(m.get()).size())) [[unlikely]] {
      // An event, whatever it says (see below): dropped with the stream, never parsed.
      std::shared_ptr<natsMsg> msg(m.release(), detail::msg_deleter{});
      const std::string_view text = detail::data_of(msg.get());
      disp->refuse_too_large(ex, text, sr.channel, durable_origin{shared_from_this(), msg},
                             sr.route);
      return;
    }
    auto packet = decode_inbound(detail::data_of(m.get()), sr.channel);
    if (!packet) {
      opts.log.error(source, "The invalid received message from nats subject " +
                                 std::string(natsMsg_GetSubject(m.get())) +
                                 " (not JSON); terminated in the stream");
      natsMsg_Term(m.get(), nullptr);
      return;
    }
    // An event, whatever the packet says: a stream stores no reply subject.
    packet->id.reset();
    std::shared_ptr<natsMsg> msg(m.release(), detail::msg_deleter{});
    disp->serve(ex, *packet, durable_origin{shared_from_this(), std::move(msg)}, sr.route);
  }

  // Ack: done. Redeliver: Nak. Drop: acknowledged. Dead letter: terminated, which JetStream
  // announces (MSG_TERMINATED advisory) for a dead-letter consumer to pick up.
  void settle(natsMsg& m, settlement s) {
    natsStatus st = NATS_OK;
    switch (s) {
      case settlement::ack:
      case settlement::drop:
        st = natsMsg_Ack(&m, nullptr);
        break;
      case settlement::redeliver:
        st = natsMsg_Nak(&m, nullptr);
        break;
      case settlement::dead_letter:
        st = natsMsg_Term(&m, nullptr);
        break;
    }
    if (st != NATS_OK) {
      opts.log.warn(source, "cannot settle (" + std::string(to_string(s)) + ") an event of " +
                                natsMsg_GetSubject(&m) + ": " + natsStatus_GetText(st) +
                                " (it will come again)");
    }
    conn->kick();
  }

  void subscribe(const std::string& route, const std::string& queue) {
    const subscribed_route* sr = add_route(route, false);
    {
      std::lock_guard lock(taken->mutex);
      taken->routes.emplace(route, sr);
    }
    // Runs on a library thread: it only queues the message, and takes no reference to the
    // server there (closing the connection waits for these callbacks).
    auto on_msg = [sr, bridge = bridge](detail::msg_ptr m) { bridge->push({sr, std::move(m)}); };
    conn->subscribe(route, queue, std::move(on_msg));
  }

  // A message of a plain subscription: its context and reply sink. The message and the server
  // are borrowed while it is served at once; what a later coroutine needs is copied or shared.
  struct message_origin {
    impl* server;
    natsMsg* msg;  // null once retained
    std::shared_ptr<impl> owner;
    std::string subject, reply;
    nats::headers headers;

    message_origin(impl* s, natsMsg* m) : server(s), msg(m), headers(detail::headers_of(m)) {}

    nats::context make_context(json::value pattern, std::optional<json::object>) {
      return nats::context(std::move(pattern), msg ? natsMsg_GetSubject(msg) : subject,
                           std::move(headers));
    }
    inbox_reply_sink make_sink() {
      const char* to = msg ? natsMsg_GetReply(msg) : reply.c_str();
      return inbox_reply_sink(*server->conn, to ? to : "", server->opts.log);
    }
    void retain() {
      owner = server->shared_from_this();
      subject = natsMsg_GetSubject(msg);
      if (const char* r = natsMsg_GetReply(msg)) reply = r;
      msg = nullptr;
    }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  void serve_batch(std::vector<delivery>& batch) {
    // The replies leave in parts while the rest are served, and the last part at once.
    std::size_t served = 0;
    for (auto& [sr, m] : batch) {
      if (sr->durable) {
        serve_durable(*sr, std::move(m));
      } else {
        serve_message(*sr, m.get());
      }
      if (++served % roost::detail::replies_per_part == 0) conn->write_now();
    }
    conn->write_now();
  }

  void serve_message(const subscribed_route& sr, natsMsg* m) {
    if (gauge.too_large(detail::data_of(m).size())) [[unlikely]] {
      disp->refuse_too_large(ex, detail::data_of(m), sr.channel, message_origin{this, m}, sr.route);
      return;
    }
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
    disp->serve(ex, *packet, message_origin{this, m}, sr.route);
  }

  void stop_accepting() {
    listening = false;
    // What arrives from now on goes through the subscriptions, which the drain ends.
    taken->taking = false;
    if (conn) conn->drain_subscriptions();
  }

  // The drain of every subscription is over (or the connection is gone), and what they
  // delivered was handed to the dispatcher.
  bool stopped() {
    if (listening || !conn) return !listening;
    auto nc = conn->native();
    const bool connected = nc && natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED;
    if (connected && !conn->subscriptions_drained()) return false;
    if (bridge && !bridge->idle()) return false;
    std::lock_guard lock(taken->mutex);
    return taken->items.empty();
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
  roost::detail::flight_gauge gauge{opts.serving};  // the connection's
  std::optional<dispatcher> disp;
  executor ex;
  std::shared_ptr<detail::connection> conn;
  std::vector<std::unique_ptr<subscribed_route>> subscribed;
  std::shared_ptr<roost::detail::thread_bridge<delivery>> bridge;
  std::shared_ptr<inline_queue> taken = std::make_shared<inline_queue>();
  std::vector<delivery> taken_batch;  // served on the socket's strand only
  // Set by close(): the connection's end is then expected. Shared with a library callback.
  std::shared_ptr<std::atomic<bool>> closing = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> listening{false};  // from listen()'s end to stop_accepting()
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
bool server::ready() const noexcept {
  if (!impl_->listening || !impl_->conn) return false;
  auto nc = impl_->conn->native();
  return nc && natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED;
}
void server::close() {
  impl_->close();
}
bool server::stopped() const noexcept {
  return impl_->stopped();
}

}  // namespace roost::nats
