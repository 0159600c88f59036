// The RabbitMQ benchmark's raw AMQP programs (bench/rmq.sh), on rabbitmq-c, one connection and
// one thread each, so that neither roost's client nor NestJS's is what is measured:
//
// - the load generator keeps K requests `sum [1,2,3]` in flight on the queue for a fixed time,
//   (or --pattern with --data, answered by --expect) as a NestJS client sends them (the JSON packet
//   to the queue through the default exchange, `replyTo` direct reply-to, its id as
//   `correlationId`), and reports throughput and latency percentiles as JSON (the fields of
//   bench/loadgen). Each reply sends the next request of its slot. Every reply is checked, warm-up
//   included (bench/reply_check.hpp): its correlationId must name a request in flight, and its body
//   must be the expected response without an error. An error, a wrong value, a stray reply or a
//   request not answered 2 s after the end fails the run (exit 1).
//     rmq_loadgen --url amqp://guest:guest@127.0.0.1:5672/?queue=Q [--inflight K] [--seconds S]
//                 [--warmup W]
//
// - with --limit, the broker's ceiling for this traffic: a server that consumes the queue and
//   answers each request with the reply a NestJS server sends (the same bytes to the same
//   address) and does nothing else, not even read the request. It declares the queue as the
//   servers do (durable) and prints READY 0.
//     rmq_loadgen --limit --url amqp://...

#include "load_run.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using bench::clock_type;

namespace {

struct options : bench::load_options {
  std::string host = "127.0.0.1", user = "guest", password = "guest", queue;
  int port = 5672;
  bool limit = false;
};

// amqp://user:password@host:port/?queue=Q (the benchmark's URLs: no vhost, no escapes).
bool parse_url(const std::string& url, options& o) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  std::string rest = url.substr(scheme + 3);
  const auto q = rest.find("queue=");
  if (q == std::string::npos) return false;
  o.queue = rest.substr(q + 6, rest.find('&', q) - (q + 6));
  rest = rest.substr(0, rest.find_first_of("/?"));
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    o.user = auth.substr(0, auth.find(':'));
    if (auth.find(':') != std::string::npos) o.password = auth.substr(auth.find(':') + 1);
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    o.port = std::atoi(rest.c_str() + colon + 1);
    rest = rest.substr(0, colon);
  }
  o.host = rest;
  return !o.queue.empty() && !o.host.empty();
}

amqp_bytes_t bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
std::string_view text(const amqp_bytes_t& b) {
  return {static_cast<const char*>(b.bytes), b.len};
}

bool ok(amqp_connection_state_t c, const char* what) {
  const auto r = amqp_get_rpc_reply(c);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return true;
  std::fprintf(stderr, "rmq_loadgen: %s failed (%s)\n", what,
               r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ? amqp_error_string2(r.library_error)
                                                               : "the broker refused");
  return false;
}

amqp_connection_state_t connect(const options& o) {
  auto* c = amqp_new_connection();
  auto* sock = amqp_tcp_socket_new(c);
  if (!sock || amqp_socket_open(sock, o.host.c_str(), o.port) != AMQP_STATUS_OK) {
    std::fprintf(stderr, "rmq_loadgen: cannot connect to %s:%d\n", o.host.c_str(), o.port);
    return nullptr;
  }
  const auto login =
      amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, o.user.c_str(), o.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    std::fprintf(stderr, "rmq_loadgen: cannot log in\n");
    return nullptr;
  }
  amqp_channel_open(c, 1);
  return ok(c, "channel.open") ? c : nullptr;
}

volatile std::sig_atomic_t stopping = 0;

int serve_limit(amqp_connection_state_t c, const options& o) {
  amqp_queue_declare(c, 1, bytes(o.queue), 0, 1, 0, 0, amqp_empty_table);
  if (!ok(c, "queue.declare")) return 1;
  amqp_basic_consume(c, 1, bytes(o.queue), amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
  if (!ok(c, "basic.consume")) return 1;
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::printf("READY 0\n");
  std::fflush(stdout);
  static constexpr std::string_view reply = R"({"response":6,"isDisposed":true})";
  while (!stopping) {
    amqp_envelope_t e{};
    timeval wait{0, 200'000};
    const auto r = amqp_consume_message(c, &e, &wait, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        continue;
      std::fprintf(stderr, "rmq_loadgen: the connection failed\n");
      return 1;
    }
    const auto& in = e.message.properties;
    amqp_basic_properties_t p{};
    p._flags = AMQP_BASIC_CORRELATION_ID_FLAG;
    p.correlation_id = in.correlation_id;
    amqp_basic_publish(c, 1, amqp_empty_bytes, in.reply_to, 0, 0, &p, bytes(reply));
    amqp_destroy_envelope(&e);
    amqp_maybe_release_buffers(c);
  }
  return 0;
}

int generate_load(amqp_connection_state_t c, const options& o) {
  amqp_basic_consume(c, 1, amqp_cstring_bytes("amq.rabbitmq.reply-to"), amqp_empty_bytes, 0, 1, 0,
                     amqp_empty_table);
  if (!ok(c, "basic.consume of amq.rabbitmq.reply-to")) return 1;
  const auto slots = static_cast<std::size_t>(o.inflight);
  std::vector<clock_type::time_point> sent(slots);
  std::vector<std::uint64_t> slot_id(slots, 0);
  bench::load_run run("rmq_loadgen");
  std::uint64_t next_id = 0;
  int outstanding = 0;
  std::string body, correlation;
  // The correlationId is `<slot>.<id>`, the body's id `<id>`, as a NestJS client's are one id.
  auto issue = [&](std::size_t slot) {
    const auto id = ++next_id;
    body = "{\"pattern\":\"" + o.pattern + "\",\"data\":" + o.data + ",\"id\":\"" +
           std::to_string(id) + "\"}";
    correlation = std::to_string(slot) + "." + std::to_string(id);
    amqp_basic_properties_t p{};
    p._flags = AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
    p.reply_to = amqp_cstring_bytes("amq.rabbitmq.reply-to");
    p.correlation_id = bytes(correlation);
    slot_id[slot] = id;
    sent[slot] = clock_type::now();
    ++outstanding;
    return amqp_basic_publish(c, 1, amqp_empty_bytes, bytes(o.queue), 0, 0, &p, bytes(body)) ==
           AMQP_STATUS_OK;
  };
  run.start(o);
  const auto drain_until = run.stop() + std::chrono::seconds(2);
  for (std::size_t k = 0; k < slots; ++k) {
    if (!issue(k)) {
      std::fprintf(stderr, "rmq_loadgen: publish failed\n");
      return 1;
    }
  }
  while (outstanding > 0 && clock_type::now() < drain_until) {
    amqp_envelope_t e{};
    timeval wait{0, 100'000};
    const auto r = amqp_consume_message(c, &e, &wait, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        continue;
      std::fprintf(stderr, "rmq_loadgen: the connection failed\n");
      break;
    }
    const auto now = clock_type::now();
    const std::string_view payload = text(e.message.body);
    const std::string_view cid = (e.message.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
                                     ? text(e.message.properties.correlation_id)
                                     : std::string_view();
    const auto dot = cid.find('.');
    std::size_t slot = slots;
    std::uint64_t id = 0;
    if (dot != std::string_view::npos) {
      slot = std::strtoull(std::string(cid.substr(0, dot)).c_str(), nullptr, 10);
      id = std::strtoull(std::string(cid.substr(dot + 1)).c_str(), nullptr, 10);
    }
    if (slot >= slots || slot_id[slot] == 0 || slot_id[slot] != id) {
      run.failed.not_in_flight(payload);
    } else {
      slot_id[slot] = 0;
      --outstanding;
      if (run.failed.check(bench::read_reply(payload), o.expect, payload)) {
        run.served(sent[slot], now);
      }
      if (run.running(now) && !issue(slot)) {
        std::fprintf(stderr, "rmq_loadgen: publish failed\n");
        break;
      }
    }
    amqp_destroy_envelope(&e);
    amqp_maybe_release_buffers(c);
  }
  run.failed.lost = static_cast<std::uint64_t>(std::max(0, outstanding));
  return run.finish(o, 1, 0);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string url;
  const auto own = [&](const std::string& k, const std::string& v) {
    if (k == "--limit") return o.limit = true;
    if (k != "--url") return false;
    url = v;
    return true;
  };
  if (!bench::read_command_line(argc, argv, "rmq_loadgen", o, own, {"--limit"})) return 2;
  o.inflight = std::max(1, o.inflight);
  if (!parse_url(url, o)) {
    std::fprintf(stderr, "rmq_loadgen: --url amqp://user:password@host:port/?queue=Q\n");
    return 2;
  }
  auto* c = connect(o);
  if (!c) return 1;
  const int rc = o.limit ? serve_limit(c, o) : generate_load(c, o);
  amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
  return rc;
}
