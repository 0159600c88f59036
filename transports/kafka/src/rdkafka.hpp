#pragma once
// librdkafka's handles, each with a thread of ours that serves it. librdkafka calls back only
// from inside rd_kafka_poll / rd_kafka_consumer_poll, which run on those threads; the callbacks
// must only hand over (post, push, log). No user code runs on them.

#include <roost/awaitable.hpp>
#include <roost/kafka/detail/record.hpp>
#include <roost/kafka/options.hpp>

#include <librdkafka/rdkafka.h>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace roost::kafka::detail {

/// librdkafka's configuration for `o`: brokers, client id, the consumer timing, then the
/// options' `rdkafka` settings. `extra` come before those. Throws connection_error (with
/// librdkafka's reason) for a setting it refuses.
rd_kafka_conf_t* make_conf(const connection_options& o,
                           const std::vector<std::pair<std::string, std::string>>& extra);

class consumer;

/// What librdkafka's callbacks find through a handle's opaque.
struct callback_target {
  const logger* log = nullptr;
  consumer* owner = nullptr;  // a consumer's (its rebalances)
};

/// Called once with the outcome of a produced record: empty, or why it was not delivered.
using delivery_handler = std::function<void(const std::string& failed)>;

/// Work for a handle's thread, run between polls: a task gets the handle, or nullptr when the
/// handle closed before it ran (it must then report that it did not happen).
using task = std::function<void(rd_kafka_t*)>;

class task_queue {
 public:
  void push(task t) {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(t));
  }
  void run_all(rd_kafka_t* rk) {
    std::vector<task> now;
    {
      std::lock_guard lock(mutex_);
      now.swap(tasks_);
    }
    for (auto& t : now) t(rk);
  }

 private:
  std::mutex mutex_;
  std::vector<task> tasks_;
};

/// A producer and the thread that serves its delivery reports.
class producer {
 public:
  /// Throws connection_error when librdkafka refuses the configuration.
  explicit producer(const connection_options& o);
  ~producer();  // close()
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  /// Queues `r` (its topic; its partition, or any when -1; key, value, headers). `done`, when
  /// set, is called once on the producer's thread with the outcome. Returns why it was refused
  /// at once (a full queue, a closed producer), and does not call `done` then. Thread-safe.
  std::string produce(const record& r, delivery_handler done = {});

  /// Asks the brokers for their metadata: completes with why they did not answer in time, or
  /// empty. A producer connects lazily; this makes sure the brokers are there.
  awaitable<std::string> check_brokers(std::chrono::milliseconds timeout);

  /// Waits up to `timeout` for what is queued to be delivered, then stops the thread and
  /// destroys the handle; what is left fails. Idempotent.
  void close(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  logger log_;
  callback_target target_{&log_};
  task_queue tasks_;
  std::atomic<bool> closing_{false};
  std::shared_mutex close_mutex_;  // produce() shares it; close() takes it alone
  std::thread thread_;
};

/// A partition given to a consumer (or taken away).
struct partition_ref {
  std::string topic;
  std::int32_t partition = -1;
  friend auto operator<=>(const partition_ref&, const partition_ref&) = default;
};

/// Called on the consumer's thread: they must only hand over.
struct consumer_events {
  std::function<void(record)> received;
  /// All of a group consumer's partitions after a rebalance (none: all were taken away).
  std::function<void(const std::vector<partition_ref>&)> assigned;
  /// The group's rebalance: false when it takes partitions away (the member waits for the
  /// group to settle), true once it assigned the member its partitions. Before `assigned`.
  std::function<void(bool settled)> rebalanced;
};

/// A consumer: in a group (`group` not empty: subscribe()) or assigned its partitions by hand
/// (assign_end()), and the thread that polls it.
class consumer {
 public:
  /// `from_beginning`: where a group's partition without a committed offset starts.
  consumer(const connection_options& o, std::string group, bool from_beginning,
           std::vector<std::pair<std::string, std::string>> extra, consumer_events events);
  ~consumer();  // close()
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  /// Joins the group for `topics` and starts polling.
  void subscribe(std::vector<std::string> topics);
  /// Starts polling with no partitions (add them with assign_end()).
  void start();

  /// Adds partition `p` of `topic` from its current end: records produced after this completed
  /// are read. Completes with why it failed, or empty. Adding one already there does nothing.
  awaitable<std::string> assign_end(std::string topic, std::int32_t p);

  /// Reads `p` again from `offset` (a record whose handler failed). Thread-safe.
  void seek(partition_ref p, std::int64_t offset);
  /// Marks everything before `offset` of `p` as done: the group commits it. Thread-safe.
  void store_offset(const partition_ref& p, std::int64_t offset);

  /// Stops polling (no new records) but keeps the handle (stored offsets still commit).
  void stop_polling();
  /// Leaves the group (committing what is stored), stops the thread, destroys the handle.
  /// Idempotent; not from the consumer's thread.
  void close();

 private:
  void run();
  void post(task t);
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  void rebalanced(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);

  connection_options opts_;
  bool group_;
  bool from_beginning_;
  consumer_events events_;
  callback_target target_{&opts_.log, this};
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer queue, to wake a poll
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> polling_{true};
  task_queue tasks_;
  std::set<partition_ref> assigned_;  // the thread's alone (assigned by hand)
  std::mutex close_mutex_;
  bool closed_ = false;  // with close_mutex_
};

/// Runs `f` and completes with its result on the caller's executor: `start(done)` hands `done`
/// (callable once from any thread with the result) to whoever finishes the work.
template <class Start>
awaitable<std::string> completion(Start start) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::string)>(
      [start = std::move(start)](auto handler) mutable {
        auto ex = boost::asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start([h, ex](std::string result) {
          boost::asio::post(ex, boost::asio::append(std::move(*h), std::move(result)));
        });
      },
      boost::asio::use_awaitable);
}

}  // namespace roost::kafka::detail
