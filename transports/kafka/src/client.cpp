#include <roost/kafka/client.hpp>

#include "rdkafka.hpp"
#include "reply_partitions.hpp"

#include <roost/detail/reported_attempt.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/detail/thread_bridge.hpp>
#include <roost/errors.hpp>
#include <roost/kafka/detail/record.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <any>
#include <map>
#include <mutex>
#include <set>

namespace roost::kafka {

namespace asio = boost::asio;

namespace {

// The partition of a reply topic read without a group (a pattern outside reply_patterns), and
// named in kafka_replyPartition.
constexpr std::int32_t shared_reply_partition = 0;

[[noreturn]] void throw_closed() {
  throw connection_error(make_error_code(error::connection_lost), "Connection closed");
}

[[noreturn]] void throw_invalid(const std::string& why) {
  throw connection_error(make_error_code(error::invalid_argument), "kafka: " + why);
}

void check_topic(const std::string& route) {
  if (!detail::valid_topic(route)) {
    throw_invalid("pattern " + route +
                  " is no Kafka topic name (1-249 of A-Z a-z 0-9 . _ -): it cannot be sent");
  }
}

}  // namespace

// A producer and, unless producerOnlyMode, the consumers of the reply topics: one in the
// client group for the reply topics of reply_patterns (each client its own partitions, as
// NestJS's), one without a group for the others (partition 0, shared).
struct connection {
  std::shared_ptr<detail::producer> producer;
  std::shared_ptr<detail::consumer> consumer;        // without a group
  std::shared_ptr<detail::consumer> group_consumer;  // with reply_patterns only
  // Replies (and the failures of requests the broker did not take) to the listener.
  std::shared_ptr<roost::detail::thread_bridge<inbound_reply>> replies;
  std::mutex mutex;
  std::set<std::string> reply_topics;  // with mutex: those read without a group
  std::set<std::string> group_topics;  // the group consumer's (fixed once open)
  // With mutex: this client's partitions of the group topics, set at each rebalance, and the
  // requests waiting for replies on them.
  detail::reply_partitions own;

  // On the group consumer's thread, after a rebalance: the requests whose reply partition went
  // to another client fail now (that client reads their replies, and drops them).
  void assigned(const std::vector<detail::partition_ref>& parts) {
    std::vector<detail::reply_partitions::held_partition> held;
    for (const auto& p : parts) held.emplace_back(p.topic, p.partition);
    std::vector<std::string> moved;
    {
      std::lock_guard lock(mutex);
      moved = own.assigned(held);
    }
    for (auto& id : moved) {
      inbound_reply reply;
      reply.id = json::string(id);
      reply.err = json::string(
          "kafka: a rebalance of the client group gave this request's reply partition to another "
          "client: its reply is lost");
      reply.disposed = true;
      replies->push(std::move(reply));
    }
  }

  // This client's lowest partition of `topic`, noted as the one request `id` (when given)
  // names.
  std::optional<std::int32_t> own_partition(const std::string& topic, const std::string& id) {
    std::lock_guard lock(mutex);
    return id.empty() ? own.lowest(topic) : own.wait_on_lowest(id, topic);
  }

  void close() {
    if (group_consumer) group_consumer->close();
    if (consumer) consumer->close();
    producer->close(std::chrono::seconds(2));
  }
};

struct client::impl : std::enable_shared_from_this<impl> {
  explicit impl(client_options o) : opts(std::move(o)) {}

  std::shared_ptr<connection> current() {
    std::lock_guard lock(mutex);
    return conn;
  }

  // An open connection, opening one if needed; concurrent callers share one attempt.
  awaitable<std::shared_ptr<connection>> connection_for_call() {
    auto ready = [this] { return current(); };
    auto attempt = [this]() -> awaitable<std::shared_ptr<connection>> {
      auto open_reported = roost::detail::reported_attempt<std::shared_ptr<connection>>(
          listener, [this] { return open(); });
      auto c = co_await std::move(open_reported);
      std::lock_guard lock(mutex);
      conn = c;
      co_return c;
    };
    auto c = flight.run(ready, attempt);
    co_return co_await std::move(c);
  }

  awaitable<std::shared_ptr<connection>> open() {
    const executor on = co_await asio::this_coro::executor;
    auto c = std::make_shared<connection>();
    c->producer = std::make_shared<detail::producer>(opts);
    std::string failed = co_await c->producer->check_brokers(opts.connect_timeout);
    if (!failed.empty()) {
      c->close();
      throw connection_error(make_error_code(error::not_connected), "kafka: " + failed);
    }
    if (opts.producer_only) co_return c;
    std::weak_ptr<impl> weak = weak_from_this();
    c->replies = roost::detail::thread_bridge<inbound_reply>::make(
        on, [weak](std::vector<inbound_reply>& batch) {
          auto s = weak.lock();
          if (!s || !s->listener) return;
          for (auto& r : batch) s->listener->on_reply(std::move(r));
        });
    // Runs on the consumer's thread: decodes and hands over. A record without
    // kafka_correlationId is no reply (NestJS ignores it too).
    detail::consumer_events events;
    events.received = [replies = c->replies, keep_binary = opts.keep_binary](detail::record r) {
      if (auto reply = detail::decode_reply(r, keep_binary)) replies->push(std::move(*reply));
    };
    c->consumer = std::make_shared<detail::consumer>(
        opts, "", false, std::vector<std::pair<std::string, std::string>>{}, events);
    c->consumer->start();
    if (!opts.reply_patterns.empty()) co_await join_group(c, events);
    co_return c;
  }

  // Joins the client group for the reply topics of reply_patterns and waits for this client's
  // partitions of each (NestJS's client sends nothing before it has them either).
  awaitable<void> join_group(std::shared_ptr<connection> c, detail::consumer_events events) {
    std::vector<std::string> topics;
    for (const auto& p : opts.reply_patterns) topics.push_back(p + ".reply");
    c->group_topics.insert(topics.begin(), topics.end());
    std::weak_ptr<connection> weak = c;
    events.assigned = [weak](const std::vector<detail::partition_ref>& parts) {
      if (auto s = weak.lock()) s->assigned(parts);
    };
    // Each reply read is committed (on a rebalance too), so that whoever holds a partition next
    // starts after it; a partition without a committed offset starts at its end.
    const std::string group = opts.group_id + opts.postfix_id;
    std::vector<std::pair<std::string, std::string>> extra;
    extra.emplace_back("enable.auto.commit", "true");
    c->group_consumer =
        std::make_shared<detail::consumer>(opts, group, false, std::move(extra), std::move(events));
    c->group_consumer->subscribe(topics);
    for (const auto& t : topics) {
      const auto own = co_await own_partition(*c, t, std::string());
      if (!own) {
        c->close();
        throw connection_error(
            make_error_code(error::not_connected),
            "kafka: group " + group + " gave this client no partition of " + t + " within " +
                std::to_string(opts.connect_timeout.count()) +
                " ms (more clients in the group than the topic has partitions?)");
      }
    }
  }

  // This client's partition of group topic `topic` (noted for request `id`, when given),
  // waiting while a rebalance has it away (up to connectTimeout: a group's rebalance takes
  // seconds); none if it did not come back.
  awaitable<std::optional<std::int32_t>> own_partition(connection& c, std::string topic,
                                                       std::string id) {
    if (auto p = c.own_partition(topic, id)) co_return p;
    const auto until = std::chrono::steady_clock::now() + opts.connect_timeout;
    const executor on = co_await asio::this_coro::executor;
    asio::steady_timer timer(on);
    while (std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::use_awaitable);
      if (auto p = c.own_partition(topic, id)) co_return p;
    }
    co_return std::nullopt;
  }

  // Reads reply topic `topic` from now on; completes with why it cannot, or empty.
  awaitable<std::string> read_replies(connection& c, std::string topic) {
    {
      std::lock_guard lock(c.mutex);
      if (c.reply_topics.count(topic)) co_return std::string();
    }
    std::string failed = co_await c.consumer->assign_end(topic, shared_reply_partition);
    if (failed.empty()) {
      std::lock_guard lock(c.mutex);
      c.reply_topics.insert(std::move(topic));
    }
    co_return failed;
  }

  // The record of one request or event: topic = the route, value = the data, headers = the
  // call's record's, then the call's own and its metadata's (strings as they are, other values
  // as JSON), each for names not given before.
  detail::record record_for(const outbound_message& m) const {
    const record* rec = m.record ? std::any_cast<record>(m.record) : nullptr;
    detail::record r;
    r.topic = m.route;
    r.value = detail::encode_value(m.data);
    if (rec) {
      r.key = rec->key;
      r.partition = rec->partition.value_or(-1);
      r.headers = rec->headers;
    }
    auto add = [&r](const std::string& k, const std::string& v) {
      if (!r.headers.contains(k)) r.headers.add(k, v);
    };
    if (m.headers) {
      for (const auto& [k, v] : *m.headers) add(k, v);
    }
    if (m.metadata) {
      for (const auto& [k, v] : roost::headers::from_metadata(*m.metadata)) add(k, v);
    }
    return r;
  }

  void close() {
    std::shared_ptr<connection> c;
    {
      std::lock_guard lock(mutex);
      c = std::move(conn);
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
  std::shared_ptr<connection> conn;
  roost::detail::single_flight<std::shared_ptr<connection>> flight;
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
  check_topic(m.route);
  auto c = impl_->current();
  if (!c) c = co_await impl_->connection_for_call();
  if (!c->consumer) {
    throw_invalid("the client is in producerOnlyMode: it reads no replies, so it can only emit");
  }
  const std::string reply_topic = m.route + ".reply";
  std::int32_t reply_partition = shared_reply_partition;
  std::string failed;
  if (c->group_topics.count(reply_topic)) {
    auto own = co_await impl_->own_partition(*c, reply_topic, m.id);
    if (!own) {
      throw connection_error(make_error_code(error::not_connected),
                             "kafka: the client group gives this client no partition of " +
                                 reply_topic + " (a rebalance that did not end, or more clients " +
                                 "in the group than the topic has partitions)");
    }
    reply_partition = *own;
  } else {
    failed = co_await impl_->read_replies(*c, reply_topic);
    if (!failed.empty()) {
      throw connection_error(
          make_error_code(error::not_connected),
          "kafka: the client cannot read the reply topic " + reply_topic + ": " + failed);
    }
  }
  detail::record r = impl_->record_for(m);
  r.headers.set(detail::correlation_id_header, m.id);
  r.headers.set(detail::reply_topic_header, reply_topic);
  r.headers.set(detail::reply_partition_header, std::to_string(reply_partition));
  // A request the broker did not take fails its call, as its last reply would.
  failed = c->producer->produce(r, [replies = c->replies, id = m.id](const std::string& why) {
    if (why.empty()) return;
    inbound_reply reply;
    reply.id = json::string(id);
    reply.err = json::string("kafka: the request was not delivered: " + why);
    reply.disposed = true;
    replies->push(std::move(reply));
  });
  if (!failed.empty()) {
    if (failed == "the producer is closed") throw_closed();
    throw connection_error(make_error_code(error::connection_lost), "kafka: " + failed);
  }
}

awaitable<void> client::send_event(const outbound_message& m) {
  check_topic(m.route);
  auto c = impl_->current();
  if (!c) c = co_await impl_->connection_for_call();
  detail::record r = impl_->record_for(m);
  // Completes when the broker has the event (NestJS's emit resolves with producer.send).
  std::string failed = co_await detail::completion([&c, &r](auto done) {
    std::string refused = c->producer->produce(r, done);
    if (!refused.empty()) done(std::move(refused));
  });
  if (!failed.empty()) {
    if (failed == "the producer is closed") throw_closed();
    throw connection_error(make_error_code(error::connection_lost), "kafka: " + failed);
  }
}

void client::end_request(const outbound_message& m) noexcept {
  if (auto c = impl_->current(); c && c->group_consumer) {
    std::lock_guard lock(c->mutex);
    c->own.ended(m.id);
  }
}

void client::close() {
  impl_->close();
}

}  // namespace roost::kafka
