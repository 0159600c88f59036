#include "rdkafka.hpp"

#include <roost/errors.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>

namespace roost::kafka::detail {
namespace {

constexpr std::string_view source = "kafka";

[[noreturn]] void fail(const std::string& why) {
  throw connection_error(make_error_code(error::not_connected), "kafka: " + why);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out.append(out.empty() ? "" : ",").append(i);
  return out;
}

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    fail("setting " + name + ": " + err);
  }
}

// librdkafka's log lines go to the handle's logger: levels 0-3 are
// errors, 4 warnings, the rest debugging. Called from librdkafka's threads; the logger is
// thread-safe.
void log_line(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const auto* target = static_cast<const callback_target*>(rd_kafka_opaque(rk));
  if (!target || !target->log) return;
  const logger* log = target->log;
  const std::string line = std::string(fac) + ": " + buf;
  if (level <= 3) {
    log->error(source, line);
  } else if (level == 4) {
    log->warn(source, line);
  } else {
    log->debug(source, line);
  }
}

// How long a blocking call to the brokers (offsets, watermarks) may take.
int blocking_ms(const connection_options& o) {
  return static_cast<int>(std::min<std::int64_t>(o.connect_timeout.count(), 10'000));
}

record copy_of(const rd_kafka_message_t& m) {
  record r;
  r.topic = rd_kafka_topic_name(m.rkt);
  r.partition = m.partition;
  r.offset = m.offset;
  if (m.key) r.key.emplace(static_cast<const char*>(m.key), m.key_len);
  if (m.payload) r.value.emplace(static_cast<const char*>(m.payload), m.len);
  rd_kafka_timestamp_type_t type;
  r.timestamp = rd_kafka_message_timestamp(&m, &type);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.add(name, value ? std::string(static_cast<const char*>(value), size) : "");
    }
  }
  return r;
}

}  // namespace

rd_kafka_conf_t* make_conf(const connection_options& o,
                           const std::vector<std::pair<std::string, std::string>>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", joined(o.brokers));
  set(conf, "client.id", o.client_id + o.postfix_id);
  set(conf, "socket.connection.setup.timeout.ms", std::to_string(o.connect_timeout.count()));
  for (const auto& [k, v] : extra) set(conf, k, v);
  for (const auto& [k, v] : o.rdkafka) set(conf, k, v);
  rd_kafka_conf_set_log_cb(conf, log_line);
  return conf;
}

// ---- producer

producer::producer(const connection_options& o) : log_(o.log) {
  rd_kafka_conf_t* conf = make_conf(o, {{"linger.ms", "1"}});
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &target_);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    fail(std::string("cannot make a producer: ") + err);
  }
  thread_ = std::thread([this] {
    while (!closing_.load()) {
      tasks_.run_all(rk_);
      rd_kafka_poll(rk_, 100);
    }
  });
}

awaitable<std::string> producer::check_brokers(std::chrono::milliseconds timeout) {
  return completion([this, timeout](auto done) {
    std::shared_lock lock(close_mutex_);
    if (!rk_ || closing_.load()) return done("the producer is closed");
    tasks_.push([done, timeout](rd_kafka_t* rk) {
      if (!rk) return done("the producer is closed");
      const struct rd_kafka_metadata* md = nullptr;
      const rd_kafka_resp_err_t err =
          rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(timeout.count()));
      if (md) rd_kafka_metadata_destroy(md);
      done(err ? std::string("no broker answered: ") + rd_kafka_err2str(err) : std::string());
    });
    rd_kafka_queue_t* main = rd_kafka_queue_get_main(rk_);
    rd_kafka_queue_yield(main);  // wakes a poll in progress
    rd_kafka_queue_destroy(main);
  });
}

producer::~producer() {
  close(std::chrono::milliseconds(0));
}

void producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* done = static_cast<delivery_handler*>(m->_private);
  if (!done) {
    // Nobody waits for it (a server's reply): a failure is logged.
    if (m->err) {
      static_cast<callback_target*>(opaque)->log->error(
          source, "a record to " + std::string(rd_kafka_topic_name(m->rkt)) +
                      " was not delivered: " + rd_kafka_err2str(m->err));
    }
    return;
  }
  (*done)(m->err ? std::string(rd_kafka_err2str(m->err)) : std::string());
  delete done;
}

std::string producer::produce(const record& r, delivery_handler done) {
  std::shared_lock lock(close_mutex_);
  if (!rk_ || closing_.load()) return "the producer is closed";
  rd_kafka_headers_t* hdrs = nullptr;
  if (!r.headers.empty()) {
    hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [k, v] : r.headers) {
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
  }
  auto* opaque = done ? new delivery_handler(std::move(done)) : nullptr;
  // The macros cast their arguments: plain variables, not expressions.
  void* value = r.value ? const_cast<char*>(r.value->data()) : nullptr;
  const std::size_t value_size = r.value ? r.value->size() : 0;
  const void* key = r.key ? r.key->data() : nullptr;
  const std::size_t key_size = r.key ? r.key->size() : 0;
  const std::int32_t partition = r.partition < 0 ? RD_KAFKA_PARTITION_UA : r.partition;
  const rd_kafka_resp_err_t err =
      rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(r.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_KEY(key, key_size),
                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);  // owned by librdkafka only on success
    delete opaque;
    return rd_kafka_err2str(err);
  }
  return {};
}

void producer::close(std::chrono::milliseconds timeout) {
  std::unique_lock lock(close_mutex_);
  if (!rk_) return;
  rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  closing_ = true;
  thread_.join();
  tasks_.run_all(nullptr);
  // What was not delivered fails now (each handler is called once), then the handle goes.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

// ---- consumer

consumer::consumer(const connection_options& o, std::string group, bool from_beginning,
                   std::vector<std::pair<std::string, std::string>> extra, consumer_events events)
    : opts_(o),
      group_(!group.empty()),
      from_beginning_(from_beginning),
      events_(std::move(events)) {
  if (group.empty()) {
    // Assigned by hand: librdkafka still wants a group id, which no join ever uses.
    group = o.group_id + o.postfix_id;
    extra.emplace_back("enable.auto.commit", "false");
  }
  extra.emplace_back("group.id", group);
  extra.emplace_back("session.timeout.ms", std::to_string(o.session_timeout.count()));
  extra.emplace_back("heartbeat.interval.ms", std::to_string(o.heartbeat_interval.count()));
  extra.emplace_back("fetch.wait.max.ms", std::to_string(o.max_wait_time.count()));
  extra.emplace_back("allow.auto.create.topics", "true");  // as kafkajs's allowAutoTopicCreation
  extra.emplace_back("enable.partition.eof", "false");
  rd_kafka_conf_t* conf = make_conf(o, extra);
  rd_kafka_conf_set_opaque(conf, &target_);
  if (group_) rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    fail(std::string("cannot make a consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);
}

consumer::~consumer() {
  close();
}

void consumer::subscribe(std::vector<std::string> topics) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(list, t.c_str(), -1);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) fail(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
  start();
}

void consumer::start() {
  thread_ = std::thread([this] { run(); });
}

void consumer::post(task t) {
  tasks_.push(std::move(t));
  rd_kafka_queue_yield(queue_);  // wakes a poll in progress
}

void consumer::run() {
  while (!stop_.load()) {
    tasks_.run_all(rk_);
    if (!polling_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        opts_.log.warn(source, std::string("consumer: ") + rd_kafka_message_errstr(m));
      }
    } else if (events_.received) {
      events_.received(copy_of(*m));
    }
    rd_kafka_message_destroy(m);
  }
}

awaitable<std::string> consumer::assign_end(std::string topic, std::int32_t p) {
  return completion([this, topic = std::move(topic), p](auto done) {
    post([this, topic, p, done](rd_kafka_t* rk) {
      if (!rk) return done("the consumer is closed");
      const partition_ref ref{topic, p};
      if (assigned_.count(ref)) return done("");
      // The end as of now, read synchronously: a record produced after this is never skipped,
      // as it could be if the consumer looked the end up later by itself. On a cluster that
      // creates topics on first use, the first attempts may find no leader yet.
      const auto until = std::chrono::steady_clock::now() + opts_.connect_timeout;
      std::int64_t low = 0, high = 0;
      rd_kafka_resp_err_t err;
      for (;;) {
        err =
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, blocking_ms(opts_));
        if (!err || std::chrono::steady_clock::now() >= until || stop_.load()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (err) return done("cannot read topic " + topic + ": " + rd_kafka_err2str(err));
      rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = high;
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, list);
      rd_kafka_topic_partition_list_destroy(list);
      if (e) {
        std::string why = rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
        return done("cannot read topic " + topic + ": " + why);
      }
      assigned_.insert(ref);
      done("");
    });
  });
}

void consumer::seek(partition_ref p, std::int64_t offset) {
  post([this, p = std::move(p), offset](rd_kafka_t* rk) {
    if (!rk) return;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = offset;
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, list, blocking_ms(opts_))) {
      opts_.log.warn(source, "cannot read " + p.topic + " again: " + rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(list);
  });
}

void consumer::store_offset(const partition_ref& p, std::int64_t offset) {
  std::lock_guard lock(close_mutex_);
  if (closed_) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = offset;
  // A partition taken away meanwhile is refused: its next owner reads the record again.
  (void)rd_kafka_offsets_store(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
}

void consumer::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t* parts, void*) {
  static_cast<callback_target*>(rd_kafka_opaque(rk))->owner->rebalanced(err, parts);
}

void consumer::rebalanced(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk_)) == "COOPERATIVE";
  std::vector<partition_ref> now;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Where each partition starts, settled now: the group's committed offset, else its first
    // record (fromBeginning) or its end as of this assignment, so that a record produced once
    // the server is ready is read even when the consumer has not fetched yet.
    const int wait = blocking_ms(opts_);
    if (rd_kafka_committed(rk_, parts, wait) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < parts->cnt; ++i) parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    }
    for (int i = 0; i < parts->cnt; ++i) {
      auto& e = parts->elems[i];
      if (e.offset >= 0) continue;
      std::int64_t low = 0, high = 0;
      if (from_beginning_) {
        e.offset = RD_KAFKA_OFFSET_BEGINNING;
      } else if (rd_kafka_query_watermark_offsets(rk_, e.topic, e.partition, &low, &high, wait) ==
                 RD_KAFKA_RESP_ERR_NO_ERROR) {
        e.offset = high;
      } else {
        e.offset = RD_KAFKA_OFFSET_END;
      }
    }
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_assign(rk_, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk_, parts);
    }
    if (events_.rebalanced) events_.rebalanced(true);
  } else {
    if (events_.rebalanced) events_.rebalanced(false);
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_unassign(rk_, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk_, nullptr);
    }
  }
  // What the member holds now (a cooperative rebalance gives and takes only some partitions).
  rd_kafka_topic_partition_list_t* held = nullptr;
  if (rd_kafka_assignment(rk_, &held) == RD_KAFKA_RESP_ERR_NO_ERROR && held) {
    for (int i = 0; i < held->cnt; ++i) {
      now.push_back({held->elems[i].topic, held->elems[i].partition});
    }
  }
  if (held) rd_kafka_topic_partition_list_destroy(held);
  if (events_.assigned) events_.assigned(now);
}

void consumer::stop_polling() {
  polling_ = false;
  rd_kafka_queue_yield(queue_);
}

void consumer::close() {
  {
    std::lock_guard lock(close_mutex_);
    if (closed_) return;
    closed_ = true;
    stop_ = true;
    rd_kafka_queue_yield(queue_);
    if (thread_.joinable()) thread_.join();
    tasks_.run_all(nullptr);  // each waiting caller learns it is closed
    // Leaves the group, committing the offsets stored (auto commit), then goes.
    rd_kafka_consumer_close(rk_);
    rd_kafka_queue_destroy(queue_);
    rd_kafka_destroy(rk_);
  }
}

}  // namespace roost::kafka::detail
