#include <roost/mqtt/server.hpp>

#include "session.hpp"
#include "topic.hpp"

#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/mqtt/context.hpp>
#include <roost/packet.hpp>
#include <roost/route.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace roost::mqtt {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "mqtt server";

// Publishes the replies of one request to the topic it came on + `/reply`, QoS 0 and no
// properties, as NestJS's ServerMqtt.
class topic_reply_sink final : public immediate_reply_sink {
 public:
  topic_reply_sink(std::shared_ptr<detail::session> s, std::string topic)
      : session_(std::move(s)), topic_(std::move(topic)) {}

  // The library writes at once or queues: it never waits.
  void send_now(reply_packet r, const json::value& id) override {
    text_.clear();
    encode_reply(text_, r, id);
    if (auto failed = session_->publish(topic_, text_, {}); !failed.empty()) {
      session_->options().log.warn(source, "cannot publish a reply to " + topic_ + ": " + failed);
    }
  }

 private:
  std::shared_ptr<detail::session> session_;
  std::string topic_;
  std::string text_;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o) : opts(std::move(o)) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    const executor ex = co_await asio::this_coro::executor;
    for (const auto* e : d.routes().entries()) {
      const bool shared = opts.share.empty() || e->route.starts_with("$share/");
      topics.push_back(shared ? e->route : "$share/" + opts.share + "/" + e->route);
      qos_of.push_back(qos_for(*e));
      if (detail::is_filter(e->route)) filters.push_back(e->route);
    }
    sess = std::make_shared<detail::session>(ex, opts, source, true);
    // On the session's strand; no strong reference to the server there.
    detail::session::events events;
    events.messages = [weak = weak_from_this()](std::vector<detail::message>& batch) {
      if (auto s = weak.lock()) s->serve_batch(batch);
    };
    // A lost connection is not ready until the broker granted every subscription again
    // (a clean session forgets them): each connection counts as a new epoch, and a late
    // answer for an older one changes nothing.
    events.up = [weak = weak_from_this()] {
      auto s = weak.lock();
      if (!s || !s->accepting) return;
      const auto epoch = ++s->epoch;
      s->subscribe_all([weak = std::weak_ptr<impl>(s), epoch](const std::string& failed) {
        auto self = weak.lock();
        if (self && failed.empty() && self->epoch.load() == epoch) self->subscribed = true;
      });
    };
    events.down = [weak = weak_from_this()](const std::string&) {
      if (auto s = weak.lock()) {
        ++s->epoch;
        s->subscribed = false;
      }
    };
    sess->set_events(std::move(events));
    try {
      co_await sess->open();
    } catch (...) {
      sess->close();
      throw;
    }
    // Ready once the broker confirmed every subscription: a message published right after
    // listen() completes reaches a handler.
    auto self = shared_from_this();
    auto init = [self](auto handler) {
      auto hex = asio::get_associated_executor(handler);
      auto h = std::make_shared<decltype(handler)>(std::move(handler));
      self->subscribe_all([h, hex](const std::string& failed) {
        asio::post(hex, asio::append(std::move(*h), failed));
      });
    };
    std::string failed =
        co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::string)>(
            init, asio::use_awaitable);
    if (!failed.empty()) {
      sess->close();
      throw connection_error(make_error_code(error::not_connected),
                             std::string(source) + ": " + failed);
    }
    // Unless the connection went (and came back) while the first SUBACKs came.
    if (epoch.load() == 0 && sess->connected()) subscribed = true;
    opts.log.info(source, "subscribed to " + std::to_string(topics.size()) + " topic(s) on " +
                              opts.host + ":" + std::to_string(opts.port) + " (MQTT " +
                              (sess->v5() ? "5" : "3.1.1") + ", QoS " + std::to_string(opts.qos) +
                              ")");
  }

  // A handler's own QoS (NestJS's `@MessagePattern('t', {qos: 1})`, extras `{"qos":1}`),
  // else the server's.
  int qos_for(const router::entry& e) const {
    const auto* q = e.extras.if_contains("qos");
    if (q && q->is_int64() && q->get_int64() >= 0 && q->get_int64() <= 2) {
      return static_cast<int>(q->get_int64());
    }
    if (q) {
      opts.log.warn(source, "handler " + e.route + ": extras qos is not 0, 1 or 2; using " +
                                std::to_string(opts.qos));
    }
    return opts.qos;
  }

  // Subscribes to every handler's topic; `done` (when given) gets the first refusal, or
  // nothing once all are granted.
  void subscribe_all(std::function<void(const std::string&)> done) {
    struct tally {
      std::mutex mutex;
      std::size_t left;
      std::function<void(const std::string&)> done;
    };
    auto t = std::make_shared<tally>();
    t->left = topics.size();
    t->done = std::move(done);
    auto finish = [t](const std::string& failed) {
      std::function<void(const std::string&)> f;
      {
        std::lock_guard lock(t->mutex);
        if (!t->done || (--t->left > 0 && failed.empty())) return;
        f = std::move(t->done);
        t->done = nullptr;
      }
      f(failed);
    };
    if (topics.empty()) {
      finish({});
      return;
    }
    for (std::size_t i = 0; i < topics.size(); ++i) {
      const std::string& topic = topics[i];
      const bool sent =
          sess->subscribe(topic, qos_of[i], [finish, topic](const std::string& failed) {
            finish(failed.empty() ? failed : "cannot subscribe to " + topic + ": " + failed);
          });
      if (!sent) {
        finish("cannot subscribe to " + topic + ": not connected");
        return;
      }
    }
  }

  // A message as delivered: its context and, for a request, its reply sink.
  struct message_origin {
    std::shared_ptr<impl> server;
    std::shared_ptr<detail::message> msg;

    // Over MQTT 5 the user properties are the headers; over 3.1.1, which has none, a NestJS 12
    // body's `metadata`.
    mqtt::context make_context(json::value pattern, std::optional<json::object> metadata) {
      const bool props = !msg->user_properties.empty();
      return mqtt::context(std::move(pattern), props ? std::nullopt : std::move(metadata),
                           std::move(msg->user_properties), msg->topic, msg->info);
    }
    topic_reply_sink make_sink() { return topic_reply_sink(server->sess, msg->topic + "/reply"); }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  void serve_batch(std::vector<detail::message>& batch) {
    for (auto& m : batch) serve_message(std::make_shared<detail::message>(std::move(m)));
  }

  void serve_message(std::shared_ptr<detail::message> m) {
    const std::string route = route_of(m->topic);
    const json::value channel = json::string(m->topic);
    const auto& strand = sess->strand();
    if (gauge.too_large(m->payload.size())) [[unlikely]] {
      const std::string_view text = m->payload;
      disp->refuse_too_large(strand, text, channel, message_origin{shared_from_this(), m}, route);
      return;
    }
    auto packet = decode_inbound(m->payload, channel);
    if (!packet) {
      // NestJS takes a payload that is not JSON as a string: an external event on the topic.
      inbound_packet external;
      external.pattern = channel;
      external.data = json::string(m->payload);
      disp->serve(strand, external, message_origin{shared_from_this(), std::move(m)}, route);
      return;
    }
    disp->serve(strand, *packet, message_origin{shared_from_this(), std::move(m)}, route);
  }

  // The route of the handler for a topic (NestJS's getHandlerByPattern): the topic's own (a
  // topic that is JSON normalized as its object), else the first filter that matches it, its
  // `$share/GROUP/` left out; else the topic's own, which no handler has.
  std::string route_of(const std::string& topic) const {
    std::string exact = normalizer.lookup_route(json::string(topic));
    if (disp->routes().find(exact)) return exact;
    for (const auto& f : filters) {
      if (detail::topic_matches(detail::without_share_prefix(f), topic)) return f;
    }
    return exact;
  }

  // Every SUBACK of the current connection came, and it is still up.
  bool ready() const noexcept { return accepting && subscribed && sess && sess->connected(); }

  // Messages that arrive until the broker's UNSUBACKs are still served.
  void stop_accepting() {
    if (!accepting.exchange(false) || !sess) {
      unsubscribing = 0;
      return;
    }
    unsubscribing = topics.size();
    std::weak_ptr<impl> weak = weak_from_this();
    for (const auto& t : topics) {
      auto done = [weak](const std::string&) {
        auto s = weak.lock();
        if (!s) return;
        // After the messages the same read brought, which the strand hands on first.
        asio::post(s->sess->strand(), [s] { --s->unsubscribing; });
      };
      if (!sess->unsubscribe(t, done)) --unsubscribing;  // not connected: nothing comes
    }
  }

  bool stopped() const { return !accepting && unsubscribing.load() == 0; }

  void close() {
    accepting = false;
    if (sess) sess->close();
  }

  server_options opts;
  roost::detail::flight_gauge gauge{opts.serving};  // the connection's
  std::optional<dispatcher> disp;
  std::shared_ptr<detail::session> sess;
  std::vector<std::string> topics;   // every handler's route as subscribed (with `share`)
  std::vector<int> qos_of;           // the QoS each is subscribed with
  std::vector<std::string> filters;  // those with wildcards or a $share/ prefix
  route_normalizer normalizer;
  std::atomic<bool> accepting{true};
  std::atomic<bool> subscribed{false};        // for the current connection
  std::atomic<unsigned> epoch{0};             // one more at each connection lost or made again
  std::atomic<std::size_t> unsubscribing{0};  // UNSUBACKs stop_accepting() waits for
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
  return impl_->ready();
}

}  // namespace roost::mqtt
