#include <roost/nats/client.hpp>

#include "connection.hpp"

#include <roost/detail/json_writer.hpp>
#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/detail/string_hash.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

namespace roost::nats {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "nats client";

[[noreturn]] void throw_closed() {
  throw connection_error(make_error_code(error::connection_lost), "Connection closed");
}

[[noreturn]] void throw_publish_failed(const std::string& route, natsStatus s) {
  if (s == NATS_CONNECTION_CLOSED) throw_closed();
  // Over the broker's max_payload: the message never left.
  const auto code = s == NATS_MAX_PAYLOAD ? error::payload_too_large : error::connection_lost;
  throw connection_error(make_error_code(code),
                         "nats: cannot publish to " + route + ": " + natsStatus_GetText(s));
}

// NestJS's EmptyResponseException text.
std::string empty_response(std::string_view route) {
  return "Empty response. There are no subscribers listening to that message (\"" +
         std::string(route) + "\")";
}

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o) : opts(std::move(o)) {}

  // An open connection with its inbox subscription, opening one if needed; concurrent
  // callers share one attempt.
  std::shared_ptr<detail::connection> current() {
    std::lock_guard lock(mutex);
    return conn;
  }

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

  // A message on the inbox, decoded on whichever thread read it: a reply, or the id of a call
  // that no one answered (no responders), or neither (not JSON: logged and dropped).
  struct inbox_message {
    std::optional<inbound_reply> reply;
    std::string unanswered;
  };

  // Decodes into `out` (an empty one); false when there is nothing to deliver. Filled in
  // place: each move of a reply moves three JSON values.
  static bool decode_inbox(natsMsg* m, const std::string& prefix, const logger& log,
                           inbox_message& out) {
    std::string_view subject = natsMsg_GetSubject(m);
    const auto text = detail::data_of(m);
    if (natsMsg_IsNoResponders(m) || text.empty()) {
      out.unanswered = subject.substr(std::min(prefix.size(), subject.size()));
      return true;
    }
    auto reply = decode_reply(text);
    if (!reply) {
      log.error(source, "a reply on " + std::string(subject) + " is not JSON; dropped");
      return false;
    }
    out.reply.emplace(std::move(*reply));
    return true;
  }

  // On our executor.
  void deliver(inbox_message& m) {
    if (m.reply) {
      if (listener) listener->on_reply(std::move(*m.reply));
    } else {
      no_responders(m.unanswered);
    }
  }

  // Replies taken on the thread that reads the socket (connection::take_inline), handed to the
  // listener right after the read that brought them. Shared with the reading thread.
  struct inline_replies {
    std::string prefix;
    logger log;
    std::mutex mutex;
    std::vector<inbox_message> items;

    void take(detail::msg_ptr& m) {
      if (std::string_view(natsMsg_GetSubject(m.get())).substr(0, prefix.size()) != prefix) return;
      inbox_message decoded;
      const bool deliver = decode_inbox(m.get(), prefix, log, decoded);
      m.reset();  // taken, and freed here
      if (!deliver) return;
      std::lock_guard lock(mutex);
      items.push_back(std::move(decoded));
    }
  };

  awaitable<std::shared_ptr<detail::connection>> open() {
    const executor on = co_await asio::this_coro::executor;
    // One wildcard subscription for every reply: `<prefix>.<nuid>.*`.
    natsInbox* inbox_raw = nullptr;
    if (natsInbox_Create(&inbox_raw) != NATS_OK) {
      throw connection_error(make_error_code(error::not_connected), "nats: cannot make an inbox");
    }
    std::string nuid = inbox_raw;  // "_INBOX.<nuid>"
    natsInbox_Destroy(inbox_raw);
    nuid = nuid.substr(nuid.rfind('.') + 1);
    std::string prefix = opts.inbox_prefix + "." + nuid + ".";
    std::weak_ptr<impl> weak = weak_from_this();
    auto c = make_connection(weak, on);
    auto taken = std::make_shared<inline_replies>();
    taken->prefix = prefix;
    taken->log = opts.log;
    c->take_inline([taken](detail::msg_ptr& m) { taken->take(m); },
                   [weak, taken, batch = std::vector<inbox_message>()]() mutable {
                     {
                       std::lock_guard lock(taken->mutex);
                       if (taken->items.empty()) return;
                       batch.swap(taken->items);
                     }
                     if (auto s = weak.lock()) {
                       for (auto& m : batch) s->deliver(m);
                     }
                     batch.clear();
                   });
    co_await c->open();
    {
      std::lock_guard lock(mutex);
      inbox = prefix;
    }
    // Replies the reading thread did not take (the library's threads run the socket) come
    // here. Never takes a strong reference on the library's thread: the client's last one
    // must not be dropped there (closing the connection waits for this very callback).
    auto on_reply = [weak, ex = on, prefix, log = opts.log](detail::msg_ptr m) {
      inbox_message decoded;
      if (!decode_inbox(m.get(), prefix, log, decoded)) return;
      asio::post(ex, [weak, d = std::move(decoded)]() mutable {
        if (auto s = weak.lock()) s->deliver(d);
      });
    };
    c->subscribe(prefix + "*", "", std::move(on_reply));
    co_return c;
  }

  // A connection whose events (on nats.c threads) are posted to `on`. The closed event must
  // know which connection it is about, which exists only once made: it finds it in a slot.
  std::shared_ptr<detail::connection> make_connection(std::weak_ptr<impl> weak, executor on) {
    auto slot = std::make_shared<std::weak_ptr<detail::connection>>();
    detail::connection_events events;
    events.disconnected = [weak, on] {
      asio::post(on, [weak] {
        if (auto s = weak.lock(); s && s->listener) {
          s->listener->on_status(connection_status::reconnecting);
        }
      });
    };
    events.reconnected = [weak, on] {
      asio::post(on, [weak] {
        if (auto s = weak.lock(); s && s->listener) {
          s->listener->on_status(connection_status::connected);
        }
      });
    };
    events.closed = [weak, on, slot] {
      asio::post(on, [weak, slot] {
        if (auto s = weak.lock()) s->on_closed(*slot);
      });
    };
    auto c = std::make_shared<detail::connection>(opts, std::move(events));
    *slot = c;
    return c;
  }

  // The library gave up reconnecting (or we closed it).
  void on_closed(const std::weak_ptr<detail::connection>& which) {
    {
      std::lock_guard lock(mutex);
      auto current = which.lock();
      if (!current || current != conn) return;  // an older connection, or closed by us
      conn.reset();
      routes.clear();
    }
    if (listener) {
      listener->on_connection_lost(make_error_code(error::connection_lost), "Connection closed");
      listener->on_status(connection_status::disconnected);
    }
  }

  void no_responders(const std::string& id) {
    std::string route;
    {
      std::lock_guard lock(mutex);
      auto it = routes.find(id);
      if (it == routes.end()) return;  // that call ended already
      route = it->second;
    }
    if (!listener) return;
    inbound_reply r;
    r.id = json::value(id);
    r.err = json::value(empty_response(route));
    r.disposed = true;
    listener->on_reply(std::move(r));
  }

  // The headers of one message: the client's defaults, then the call's metadata (strings as
  // they are, other values as JSON), which wins.
  nats::headers headers_for(const json::object* metadata) const {
    nats::headers h = metadata ? nats::headers::from_metadata(*metadata) : nats::headers();
    for (const auto& [k, v] : opts.headers) {
      if (!h.contains(k)) h.add(k, v);
    }
    return h;
  }

  void close() {
    std::shared_ptr<detail::connection> c;
    {
      std::lock_guard lock(mutex);
      c = std::move(conn);
      routes.clear();
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
  std::string inbox;  // "<prefix>.<nuid>."
  // pending request id -> route; flat, so that a call costs no node of its own
  boost::unordered_flat_map<std::string, std::string, roost::detail::string_hash, std::equal_to<>>
      routes;
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
  // Connected (nearly every call): no coroutine of connection_for_call's to go through.
  auto c = impl_->current();
  if (!c) c = co_await impl_->connection_for_call();
  std::string text;
  text.reserve(128);  // a usual request in one allocation, not four growing ones
  encode_request(text, m.pattern, m.data, std::string_view(m.id), nullptr);
  // "<inbox><id>", NUL-terminated for the library, on the stack for the usual lengths.
  boost::container::small_vector<char, 96> reply;
  {
    std::lock_guard lock(impl_->mutex);
    reply.assign(impl_->inbox.begin(), impl_->inbox.end());
    impl_->routes.insert_or_assign(m.id, m.route);
  }
  reply.insert(reply.end(), m.id.begin(), m.id.end());
  reply.push_back('\0');
  const auto h = impl_->headers_for(m.metadata);
  const natsStatus s = c->publish(m.route.c_str(), reply.data(), text, &h);
  c->kick();
  if (s != NATS_OK) {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->routes.erase(m.id);
    }
    throw_publish_failed(m.route, s);
  }
}

void client::end_request(const outbound_message& m) noexcept {
  std::lock_guard lock(impl_->mutex);
  impl_->routes.erase(m.id);
}

awaitable<void> client::send_event(const outbound_message& m) {
  auto c = co_await impl_->connection_for_call();
  std::string text;
  encode_event(text, m.pattern, m.data, nullptr);
  const auto h = impl_->headers_for(m.metadata);
  const natsStatus s = c->publish(m.route.c_str(), nullptr, text, &h);
  c->kick();
  if (s != NATS_OK) throw_publish_failed(m.route, s);
}

void client::close() {
  impl_->close();
}

}  // namespace roost::nats
