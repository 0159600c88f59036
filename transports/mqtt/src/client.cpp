#include <roost/mqtt/client.hpp>

#include "session.hpp"

#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <any>
#include <cstdint>
#include <map>
#include <mutex>

namespace roost::mqtt {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "mqtt client";

// Why a call fails while the connection is down (lost, and being made again): the calls in
// flight when it went failed with "Connection closed: <why>" too.
constexpr std::string_view offline =
    "Connection closed: not connected to the broker (reconnecting)";

[[noreturn]] void throw_lost(const std::string& why) {
  if (why.starts_with("Connection closed")) {
    throw connection_error(make_error_code(error::connection_lost), why);
  }
  throw connection_error(make_error_code(error::connection_lost), "mqtt: " + why);
}

// Waits for a `done_fn` answer: completes with its text (empty: granted).
template <class Start>
awaitable<std::string> answer_of(Start start) {
  auto init = [&start](auto handler) {
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    start([h, ex](const std::string& failed) {
      asio::post(ex, asio::append(std::move(*h), failed));
    });
  };
  std::string failed =
      co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::string)>(
          init, asio::use_awaitable);
  co_return failed;
}

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o) : opts(std::move(o)) {}

  // A reply topic's subscription, shared by the requests in flight to its topic (NestJS's
  // subscriptionsCount): made by the first, dropped after the last.
  struct reply_subscription {
    std::size_t users = 0;
    std::uint64_t generation = 0;  // which subscription of the topic this is
    bool granted = false;
    std::string failed;                                            // the broker refused it
    std::vector<std::function<void(const std::string&)>> waiting;  // until granted
  };

  std::shared_ptr<detail::session> current() {
    std::lock_guard lock(mutex);
    return sess;
  }

  // An open session, opening one if needed; concurrent callers share one attempt.
  awaitable<std::shared_ptr<detail::session>> session_for_call() {
    auto ready = [this] { return current(); };
    auto attempt = [this]() -> awaitable<std::shared_ptr<detail::session>> {
      auto open_reported = roost::detail::reported_attempt<std::shared_ptr<detail::session>>(
          listener, [this] { return open(); });
      auto s = co_await std::move(open_reported);
      std::lock_guard lock(mutex);
      sess = s;
      co_return s;
    };
    auto s = flight.run(ready, attempt);
    co_return co_await std::move(s);
  }

  awaitable<std::shared_ptr<detail::session>> open() {
    const executor on = co_await asio::this_coro::executor;
    auto s = std::make_shared<detail::session>(on, opts, source, true);
    // On the session's strand; no strong reference to the client there.
    std::weak_ptr<impl> weak = weak_from_this();
    detail::session::events events;
    events.messages = [weak](std::vector<detail::message>& batch) {
      auto self = weak.lock();
      if (!self || !self->listener) return;
      for (auto& m : batch) {
        auto reply = decode_reply(m.payload);
        if (!reply) {
          self->opts.log.error(source, "a reply on " + m.topic + " is not JSON; dropped");
          continue;
        }
        self->listener->on_reply(std::move(*reply));
      }
    };
    events.down = [weak](const std::string& why) {
      if (auto self = weak.lock()) self->on_down(why);
    };
    events.up = [weak] {
      if (auto self = weak.lock()) self->on_up();
    };
    s->set_events(std::move(events));
    try {
      co_await s->open();
    } catch (...) {
      s->close();
      throw;
    }
    co_return s;
  }

  // The connection went: the calls in flight fail (their replies would not come), and the
  // reply subscriptions are made again when it is back.
  void on_down(const std::string& why) {
    {
      std::lock_guard lock(mutex);
      for (auto& [topic, sub] : replies) sub.granted = false;
    }
    if (listener) {
      listener->on_connection_lost(make_error_code(error::connection_lost),
                                   "Connection closed: " + why);
      listener->on_status(connection_status::reconnecting);
    }
  }

  void on_up() {
    auto s = current();
    if (!s) return;
    std::vector<std::string> topics;
    {
      std::lock_guard lock(mutex);
      for (auto& [topic, sub] : replies) topics.push_back(topic);
    }
    for (const auto& t : topics) subscribe_reply(*s, t);
    if (listener) listener->on_status(connection_status::connected);
  }

  // Subscribes to a reply topic; whoever waits for it resumes with the broker's answer.
  void subscribe_reply(detail::session& s, const std::string& topic) {
    auto done = [weak = weak_from_this(), topic](const std::string& failed) {
      auto self = weak.lock();
      if (!self) return;
      std::vector<std::function<void(const std::string&)>> waiting;
      {
        std::lock_guard lock(self->mutex);
        auto it = self->replies.find(topic);
        if (it == self->replies.end()) return;
        it->second.granted = failed.empty();
        it->second.failed = failed;
        waiting.swap(it->second.waiting);
        if (!failed.empty()) self->replies.erase(it);
      }
      for (auto& w : waiting) w(failed);
    };
    if (!s.subscribe(topic, 0, done)) done(std::string(offline));
  }

  // Takes a share of `topic`'s subscription for request `id`, subscribing first when it is the
  // first; `done` (now, or once the broker answered) gets empty text or why not.
  void acquire(detail::session& s, const std::string& topic, const std::string& id,
               std::function<void(const std::string&)> done) {
    if (!s.connected()) {
      // Not while reconnecting: the broker would not answer before the connection is back.
      done(std::string(offline));
      return;
    }
    bool first = false;
    {
      std::lock_guard lock(mutex);
      auto& sub = replies[topic];
      first = sub.users++ == 0;
      if (first) sub.generation = ++generations;
      holders[id] = {topic, sub.generation};
      if (!first && sub.granted) {
        // Already subscribed.
      } else {
        sub.waiting.push_back(std::move(done));
        done = nullptr;
      }
    }
    if (done) {
      done({});
      return;
    }
    if (first) subscribe_reply(s, topic);
  }

  // Gives request `id`'s share back (if it took one, of the subscription that is still there);
  // the last one unsubscribes.
  void release(const std::string& id) {
    std::shared_ptr<detail::session> s;
    std::string topic;
    {
      std::lock_guard lock(mutex);
      auto h = holders.find(id);
      if (h == holders.end()) return;
      auto [held, generation] = std::move(h->second);
      holders.erase(h);
      auto it = replies.find(held);
      if (it == replies.end() || it->second.generation != generation) return;
      if (--it->second.users > 0) return;
      replies.erase(it);
      s = sess;
      topic = std::move(held);
    }
    if (s) s->unsubscribe(topic);
  }

  // The user properties of one message: its record's, then the call's headers, then the
  // client's, each for names not given before.
  roost::headers properties_for(const outbound_message& m, const record* rec) const {
    roost::headers h = rec ? rec->user_properties : roost::headers();
    auto add = [&h](const std::string& k, const std::string& v) {
      if (!h.contains(k)) h.add(k, v);
    };
    if (m.metadata) {
      for (const auto& [k, v] : roost::headers::from_metadata(*m.metadata)) add(k, v);
    }
    for (const auto& [k, v] : opts.user_properties) add(k, v);
    return h;
  }

  void close() {
    std::shared_ptr<detail::session> s;
    {
      std::lock_guard lock(mutex);
      s = std::move(sess);
      replies.clear();
      holders.clear();
    }
    if (!s) return;
    s->close();
    if (listener) {
      listener->on_connection_lost(make_error_code(error::connection_closed), "Connection closed");
      listener->on_status(connection_status::closed);
    }
  }

  client_options opts;
  std::shared_ptr<client_listener> listener;
  std::mutex mutex;
  std::shared_ptr<detail::session> sess;
  std::map<std::string, reply_subscription, std::less<>> replies;
  // The requests holding a share: the topic and the generation of its subscription.
  std::map<std::string, std::pair<std::string, std::uint64_t>, std::less<>> holders;
  std::uint64_t generations = 0;
  roost::detail::single_flight<std::shared_ptr<detail::session>> flight;
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
  co_await impl_->session_for_call();
}

awaitable<void> client::send_request(const outbound_message& m) {
  auto s = impl_->current();
  if (!s) s = co_await impl_->session_for_call();
  // NestJS's ClientMqtt: subscribed to `<topic>/reply` before the request goes out.
  const std::string reply_topic = m.route + "/reply";
  auto start = [&](std::function<void(const std::string&)> done) {
    impl_->acquire(*s, reply_topic, m.id, std::move(done));
  };
  auto subscribed = answer_of(start);
  std::string failed = co_await std::move(subscribed);
  if (!failed.empty()) {
    // end_request() gives the share back; a refused subscription is dropped already.
    throw_lost(failed.starts_with("Connection closed")
                   ? failed
                   : "cannot subscribe to " + reply_topic + ": " + failed);
  }
  const record* rec = m.record ? std::any_cast<record>(m.record) : nullptr;
  std::string body;
  encode_request(body, m.pattern, m.data, std::string_view(m.id), m.metadata);
  const roost::headers props = impl_->properties_for(m, rec);
  detail::publish_options o;
  o.qos = rec && rec->qos ? *rec->qos : impl_->opts.qos;
  o.retain = rec && rec->retain;
  o.user_properties = &props;
  if (rec) {
    o.content_type = rec->content_type;
    o.message_expiry_interval = rec->message_expiry_interval;
  }
  if (auto why = s->publish(m.route, body, o); !why.empty()) {
    throw_lost(s->connected() ? why : std::string(offline));
  }
}

void client::end_request(const outbound_message& m) noexcept {
  try {
    impl_->release(m.id);
  } catch (...) {
    // Cannot happen (nothing above allocates); the subscription would stay until closed.
  }
}

awaitable<void> client::send_event(const outbound_message& m) {
  auto s = impl_->current();
  if (!s) s = co_await impl_->session_for_call();
  const record* rec = m.record ? std::any_cast<record>(m.record) : nullptr;
  std::string body;
  encode_event(body, m.pattern, m.data, m.metadata);
  const roost::headers props = impl_->properties_for(m, rec);
  detail::publish_options o;
  o.qos = rec && rec->qos ? *rec->qos : impl_->opts.qos;
  o.retain = rec && rec->retain;
  o.user_properties = &props;
  if (rec) {
    o.content_type = rec->content_type;
    o.message_expiry_interval = rec->message_expiry_interval;
  }
  if (o.qos == 0) {
    // NestJS's emit completes once its library wrote the message: so does this one.
    if (auto why = s->publish(m.route, body, o); !why.empty()) {
      throw_lost(s->connected() ? why : std::string(offline));
    }
    co_return;
  }
  // QoS 1 and 2: once the broker acknowledged it.
  std::string immediate;
  auto start = [&](std::function<void(const std::string&)> done) {
    immediate = s->publish(m.route, body, o, done);
    if (!immediate.empty()) done(s->connected() ? immediate : std::string(offline));
  };
  auto acknowledged = answer_of(start);
  std::string failed = co_await std::move(acknowledged);
  if (!failed.empty()) throw_lost(failed);
}

void client::close() {
  impl_->close();
}

}  // namespace roost::mqtt
