#include <roost/kafka/server.hpp>

#include "offsets.hpp"
#include "rdkafka.hpp"

#include <roost/detail/thread_bridge.hpp>
#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/kafka/context.hpp>
#include <roost/kafka/detail/record.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <mutex>
#include <optional>

namespace roost::kafka {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "kafka server";

// Sends the replies of one request to its reply topic and partition, as NestJS's ServerKafka.
// Queuing for the producer never waits; a record that is not delivered is logged.
class topic_reply_sink final : public immediate_reply_sink {
 public:
  topic_reply_sink(std::shared_ptr<detail::producer> p, std::shared_ptr<const detail::record> r,
                   std::string topic, std::optional<std::int32_t> partition, const logger& log)
      : producer_(std::move(p)),
        request_(std::move(r)),
        topic_(std::move(topic)),
        partition_(partition.value_or(-1)),
        log_(log) {}

  void send_now(reply_packet reply, const json::value&) override {
    const std::string* id = request_->headers.get(detail::correlation_id_header);
    if (!id || topic_.empty()) return;  // not a request: nowhere to answer
    detail::record out = detail::encode_reply(reply, *id);
    out.topic = topic_;
    out.partition = partition_;
    const std::string refused = producer_->produce(out);
    if (!refused.empty()) log_.error(source, "cannot send a reply to " + topic_ + ": " + refused);
  }

 private:
  std::shared_ptr<detail::producer> producer_;
  std::shared_ptr<const detail::record> request_;
  std::string topic_;
  std::int32_t partition_;
  const logger& log_;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o) : opts(std::move(o)) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    std::vector<std::string> topics;
    for (const auto* e : d.routes().entries()) {
      if (detail::valid_topic(e->route)) {
        topics.push_back(e->route);
      } else {
        opts.log.warn(source,
                      "route " + e->route + " is no Kafka topic name: its handler is not served");
      }
    }
    producer = std::make_shared<detail::producer>(opts);
    if (topics.empty()) {
      opts.log.warn(source, "no handler has a route that is a topic name: nothing to read");
      co_return;
    }
    std::weak_ptr<impl> weak = weak_from_this();
    bridge = roost::detail::thread_bridge<detail::record>::make(
        ex, [weak](std::vector<detail::record>& batch) {
          if (auto s = weak.lock()) s->serve_batch(batch);
        });
    // These run on the consumer's thread: they hand over, and take no reference to the server.
    detail::consumer_events events;
    events.received = [b = bridge](detail::record r) { b->push(std::move(r)); };
    events.assigned = [weak, ex = ex](const std::vector<detail::partition_ref>& parts) {
      asio::post(ex, [weak, parts] {
        if (auto s = weak.lock()) s->reassigned(parts);
      });
    };
    // Offsets are stored once settled (offset_tracker) and committed every autoCommitInterval,
    // and when the server leaves the group.
    std::vector<std::pair<std::string, std::string>> extra{
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"},
        {"auto.commit.interval.ms", std::to_string(opts.auto_commit_interval.count())}};
    const std::string group = opts.group_id + opts.postfix_id;
    consumer = std::make_shared<detail::consumer>(opts, group, opts.from_beginning,
                                                  std::move(extra), std::move(events));
    consumer->subscribe(topics);
    // Ready once the group assigned this member its partitions (maybe none of some topics,
    // when other members of the group have them).
    asio::steady_timer timer(ex);
    const auto until = std::chrono::steady_clock::now() + opts.connect_timeout;
    while (!assigned_once.load() && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (!assigned_once.load()) {
      throw connection_error(make_error_code(error::not_connected),
                             "kafka: group " + group + " assigned no partitions within " +
                                 std::to_string(opts.connect_timeout.count()) + " ms");
    }
    opts.log.info(source,
                  "group " + group + " reads " + std::to_string(topics.size()) + " topic(s)");
  }

  // The group's assignment changed: what was tracked of partitions taken away is forgotten
  // (their records' offsets can no longer be committed by this member).
  void reassigned(const std::vector<detail::partition_ref>& parts) {
    {
      std::lock_guard lock(mutex);
      tracker.forget_all();
    }
    assigned_once = true;
    opts.log.info(source, "assigned " + std::to_string(parts.size()) + " partition(s)");
  }

  // A record as it arrived: its context (with its settlement) and, for a request, its sink.
  struct record_origin {
    std::shared_ptr<impl> server;
    std::shared_ptr<const detail::record> rec;
    std::string reply_topic;
    std::optional<std::int32_t> reply_partition;
    std::uint32_t arrivals;

    kafka::context make_context(json::value pattern, std::optional<json::object>) {
      acknowledgement ack;
      ack.policy = server->opts.ack;
      ack.settle = [weak = std::weak_ptr<impl>(server), rec = rec,
                    arrivals = arrivals](settlement s) {
        if (auto srv = weak.lock()) srv->settle(*rec, arrivals, s);
      };
      message_info m{rec->topic, rec->partition, rec->offset, rec->key, rec->timestamp};
      return kafka::context(std::move(pattern), rec->headers, std::move(m), std::move(ack));
    }
    topic_reply_sink make_sink() {
      return topic_reply_sink(server->producer, rec, reply_topic, reply_partition,
                              server->opts.log);
    }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  void serve_batch(std::vector<detail::record>& batch) {
    for (auto& r : batch) serve_record(r);
  }

  void serve_record(detail::record& r) {
    std::uint32_t arrivals = 0;
    {
      std::lock_guard lock(mutex);
      arrivals = tracker.received(r.topic, r.partition, r.offset);
    }
    if (r.value && gauge.too_large(r.value->size())) [[unlikely]] {
      opts.log.error(source, "a record of " + std::to_string(r.value->size()) + " bytes on " +
                                 r.topic + " is over maxMessageSize; skipped");
      commit(r);
      return;
    }
    auto in = detail::decode_inbound(r);
    auto rec = std::make_shared<const detail::record>(std::move(r));
    record_origin origin{shared_from_this(), std::move(rec), std::move(in.reply_topic),
                         in.reply_partition, arrivals};
    disp->serve(ex, in.packet, std::move(origin));
  }

  // Carries out a record's settlement: its offset counts as done (committed once those before
  // it are), or it is read again.
  void settle(const detail::record& r, std::uint32_t arrivals, settlement s) {
    switch (s) {
      case settlement::ack:
      case settlement::drop:
        break;
      case settlement::redeliver:
        if (arrivals <= opts.max_redeliveries) {
          opts.log.warn(source, "the handler of " + r.topic + " offset " +
                                    std::to_string(r.offset) + " failed; reading it again");
          consumer->seek({r.topic, r.partition}, r.offset);
          return;
        }
        opts.log.error(source, "the handler of " + r.topic + " offset " + std::to_string(r.offset) +
                                   " failed " + std::to_string(arrivals) + " times; skipped");
        break;
      case settlement::dead_letter:
        opts.log.error(source, "the handler of " + r.topic + " offset " + std::to_string(r.offset) +
                                   " failed and there is no dead-letter topic yet; skipped");
        break;
    }
    commit(r);
  }

  void commit(const detail::record& r) {
    std::optional<std::int64_t> next;
    {
      std::lock_guard lock(mutex);
      next = tracker.settled(r.topic, r.partition, r.offset);
    }
    if (next && consumer) consumer->store_offset({r.topic, r.partition}, *next);
  }

  void stop_accepting() {
    if (consumer) consumer->stop_polling();
  }

  void close() {
    if (consumer) consumer->close();
    if (producer) producer->close();
  }

  server_options opts;
  roost::detail::flight_gauge gauge{opts.serving};
  std::optional<dispatcher> disp;
  executor ex;
  std::shared_ptr<detail::producer> producer;
  std::shared_ptr<detail::consumer> consumer;
  std::shared_ptr<roost::detail::thread_bridge<detail::record>> bridge;
  std::atomic<bool> assigned_once{false};
  std::mutex mutex;
  detail::offset_tracker tracker;  // with mutex
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
void server::close() {
  impl_->close();
}

}  // namespace roost::kafka
