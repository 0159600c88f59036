#include "broker_tap.hpp"

#include <roost/detail/json_writer.hpp>
#include <roost/packet.hpp>

#include <csignal>
#include <ctime>
#include <iostream>

namespace roost::cli {

namespace {

std::string key_of(const std::string& reply_to, const json::value& id) {
  return reply_to + '\n' + detail::to_json(id);
}

std::string excerpt(std::string_view text) {
  constexpr std::size_t most = 60;
  std::string head(text.substr(0, most));
  if (text.size() > most) head += "...";
  return detail::to_json(json::string(head));
}

}  // namespace

void reply_matcher::inbound(std::string_view text, const std::string& channel,
                            const std::string& reply_to, json::object headers) {
  auto p = decode_inbound(text);
  std::lock_guard lock(mutex_);
  if (!p) {
    note("a message on " + channel + " that is not a NestJS packet (" + p.error().message() +
         "): " + excerpt(text));
    return;
  }
  exchange x;
  x.channel = channel;
  x.pattern = std::move(p->pattern);
  x.data = std::move(p->data);
  x.metadata = std::move(p->metadata);
  if (!headers.empty()) {
    if (!x.metadata) x.metadata.emplace();
    for (auto& [k, v] : headers) x.metadata->insert_or_assign(k, std::move(v));
  }
  x.id = std::move(p->id);
  x.reply_to = reply_to;
  x.wall = std::chrono::system_clock::now();
  x.sent = std::chrono::steady_clock::now();
  if (x.is_event() || reply_to.empty()) {
    // A packet with an id but nowhere to reply to is an event to its server too.
    x.id.reset();
    x.answered = true;
    x.done = x.sent;
    if (h_.on_sent) h_.on_sent(x);
    if (h_.on_done) h_.on_done(std::move(x));
    return;
  }
  auto key = key_of(reply_to, *x.id);
  if (pending_.contains(key)) {
    note("a request on " + channel + " reused the id " + detail::to_json(*x.id) +
         " of a request still pending");
  } else {
    ++waiting_[reply_to];
  }
  if (h_.on_sent) h_.on_sent(x);
  pending_.insert_or_assign(std::move(key), std::move(x));
}

bool reply_matcher::reply(std::string_view text, const std::string& reply_to) {
  std::lock_guard lock(mutex_);
  const auto w = waiting_.find(reply_to);
  if (w == waiting_.end()) return false;
  auto r = decode_reply(text);
  if (!r) {
    note("a message on " + reply_to + " that is not a NestJS reply (" + r.error().message() +
         "): " + excerpt(text));
    return true;
  }
  auto it = pending_.find(key_of(reply_to, r->id));
  if (it == pending_.end()) return false;  // another request's, not seen
  auto& x = it->second;
  const auto now = std::chrono::steady_clock::now();
  if (x.replies.empty() && !x.error) x.first_reply = now;
  if (r->response) x.replies.push_back(std::move(*r->response));
  if (r->err) x.error = std::move(*r->err);
  if (!r->err && !r->disposed) return true;
  x.answered = true;
  x.done = now;
  if (h_.on_done) h_.on_done(std::move(x));
  pending_.erase(it);
  if (--w->second == 0) waiting_.erase(w);
  return true;
}

void reply_matcher::stop() {
  std::lock_guard lock(mutex_);
  for (auto& [key, x] : pending_) {
    x.done = std::chrono::steady_clock::now();
    if (h_.on_done) h_.on_done(std::move(x));
  }
  pending_.clear();
  waiting_.clear();
}

namespace {

std::string scheme_of(const std::string& url) {
  const auto end = url.find("://");
  return end == std::string::npos ? std::string() : url.substr(0, end);
}

}  // namespace

std::string broker_source_refused(const std::string& url) {
  const auto scheme = scheme_of(url);
#ifdef ROOST_CLI_RECORD_NATS
  if (scheme == "nats") return {};
#endif
#ifdef ROOST_CLI_RECORD_REDIS
  if (scheme == "redis") return {};
#endif
#ifdef ROOST_CLI_RECORD_MQTT
  if (scheme == "mqtt") return {};
#endif
  if (scheme == "amqp" || scheme == "amqps") {
    return "--from cannot listen beside a service on RabbitMQ: its callers send to the "
           "service's queue, where another consumer would take messages away from the service, "
           "and it answers on each caller's reply queue (direct reply-to), which no one else "
           "can read; record it on TCP instead (docs/migrating.md), got " +
           url;
  }
  if (scheme == "kafka") {
    return "--from does not listen on Kafka yet (a consumer group of its own would see the "
           "request and .reply topics), got " +
           url;
  }
  return "--from takes nats://, redis:// or mqtt:// (on TCP: --listen and the service), got " + url;
}

void bad_broker_url(const char* broker, const std::string& url, const std::string& why) {
  std::cerr << "error: bad " << broker << " URL " << url << ": " << why << "\n";
}

int run_broker_tap(const broker_source& from, reply_matcher& m, const std::string& who) {
  const auto scheme = scheme_of(from.url);
#ifdef ROOST_CLI_RECORD_NATS
  if (scheme == "nats") return tap_nats(from, m, who);
#endif
#ifdef ROOST_CLI_RECORD_REDIS
  if (scheme == "redis") return tap_redis(from, m, who);
#endif
#ifdef ROOST_CLI_RECORD_MQTT
  if (scheme == "mqtt") return tap_mqtt(from, m, who);
#endif
  std::cerr << "error: " << broker_source_refused(from.url) << "\n";
  return 2;
}

int run_record_broker(const broker_record_options& o) {
  if (auto why = broker_source_refused(o.from.url); !why.empty()) {
    std::cerr << "error: " << why << "\n";
    return 2;
  }
  recording_out out(o.out);
  if (!out.ok()) return 2;
  block_stop_signals();  // before the client libraries start their threads
  tap_handlers h;
  h.on_done = [&out](exchange&& x) { out.done(x); };
  h.on_note = [&out](const std::string& what) { out.note(what); };
  reply_matcher matcher(std::move(h));
  const int rc = run_broker_tap(o.from, matcher, "roost record");
  out.summary();
  if (rc != 0) return rc;
  return out.ok() ? 0 : 4;
}

namespace {
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_stop_signals() {
  const auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void wait_for_stop(const std::atomic<bool>& ended) {
  const auto set = stop_signals();
  const timespec tick{0, 200'000'000};
  while (!ended.load()) {
    if (sigtimedwait(&set, nullptr, &tick) >= 0) return;
  }
}

}  // namespace roost::cli
