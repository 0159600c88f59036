#include <roost/kafka/server.hpp>

#include "offsets.hpp"
#include "partition_queues.hpp"
#include "rdkafka.hpp"

#include <roost/detail/thread_bridge.hpp>
#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/kafka/context.hpp>
#include <roost/kafka/detail/record.hpp>

#include <roost/detail/json_writer.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace roost::kafka {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "kafka server";

// One record being served: what its handler, its replies and its settlement tell each other.
struct record_flight {
  std::shared_ptr<const detail::record> rec;
  std::uint32_t arrivals = 0;            // 1 the first time it is read
  bool may_retry = false;                // arrivals within max_redeliveries
  std::optional<json::value> retriable;  // the error of a retriable_exception made for it
  bool answered = false;                 // a reply went out
  bool retry = false;                    // read it again (its error reply held back)
};

// Sends the replies of one request to its reply topic and partition, as NestJS's ServerKafka.
// Queuing for the producer never waits; a record that is not delivered is logged.
class topic_reply_sink final : public immediate_reply_sink {
 public:
  topic_reply_sink(std::shared_ptr<detail::producer> p, std::shared_ptr<record_flight> f,
                   std::string topic, std::optional<std::int32_t> partition, const logger& log)
      : producer_(std::move(p)),
        flight_(std::move(f)),
        topic_(std::move(topic)),
        partition_(partition.value_or(-1)),
        log_(log) {}

  void send_now(reply_packet reply, const json::value&) override {
    // A retriable failure before any value: the request is read again instead of answered
    // (NestJS's KafkaRetriableException), while retries are left.
    if (reply.type == reply_packet::kind::error && flight_->retriable && !flight_->answered &&
        flight_->may_retry) {
      flight_->retry = true;
      return;
    }
    flight_->answered = true;
    const std::string* id = flight_->rec->headers.get(detail::correlation_id_header);
    if (!id || topic_.empty()) return;  // not a request: nowhere to answer
    detail::record out = detail::encode_reply(reply, *id);
    out.topic = topic_;
    out.partition = partition_;
    const std::string refused = producer_->produce(out);
    if (!refused.empty()) log_.error(source, "cannot send a reply to " + topic_ + ": " + refused);
  }

 private:
  std::shared_ptr<detail::producer> producer_;
  std::shared_ptr<record_flight> flight_;
  std::string topic_;
  std::int32_t partition_;
  const logger& log_;
};

std::string where(const detail::record& r) {
  return r.topic + " partition " + std::to_string(r.partition) + " offset " +
         std::to_string(r.offset);
}

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
    if (!opts.dead_letter_topic.empty() && !detail::valid_topic(opts.dead_letter_topic)) {
      throw std::invalid_argument("kafka: the dead-letter topic " + opts.dead_letter_topic +
                                  " is no Kafka topic name");
    }
    producer = std::make_shared<detail::producer>(opts);
    if (topics.empty()) {
      opts.log.warn(source, "no handler has a route that is a topic name: nothing to read");
      *in_group = assigned_once = true;  // nothing to wait for
      co_return;
    }
    std::weak_ptr<impl> weak = weak_from_this();
    bridge = roost::detail::thread_bridge<detail::record>::make(
        ex, [weak](std::vector<detail::record>& batch) {
          if (auto s = weak.lock()) s->received(batch);
        });
    // These run on the consumer's thread: they hand over, and take no reference to the server.
    detail::consumer_events events;
    events.received = [b = bridge](detail::record r) { b->push(std::move(r)); };
    // In the group from an assignment to the next revocation; both come on the consumer's
    // thread, in order, so the flag is set there rather than in posted work.
    events.rebalanced = [flag = in_group](bool settled) { *flag = settled; };
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
      queues.clear();
    }
    assigned_once = true;
    opts.log.info(source, "assigned " + std::to_string(parts.size()) + " partition(s)");
  }

  // A partition's turn to serve a record: given back when the record was served (the origin
  // that holds it is gone: at once, or when the handler's coroutine ended).
  class turn {
   public:
    turn(std::shared_ptr<impl> s, detail::partition_queues::key k)
        : server_(std::move(s)), key_(std::move(k)) {}
    turn(turn&& o) noexcept = default;
    turn& operator=(turn&& o) noexcept {
      if (this != &o) {
        give_back();
        server_ = std::move(o.server_);
        key_ = std::move(o.key_);
      }
      return *this;
    }
    ~turn() { give_back(); }

   private:
    void give_back() {
      if (auto s = std::exchange(server_, nullptr)) s->turn_done(key_);
    }
    std::shared_ptr<impl> server_;
    detail::partition_queues::key key_;
  };

  // A record as it arrived: its context (with its settlement) and, for a request, its sink.
  struct record_origin {
    std::shared_ptr<impl> server;
    std::shared_ptr<record_flight> flight;
    std::string reply_topic;
    std::optional<std::int32_t> reply_partition;
    turn held;

    kafka::context make_context(json::value pattern, std::optional<json::object>) {
      acknowledgement ack;
      ack.policy = server->opts.ack;
      ack.settle = [weak = std::weak_ptr<impl>(server), f = flight](settlement s) {
        if (auto srv = weak.lock()) srv->settle(*f, s);
      };
      const detail::record& rec = *flight->rec;
      message_info m{rec.topic, rec.partition, rec.offset, rec.key, rec.timestamp};
      return kafka::context(std::move(pattern), rec.headers, std::move(m), std::move(ack),
                            [f = flight](const json::value& error) { f->retriable = error; });
    }
    topic_reply_sink make_sink() {
      return topic_reply_sink(server->producer, flight, reply_topic, reply_partition,
                              server->opts.log);
    }
    roost::detail::flight_gauge& gauge() { return server->gauge; }
  };

  // Records from the consumer's thread, in order: queued by partition, then served.
  void received(std::vector<detail::record>& batch) {
    {
      std::lock_guard lock(mutex);
      for (auto& r : batch) queues.push(std::move(r));
    }
    pump();
  }

  // Serves what the partitions' turns allow; a record served at once gives its turn back
  // within serve_record(), and the loop goes on (no recursion).
  void pump() {
    std::unique_lock lock(mutex);
    if (pumping || stopped) return;
    pumping = true;
    while (!stopped) {
      auto r = queues.next();
      if (!r) break;
      lock.unlock();
      serve_record(std::move(*r));
      lock.lock();
    }
    pumping = false;
  }

  void turn_done(const detail::partition_queues::key& k) {
    bool post = false;
    {
      std::lock_guard lock(mutex);
      queues.done(k);
      post = !pumping && !stopped && queues.waiting() > 0;
    }
    // Given back from the end of a handler's coroutine: the next records start from a fresh
    // call, not from inside that coroutine's frame.
    if (post) {
      asio::post(ex, [weak = weak_from_this()] {
        if (auto s = weak.lock()) s->pump();
      });
    }
  }

  void serve_record(detail::record r) {
    detail::partition_queues::key k{r.topic, r.partition};
    auto f = std::make_shared<record_flight>();
    {
      std::lock_guard lock(mutex);
      f->arrivals = tracker.received(r.topic, r.partition, r.offset);
    }
    f->may_retry = f->arrivals <= opts.max_redeliveries;
    if (r.value && gauge.too_large(r.value->size())) [[unlikely]] {
      refuse_too_large(std::move(r), std::move(f), std::move(k));
      return;
    }
    auto in = detail::decode_inbound(r, opts.keep_binary);
    f->rec = std::make_shared<const detail::record>(std::move(r));
    record_origin origin{shared_from_this(), std::move(f), std::move(in.reply_topic),
                         in.reply_partition, turn(shared_from_this(), std::move(k))};
    disp->serve(ex, in.packet, std::move(origin));
  }

  // A record over maxMessageSize, not decoded (its headers say what it is): a request is
  // answered with the error "Message too large", as on the other transports; an event is
  // dropped with a warning. Either is committed past.
  void refuse_too_large(detail::record r, std::shared_ptr<record_flight> f,
                        detail::partition_queues::key k) {
    const std::size_t size = r.value->size();
    r.value.reset();
    auto in = detail::decode_inbound(r, opts.keep_binary);
    f->rec = std::make_shared<const detail::record>(std::move(r));
    record_origin origin{shared_from_this(), std::move(f), std::move(in.reply_topic),
                         in.reply_partition, turn(shared_from_this(), std::move(k))};
    auto plan =
        disp->prepare_too_large(in.packet, {}, true, true, size, gauge.limits().max_message_size);
    auto ctx = origin.make_context(json::value(in.packet.pattern), std::nullopt);
    if (plan.request) {
      auto sink = origin.make_sink();
      disp->serve_now(plan, in.packet, ctx, &sink);
    } else {
      disp->serve_now(plan, in.packet, ctx, nullptr);
    }
  }

  // Carries out a record's settlement: its offset counts as done (committed once those before
  // it are), it is read again, or it is given up as poison.
  void settle(record_flight& f, settlement s) {
    const detail::record& r = *f.rec;
    // A retriable failure: a request's error reply was held back, an event failed.
    if (f.retriable && (f.retry || (s != settlement::ack && f.may_retry))) {
      opts.log.warn(source, "the handler of " + where(r) + " asks for a retry (" +
                                std::to_string(f.arrivals) + " read(s)); reading it again");
      read_again(r);
      return;
    }
    switch (s) {
      case settlement::ack:
      case settlement::drop:
        break;
      case settlement::redeliver:
        if (f.may_retry) {
          opts.log.warn(source, "the handler of " + where(r) + " failed; reading it again");
          read_again(r);
          return;
        }
        give_up(f);
        return;
      case settlement::dead_letter:
        give_up(f);
        return;
    }
    commit(r);
  }

  void read_again(const detail::record& r) {
    {
      std::lock_guard lock(mutex);
      queues.rewind({r.topic, r.partition}, r.offset);
    }
    consumer->seek({r.topic, r.partition}, r.offset);
  }

  // A poison record: to the dead-letter topic when there is one (committed once the broker
  // has it there), else committed past with an error logged.
  void give_up(const record_flight& f) {
    const detail::record& r = *f.rec;
    const std::string failed =
        "the handler of " + where(r) + " failed " + std::to_string(f.arrivals) + " time(s)";
    if (opts.dead_letter_topic.empty()) {
      opts.log.error(source, failed + "; skipped");
      commit(r);
      return;
    }
    detail::record dead;
    dead.topic = opts.dead_letter_topic;
    dead.key = r.key;
    dead.value = r.value;
    dead.headers = r.headers;
    dead.headers.set("kafka_dlt-topic", r.topic);
    dead.headers.set("kafka_dlt-partition", std::to_string(r.partition));
    dead.headers.set("kafka_dlt-offset", std::to_string(r.offset));
    dead.headers.set("kafka_dlt-attempts", std::to_string(f.arrivals));
    dead.headers.set("kafka_dlt-error", f.retriable ? roost::detail::to_json(*f.retriable)
                                                    : std::string("handler failed"));
    auto rec = f.rec;
    auto done = [weak = weak_from_this(), rec, ex = ex](const std::string& why) {
      asio::post(ex, [weak, rec, why] {
        auto s = weak.lock();
        if (!s) return;
        if (why.empty()) {
          s->commit(*rec);
          return;
        }
        s->opts.log.error(source, "cannot move " + where(*rec) + " to " +
                                      s->opts.dead_letter_topic + ": " + why +
                                      "; reading it again");
        s->read_again(*rec);
      });
    };
    opts.log.error(source, failed + "; moved to " + opts.dead_letter_topic);
    const std::string refused = producer->produce(dead, done);
    if (!refused.empty()) done(refused);
  }

  void commit(const detail::record& r) {
    std::optional<std::int64_t> next;
    {
      std::lock_guard lock(mutex);
      next = tracker.settled(r.topic, r.partition, r.offset);
    }
    if (next && consumer) consumer->store_offset({r.topic, r.partition}, *next);
  }

  // Records read and not started stay uncommitted: the partitions' next owner reads them.
  void stop_accepting() {
    accepting = false;
    {
      std::lock_guard lock(mutex);
      stopped = true;
    }
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
  // Assigned its partitions, no rebalance under way; shared with the consumer's thread, which
  // must not hold the server.
  std::shared_ptr<std::atomic<bool>> in_group = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> accepting{true};
  std::mutex mutex;
  detail::offset_tracker tracker;                                 // with mutex
  detail::partition_queues queues{opts.partitions_concurrently};  // with mutex
  bool pumping = false;                                           // with mutex
  bool stopped = false;                                           // with mutex
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
bool server::ready() const noexcept {
  return impl_->accepting && *impl_->in_group && impl_->assigned_once;
}

}  // namespace roost::kafka
