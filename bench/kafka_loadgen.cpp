// The Kafka benchmark's load generator (bench/kafka.sh), on librdkafka directly, one thread, so
// that neither roost's client nor NestJS's is what is measured. Records are written as NestJS's
// ClientKafka writes them (the value alone, the `kafka_*` headers of a request).
//
// Each run first asks the server once (and waits up to --probe-seconds, 60 by default, for it to
// answer: it may still be joining its group), then measures.
//
// - `--mode send` (the default) keeps K requests `sum [1,2,3]` in flight (or --pattern with
//   --data, answered by --expect): each a record on topic `sum` with `kafka_correlationId`
//   (`<slot>.<id>`), `kafka_replyTopic` `sum.reply` and `kafka_replyPartition` 0; the replies
//   are read from partition 0 of `sum.reply`, from its end as of the start. Each reply sends the
//   next request of its slot. Every reply is checked, warm-up included: its correlation id must
//   name a request in flight, it must carry no `kafka_nest-err` and its value must be the
//   expected number (Kafka's scalars travel as text). An error, a wrong value, a stray reply or
//   a request not answered 2 s after the end fails the run (exit 1).
//
// - `--mode emit` sends events to topic `tally` (the value `1`) as fast as the server counts
//   them, at most K ahead of its count: the count is the server's, asked for all along with the
//   request `tally.count` (one at a time), whose reply is the number of `tally` events the server
//   handled since it started. The events counted between the first count answered in the
//   measured window and the last one are the run's (`requests`, `rps`; the latencies are those
//   of the count requests). After the end the server must count every event sent, exactly
//   (5 s at most): one missing or counted twice fails the run.
//
//   kafka_loadgen --brokers 127.0.0.1:9092 [--mode send|emit] [--inflight K] [--seconds S]
//                 [--warmup W] [--pattern P --data D --expect X] [--probe-seconds S]

#include "load_run.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using bench::clock_type;

namespace {

struct options : bench::load_options {
  std::string brokers = "127.0.0.1:9092", mode = "send";
  double probe_seconds = 60;
};

void set(rd_kafka_conf_t* c, const char* k, const std::string& v) {
  char err[256];
  if (rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka_loadgen: %s: %s\n", k, err);
    std::exit(2);
  }
}

std::string_view header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* h = nullptr;
  const void* v = nullptr;
  std::size_t size = 0;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  if (rd_kafka_header_get_last(h, name, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !v) return {};
  return {static_cast<const char*>(v), size};
}

std::optional<double> number(std::string_view text) {
  double v = 0;
  if (text.empty() || std::from_chars(text.data(), text.data() + text.size(), v).ec != std::errc())
    return std::nullopt;
  return v;
}

// A producer and a consumer of one reply topic's partition 0, read from its end as of now.
class connection {
 public:
  connection(const options& o, const std::string& reply_topic) {
    char err[256];
    rd_kafka_conf_t* pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", o.brokers);
    set(pc, "linger.ms", "1");
    set(pc, "log_level", "3");
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    rd_kafka_conf_t* cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", o.brokers);
    std::random_device rd;
    set(cc, "group.id", "kafka-loadgen-" + std::to_string(rd()));  // never joined
    set(cc, "fetch.wait.max.ms", "10");
    set(cc, "log_level", "3");
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!producer_ || !consumer_) {
      std::fprintf(stderr, "kafka_loadgen: %s\n", err);
      std::exit(1);
    }
    std::int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    // The cluster creates the topic on first use: its first lookups may find no leader yet.
    for (int i = 0; i < 100; ++i) {
      e = rd_kafka_query_watermark_offsets(consumer_, reply_topic.c_str(), 0, &low, &high, 5000);
      if (!e) break;
      rd_kafka_poll(producer_, 50);
    }
    if (e) {
      std::fprintf(stderr, "kafka_loadgen: cannot read %s: %s\n", reply_topic.c_str(),
                   rd_kafka_err2str(e));
      std::exit(1);
    }
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, reply_topic.c_str(), 0)->offset = high;
    rd_kafka_assign(consumer_, l);
    rd_kafka_topic_partition_list_destroy(l);
  }
  ~connection() {
    rd_kafka_flush(producer_, 2000);
    rd_kafka_destroy(producer_);
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }

  // Queues a record; false when librdkafka refuses it (its queue full: poll, then again).
  bool produce(const std::string& topic, std::string_view value, rd_kafka_headers_t* h) {
    void* bytes = const_cast<char*>(value.data());
    const std::size_t size = value.size();
    const auto e =
        h ? rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(bytes, size), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END)
          : rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(bytes, size), RD_KAFKA_V_END);
    if (e) {
      if (h) rd_kafka_headers_destroy(h);
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "kafka_loadgen: produce failed: %s\n", rd_kafka_err2str(e));
        std::exit(1);
      }
      return false;
    }
    return true;
  }
  // A request record's headers.
  static rd_kafka_headers_t* request_headers(const std::string& id, const std::string& reply) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(3);
    rd_kafka_header_add(h, "kafka_correlationId", -1, id.data(), static_cast<ssize_t>(id.size()));
    rd_kafka_header_add(h, "kafka_replyTopic", -1, reply.data(),
                        static_cast<ssize_t>(reply.size()));
    rd_kafka_header_add(h, "kafka_replyPartition", -1, "0", 1);
    return h;
  }
  void poll_producer() { rd_kafka_poll(producer_, 0); }
  // Asks `pattern` once and waits up to `seconds` for the answer: the server is in its group and
  // serving (a server may say it is ready before its group has given it its partitions).
  // Returns the reply's value, or nullopt.
  std::optional<std::string> probe(const std::string& pattern, const std::string& reply_topic,
                                   std::string_view data, double seconds) {
    while (!produce(pattern, data, request_headers("probe", reply_topic))) poll_producer();
    const auto until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                               std::chrono::duration<double>(seconds));
    while (clock_type::now() < until) {
      rd_kafka_message_t* m = next(50);
      if (!m) continue;
      std::optional<std::string> out;
      if (header(m, "kafka_correlationId") == "probe" && m->payload) {
        out.emplace(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_message_destroy(m);
      if (out) return out;
    }
    std::fprintf(stderr, "kafka_loadgen: %s was not answered within %.1f s\n", pattern.c_str(),
                 seconds);
    return std::nullopt;
  }
  // The next reply record, or nullptr after `ms` without one. The caller destroys it.
  rd_kafka_message_t* next(int ms) {
    rd_kafka_poll(producer_, 0);
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, ms);
    if (m && m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "kafka_loadgen: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      return nullptr;
    }
    return m;
  }

 private:
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_t* consumer_ = nullptr;
};

std::string_view value_of(const rd_kafka_message_t* m) {
  return m->payload ? std::string_view(static_cast<const char*>(m->payload), m->len)
                    : std::string_view();
}

int generate_requests(const options& o) {
  const std::string reply_topic = o.pattern + ".reply";
  connection c(o, reply_topic);
  const auto slots = static_cast<std::size_t>(o.inflight);
  std::vector<clock_type::time_point> sent(slots);
  std::vector<std::uint64_t> slot_id(slots, 0);
  if (!c.probe(o.pattern, reply_topic, o.data, o.probe_seconds)) return 1;
  bench::load_run run("kafka_loadgen");
  std::uint64_t next_id = 0;
  int outstanding = 0;
  auto issue = [&](std::size_t slot) {
    const auto id = ++next_id;
    const std::string cid = std::to_string(slot) + "." + std::to_string(id);
    slot_id[slot] = id;
    sent[slot] = clock_type::now();
    ++outstanding;
    while (!c.produce(o.pattern, o.data, connection::request_headers(cid, reply_topic))) {
      c.poll_producer();
    }
  };
  run.start(o);
  const auto drain_until = run.stop() + std::chrono::seconds(2);
  for (std::size_t k = 0; k < slots; ++k) issue(k);
  while (outstanding > 0 && clock_type::now() < drain_until) {
    rd_kafka_message_t* m = c.next(50);
    if (!m) continue;
    const auto now = clock_type::now();
    const std::string_view cid = header(m, "kafka_correlationId");
    const std::string_view value = value_of(m);
    const auto dot = cid.find('.');
    std::size_t slot = slots;
    std::uint64_t id = 0;
    if (dot != std::string_view::npos) {
      slot = std::strtoull(std::string(cid.substr(0, dot)).c_str(), nullptr, 10);
      id = std::strtoull(std::string(cid.substr(dot + 1)).c_str(), nullptr, 10);
    }
    if (slot >= slots || slot_id[slot] == 0 || slot_id[slot] != id) {
      run.failed.not_in_flight(cid);
    } else {
      slot_id[slot] = 0;
      --outstanding;
      bench::reply r;
      r.error = !header(m, "kafka_nest-err").empty();
      const auto v = number(value);
      r.has_value = v.has_value();
      r.value = v.value_or(0);
      if (run.failed.check(r, o.expect, r.error ? header(m, "kafka_nest-err") : value)) {
        run.served(sent[slot], now);
      }
      if (run.running(now)) issue(slot);
    }
    rd_kafka_message_destroy(m);
  }
  run.failed.lost = static_cast<std::uint64_t>(std::max(0, outstanding));
  return run.finish(o, 1, 0);
}

int generate_events(const options& o) {
  const std::string count_pattern = o.pattern + ".count", reply_topic = count_pattern + ".reply";
  connection c(o, reply_topic);
  if (!c.probe(count_pattern, reply_topic, "0", o.probe_seconds)) return 1;
  bench::load_run run("kafka_loadgen");
  const auto window = static_cast<std::uint64_t>(o.inflight);
  std::uint64_t asked = 0, produced = 0;
  std::optional<std::uint64_t> base, counted;  // the server's count before, and the latest
  clock_type::time_point asked_at;
  bool asking = false;
  // The counts answered within the measured window: the first and the last, with their times.
  std::optional<std::pair<clock_type::time_point, std::uint64_t>> first, last;
  auto ask = [&] {
    const std::string cid = "count." + std::to_string(++asked);
    asked_at = clock_type::now();
    asking = true;
    while (!c.produce(count_pattern, "0", connection::request_headers(cid, reply_topic))) {
      c.poll_producer();
    }
  };
  run.start(o);
  const auto measure_from = run.stop() - std::chrono::duration_cast<clock_type::duration>(
                                             std::chrono::duration<double>(o.seconds));
  const auto drain_until = run.stop() + std::chrono::seconds(5);
  ask();
  for (;;) {
    const auto now = clock_type::now();
    if (base && run.running(now)) {
      // Events up to K ahead of the server's latest count.
      while (produced - (*counted - *base) < window && c.produce(o.pattern, "1", nullptr)) {
        ++produced;
      }
    }
    if (!run.running(now) && base && *counted - *base >= produced) break;
    if (now >= drain_until) break;
    rd_kafka_message_t* m = c.next(base && run.running(now) ? 1 : 50);
    if (!m) continue;
    const auto at = clock_type::now();
    const std::string_view cid = header(m, "kafka_correlationId");
    const auto v = number(value_of(m));
    if (!asking || cid != "count." + std::to_string(asked)) {
      run.failed.not_in_flight(cid);
    } else if (!header(m, "kafka_nest-err").empty() || !v) {
      ++run.failed.errors;
      run.failed.complain("a bad count reply", value_of(m));
      rd_kafka_message_destroy(m);
      break;
    } else {
      asking = false;
      const auto n = static_cast<std::uint64_t>(*v);
      if (!base) base = n;
      if (counted && n < *counted) {
        ++run.failed.wrong;
        run.failed.complain("a count that went back", value_of(m));
      }
      counted = n;
      if (asked_at >= measure_from && at < run.stop()) {
        if (!first) first.emplace(at, n);
        last.emplace(at, n);
        run.served(asked_at, at, true);  // a count request's latency
      }
      ask();
    }
    rd_kafka_message_destroy(m);
  }
  if (!base) {
    run.failed.lost = 1;
    return run.finish(o, 1, 0);
  }
  const std::uint64_t handled = *counted - *base;
  if (handled < produced) run.failed.lost = produced - handled;
  if (handled > produced) {
    run.failed.unknown = handled - produced;
    run.failed.complain("events counted more than sent", std::to_string(handled));
  }
  // The events counted in the window, over the time between the two counts.
  std::uint64_t events = 0;
  double seconds = o.seconds;
  if (first && last && last->first > first->first) {
    events = last->second - first->second;
    seconds = std::chrono::duration<double>(last->first - first->first).count();
  }
  std::printf(
      "{\"mode\":\"emit\",\"inflight\":%d,\"connections\":1,\"seconds\":%.2f,\"requests\":%llu,",
      o.inflight, seconds, static_cast<unsigned long long>(events));
  run.failed.print_fields();
  std::printf(
      "\"failed_connections\":0,\"rps\":%.0f,\"sent\":%llu,\"p50_us\":0,\"p99_us\":0,"
      "\"p999_us\":0}\n",
      seconds > 0 ? static_cast<double>(events) / seconds : 0.0,
      static_cast<unsigned long long>(produced));
  std::fflush(stdout);
  return run.failed.verdict(events);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  const auto own = [&](const std::string& k, const std::string& v) {
    if (k == "--brokers")
      o.brokers = v;
    else if (k == "--mode")
      o.mode = v;
    else if (k == "--probe-seconds")
      o.probe_seconds = std::stod(v);
    else
      return false;
    return true;
  };
  if (!bench::read_command_line(argc, argv, "kafka_loadgen", o, own)) return 2;
  o.inflight = std::max(1, o.inflight);
  if (o.mode == "send") return generate_requests(o);
  if (o.mode == "emit") {
    if (o.pattern == "sum") o.pattern = "tally";
    return generate_events(o);
  }
  std::fprintf(stderr, "kafka_loadgen: --mode send or emit\n");
  return 2;
}
