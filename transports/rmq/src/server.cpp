#include <roost/rmq/server.hpp>

#include "connection.hpp"
#include "topic.hpp"

#include <roost/detail/thread_bridge.hpp>
#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>
#include <roost/rmq/context.hpp>
#include <roost/route.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <optional>

namespace roost::rmq {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "rmq server";

// Sends the replies of one request to its `replyTo`, with its `correlationId` and no other
// property, bodies without `id` (NestJS's ServerRMQ); the no-handler reply alone has one.
class queue_reply_sink final : public immediate_reply_sink {
 public:
  queue_reply_sink(std::shared_ptr<detail::connection> c, std::string reply_to,
                   std::string correlation_id, const logger& log)
      : conn_(std::move(c)),
        reply_to_(std::move(reply_to)),
        correlation_id_(std::move(correlation_id)),
        log_(log) {}

  // Queuing for the connection's thread never waits.
  void send_now(reply_packet r, const json::value& id) override {
    if (reply_to_.empty()) return;  // nowhere to answer: served, the reply goes nowhere
    detail::outgoing op;
    op.routing_key = reply_to_;
    op.correlation_id = correlation_id_;
    encode_reply(op.body, r, id, false);
    if (!conn_->send(std::move(op))) {
      log_.error(source, "cannot send a reply to " + reply_to_ + ": the connection is closed");
    }
  }

 private:
  std::shared_ptr<detail::connection> conn_;
  std::string reply_to_;
  std::string correlation_id_;
  const logger& log_;
};

message_info info_of(const amqp_envelope_t& e) {
  using detail::text_of;
  const auto& p = e.message.properties;
  message_info m;
  m.exchange = text_of(e.exchange);
  m.routing_key = text_of(e.routing_key);
  m.delivery_tag = e.delivery_tag;
  m.redelivered = e.redelivered != 0;
  if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) m.reply_to = text_of(p.reply_to);
  if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) m.correlation_id = text_of(p.correlation_id);
  if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) m.message_id = text_of(p.message_id);
  if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) m.content_type = text_of(p.content_type);
  if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) m.delivery_mode = p.delivery_mode;
  if (p._flags & AMQP_BASIC_PRIORITY_FLAG) m.priority = p.priority;
  if (p._flags & AMQP_BASIC_EXPIRATION_FLAG) m.expiration = text_of(p.expiration);
  return m;
}

// The header that counts a message's retries (maxRetries).
constexpr std::string_view retries_header = "x-retries";

// Requeue with a limit: a copy of the message, its retry count one higher, at the back of its
// queue, then the original acknowledged (in this order, on the connection's thread: a crash
// in between delivers it twice rather than never); past the limit, the original rejected (to
// the queue's dead-letter exchange, if any). Classic queues do not count redeliveries, hence
// the copy.
void retry_or_reject(detail::connection& conn, const amqp_envelope_t& e, std::uint64_t generation,
                     const std::string& queue, std::uint32_t max_retries) {
  using detail::text_of;
  const auto& p = e.message.properties;
  roost::headers h = detail::headers_of(p);
  std::uint64_t retries = 0;
  if (const auto* v = h.get(retries_header)) {
    retries = std::strtoull(v->c_str(), nullptr, 10);
  }
  detail::outgoing settle;
  settle.delivery_tag = e.delivery_tag;
  settle.generation = generation;
  if (retries >= max_retries) {
    settle.what = detail::outgoing::kind::reject;
    conn.send(std::move(settle));
    return;
  }
  // Only on the connection that delivered it: on another, the broker delivers the original
  // again anyway, and a copy would make two.
  if (generation != conn.generation()) return;
  h.set(retries_header, std::to_string(retries + 1));
  detail::outgoing copy;
  copy.routing_key = queue;
  copy.body.assign(text_of(e.message.body));
  copy.headers = std::move(h);
  if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) copy.reply_to = text_of(p.reply_to);
  if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) copy.correlation_id = text_of(p.correlation_id);
  if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) copy.message_id = text_of(p.message_id);
  if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) copy.content_type = text_of(p.content_type);
  if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) copy.delivery_mode = p.delivery_mode;
  if (p._flags & AMQP_BASIC_PRIORITY_FLAG) copy.priority = p.priority;
  if (p._flags & AMQP_BASIC_EXPIRATION_FLAG) copy.expiration = text_of(p.expiration);
  conn.send(std::move(copy));
  settle.what = detail::outgoing::kind::ack;
  conn.send(std::move(settle));
}

detail::outgoing::kind settlement_op(settlement s) {
  switch (s) {
    case settlement::ack:
    case settlement::drop:
      return detail::outgoing::kind::ack;
    case settlement::redeliver:
      return detail::outgoing::kind::requeue;
    case settlement::dead_letter:
      return detail::outgoing::kind::reject;
  }
  return detail::outgoing::kind::requeue;
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o) : opts(std::move(o)) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    bridge = roost::detail::thread_bridge<detail::delivery>::make(
        ex, [weak = weak_from_this()](std::vector<detail::delivery>& batch) {
          if (auto s = weak.lock()) s->serve_batch(batch);
        });
    detail::setup s;
    s.consume_queue = true;
    s.no_ack = opts.no_ack;
    s.prefetch_count = opts.prefetch_count;
    s.global_prefetch = opts.is_global_prefetch_count;
    s.more_queues = opts.more_queues;
    if (opts.wildcards) {
      // Every route is bound to the exchange; the wildcard ones also match patterns.
      for (const auto* e : d.routes().entries()) {
        s.bind_keys.push_back(e->route);
        if (detail::is_wildcard(e->route)) wildcard_routes.push_back(e->route);
      }
    }
    // These run on the connection's thread: they hand over and log, and take no reference to
    // the server (its last one must not be dropped there).
    detail::connection_events events;
    events.delivered = [b = bridge](detail::delivery dv) { b->push(std::move(dv)); };
    events.lost = [log = opts.log, wait = opts.reconnect_time](const std::string&) {
      log.warn(source, "reconnecting in " + std::to_string(wait.count()) + " ms");
    };
    events.reconnected = [log = opts.log] { log.info(source, "reconnected; consuming again"); };
    conn = std::make_shared<detail::connection>(opts, s, std::move(events), true);
    co_await conn->open();
    if (opts.queue.empty()) {
      opts.log.warn(source, "no queue given: consuming the broker-named queue " + conn->queue() +
                                ", which clients cannot address");
    }
    std::string queues = conn->queue();
    for (const auto& q : opts.more_queues) queues += ", " + q;
    opts.log.info(source,
                  std::string(opts.more_queues.empty() ? "consuming queue " : "consuming queues ") +
                      queues + " on " + opts.host + ":" + std::to_string(opts.port) +
                      (opts.no_ack ? "" : " (acknowledged)"));
  }

  void serve_batch(std::vector<detail::delivery>& batch) {
    for (auto& dv : batch) serve_message(dv);
  }

  // A message as delivered: its context (with its acknowledgement when acks are on) and, for a
  // request, its reply sink. It owns what it reads, as a coroutine may make them later.
  struct message_origin {
    std::shared_ptr<impl> server;
    std::shared_ptr<const amqp_envelope_t> envelope;
    std::uint64_t generation;
    std::string queue;

    // The body's NestJS 12 `metadata` is not read: a NestJS RMQ server reads none either, and
    // a guard must find credentials where NestJS's would (the AMQP headers), nowhere else.
    rmq::context make_context(json::value pattern, std::optional<json::object>) {
      acknowledgement ack;
      if (!server->opts.no_ack) {
        ack.policy = server->opts.ack;
        ack.settle = [conn = server->conn, envelope = envelope, generation = generation,
                      queue = queue, max_retries = server->opts.max_retries](settlement s) {
          if (s == settlement::redeliver && max_retries) {
            retry_or_reject(*conn, *envelope, generation, queue, *max_retries);
            return;
          }
          detail::outgoing op;
          op.what = settlement_op(s);
          op.delivery_tag = envelope->delivery_tag;
          op.generation = generation;
          conn->send(std::move(op));
        };
      }
      message_info info = info_of(*envelope);
      info.queue = queue;
      std::function<std::string()> refusal;
      if (!server->opts.no_ack) {
        // A plain pointer (kept small, no allocation): the settle function above holds the
        // connection for as long as the context lives.
        refusal = [conn = static_cast<const detail::connection*>(server->conn.get()),
                   generation = generation] { return conn->settle_refusal(generation); };
      }
      return rmq::context(std::move(pattern), std::nullopt,
                          detail::headers_of(envelope->message.properties), std::move(info),
                          std::move(ack), std::move(refusal));
    }
    queue_reply_sink make_sink() {
      const auto& p = envelope->message.properties;
      std::string reply_to, correlation_id;
      if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) reply_to = detail::text_of(p.reply_to);
      if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
        correlation_id = detail::text_of(p.correlation_id);
      }
      return queue_reply_sink(server->conn, std::move(reply_to), std::move(correlation_id),
                              server->opts.log);
    }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  void serve_message(detail::delivery& dv) {
    const auto& env = *dv.envelope;
    if (gauge.too_large(env.message.body.len)) [[unlikely]] {
      // Never parsed: a request is answered from its envelope's top level, an event dropped.
      std::shared_ptr<const amqp_envelope_t> shared(dv.envelope.release(),
                                                    detail::envelope_deleter{});
      const std::string_view text = detail::text_of(shared->message.body);
      disp->refuse_too_large(
          ex, text, nullptr,
          message_origin{shared_from_this(), shared, dv.generation, std::move(dv.queue)});
      return;
    }
    // Most messages are served before this returns: their JSON lives in a scratch buffer that
    // is dropped at once instead of being freed value by value.
    alignas(std::max_align_t) unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    auto packet =
        decode_inbound(detail::text_of(env.message.body), nullptr, json::storage_ptr(&arena));
    if (!packet) {
      // NestJS parses it as text, which has no pattern: no handler ever matches it. It is
      // logged and, when acks are on, rejected (never requeued: it would come back forever).
      opts.log.error(source, "a message on queue " + dv.queue + " is not JSON; " +
                                 (opts.no_ack ? "dropped" : "rejected"));
      if (!opts.no_ack) {
        detail::outgoing op;
        op.what = detail::outgoing::kind::reject;
        op.delivery_tag = env.delivery_tag;
        op.generation = dv.generation;
        conn->send(std::move(op));
      }
      return;
    }
    std::shared_ptr<const amqp_envelope_t> shared(dv.envelope.release(),
                                                  detail::envelope_deleter{});
    disp->serve(
        ex, *packet,
        message_origin{shared_from_this(), std::move(shared), dv.generation, std::move(dv.queue)},
        wildcard_route(packet->pattern));
  }

  // With wildcards, the wildcard route that a pattern no handler has exactly matches (NestJS:
  // the pattern as a string, an object as its JSON); empty otherwise (the dispatcher then
  // finds the handler, or none, by the pattern's route).
  std::string wildcard_route(const json::value& pattern) const {
    if (wildcard_routes.empty()) return {};
    if (disp->routes().find(normalizer.lookup_route(pattern))) return {};
    const std::string key =
        pattern.is_string() ? std::string(pattern.get_string()) : json::serialize(pattern);
    for (const auto& w : wildcard_routes) {
      if (detail::topic_matches(w, key)) return w;
    }
    return {};
  }

  void stop_accepting() {
    accepting = false;
    if (conn) conn->cancel_consumer();
  }

  // The broker confirmed the cancel and what it delivered before was handed to the dispatcher.
  bool stopped() const {
    return (!conn || conn->consumer_cancelled()) && (!bridge || bridge->idle());
  }

  void close() {
    if (conn) conn->close();
  }

  server_options opts;
  roost::detail::flight_gauge gauge{opts.serving};  // the connection's
  std::optional<dispatcher> disp;
  executor ex;
  std::shared_ptr<detail::connection> conn;
  std::shared_ptr<roost::detail::thread_bridge<detail::delivery>> bridge;
  std::vector<std::string> wildcard_routes;  // with wildcards: handler routes with `*` or `#`
  route_normalizer normalizer;
  std::atomic<bool> accepting{true};
};

server::server(server_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
server::server(server&&) noexcept = default;
server::~server() {
  if (impl_) impl_->close();
}

awaitable<void> server::listen(dispatcher& d) {
  return impl_->listen(d);
}
void server::stop_accepting() {
  impl_->stop_accepting();
}
bool server::stopped() const noexcept {
  return impl_->stopped();
}
void server::close() {
  impl_->close();
}
bool server::ready() const noexcept {
  // Set once listen() made it; read from any thread after that.
  return impl_->accepting && impl_->conn && impl_->conn->consuming();
}

}  // namespace roost::rmq
