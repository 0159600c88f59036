// Load generator for NestJS-NATS-protocol servers: keeps K requests in flight through a NATS
// broker for a fixed time and reports throughput and latency percentiles as JSON (the same
// fields as bench/loadgen). Written on nats.c directly, so neither roost's client nor NestJS's
// is measured: one wildcard reply subscription, request k of the K in flight replies to
// `<inbox>.<k>`, and each reply sends the next request of its slot.
//   nats_loadgen --url nats://127.0.0.1:4222 [--inflight K] [--seconds S] [--warmup W]
//                [--pattern sum] [--data '[1,2,3]']

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string url = "nats://127.0.0.1:4222";
  int inflight = 16;
  double seconds = 5, warmup = 1;
  std::string pattern = "sum", data = "[1,2,3]";
};

struct run_state {
  const options* opt = nullptr;
  natsConnection* nc = nullptr;
  std::string inbox;  // "<prefix>."
  clock_type::time_point measure_from, stop;
  // Touched only by the subscription's one delivery thread (and before it starts).
  std::vector<clock_type::time_point> sent;
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t completed = 0, errors = 0, next_id = 0;
  std::atomic<int> outstanding{0};
  // nats.c holds writes up to 1 ms to batch them; this thread writes as soon as asked
  // (natsConnection_FlushTimeout writes the buffer, then waits one round trip), as roost does.
  std::mutex m;
  std::condition_variable cv;
  bool wanted = false, done = false;
  std::atomic<bool> pending{false};
  void kick() {
    if (pending.exchange(true)) return;
    {
      std::lock_guard lock(m);
      wanted = true;
    }
    cv.notify_one();
  }
  void flush_loop() {
    for (;;) {
      {
        std::unique_lock lock(m);
        cv.wait(lock, [this] { return wanted || done; });
        if (done) return;
        wanted = false;
      }
      pending = false;
      natsConnection_FlushTimeout(nc, 1000);
    }
  }
};

void issue(run_state& rs, int slot) {
  const std::string body = "{\"pattern\":\"" + rs.opt->pattern + "\",\"data\":" + rs.opt->data +
                           ",\"id\":\"" + std::to_string(++rs.next_id) + "\"}";
  const std::string reply = rs.inbox + std::to_string(slot);
  rs.sent[slot] = clock_type::now();
  ++rs.outstanding;
  natsConnection_PublishRequest(rs.nc, rs.opt->pattern.c_str(), reply.c_str(), body.data(),
                                static_cast<int>(body.size()));
  rs.kick();
}

void on_reply(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
  auto& rs = *static_cast<run_state*>(closure);
  const auto now = clock_type::now();
  const std::string_view subject = natsMsg_GetSubject(m);
  const std::string_view data(natsMsg_GetData(m),
                              static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  const int slot = std::stoi(std::string(subject.substr(rs.inbox.size())));
  const auto sent = rs.sent[slot];
  if (sent >= rs.measure_from && now < rs.stop) {
    if (data.empty() || data.find("\"err\"") != std::string_view::npos) ++rs.errors;
    ++rs.completed;
    rs.latencies_us.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count()));
  }
  natsMsg_Destroy(m);
  --rs.outstanding;
  if (now < rs.stop) issue(rs, slot);
}

double pct(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p / 100.0 * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      o.url = v;
    else if (k == "--inflight")
      o.inflight = std::stoi(v);
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--warmup")
      o.warmup = std::stod(v);
    else if (k == "--pattern")
      o.pattern = v;
    else if (k == "--data")
      o.data = v;
    else {
      std::fprintf(stderr, "nats_loadgen: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  run_state rs;
  rs.opt = &o;
  rs.sent.resize(static_cast<std::size_t>(o.inflight));
  natsOptions* nopts = nullptr;
  natsOptions_Create(&nopts);
  natsOptions_SetURL(nopts, o.url.c_str());
  const natsStatus cs = natsConnection_Connect(&rs.nc, nopts);
  natsOptions_Destroy(nopts);
  if (cs != NATS_OK) {
    std::fprintf(stderr, "nats_loadgen: cannot connect to %s\n", o.url.c_str());
    return 1;
  }
  natsInbox* inbox = nullptr;
  natsInbox_Create(&inbox);
  rs.inbox = std::string(inbox) + ".";
  natsInbox_Destroy(inbox);
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(&sub, rs.nc, (rs.inbox + "*").c_str(), on_reply, &rs);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(rs.nc);
  std::thread flusher([&rs] { rs.flush_loop(); });
  const auto start = clock_type::now();
  rs.measure_from = start + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(o.warmup));
  rs.stop = rs.measure_from + std::chrono::duration_cast<clock_type::duration>(
                                  std::chrono::duration<double>(o.seconds));
  // The first K requests go out before the delivery thread can touch the state.
  for (int k = 0; k < o.inflight; ++k) issue(rs, k);
  natsConnection_Flush(rs.nc);
  std::this_thread::sleep_until(rs.stop);
  // Let the last replies land (they are not counted), then stop the delivery.
  for (int i = 0; i < 200 && rs.outstanding.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    std::lock_guard lock(rs.m);
    rs.done = true;
  }
  rs.cv.notify_one();
  flusher.join();
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(rs.nc);
  const double rate = rs.completed / o.seconds;
  auto& l = rs.latencies_us;
  std::printf(
      "{\"inflight\":%d,\"connections\":1,\"seconds\":%.1f,\"requests\":%llu,"
      "\"errors\":%llu,\"failed_connections\":0,\"rps\":%.0f,\"p50_us\":%.0f,"
      "\"p99_us\":%.0f,\"p999_us\":%.0f}\n",
      o.inflight, o.seconds, static_cast<unsigned long long>(rs.completed),
      static_cast<unsigned long long>(rs.errors), rate, pct(l, 50), pct(l, 99), pct(l, 99.9));
  return 0;
}
