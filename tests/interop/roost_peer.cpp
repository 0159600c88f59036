// The roost side of the conformance suite: the handlers and client scenarios of SCENARIOS.md.
//   roost_peer serve --url tcp://127.0.0.1:0
//   roost_peer call --url tcp://127.0.0.1:PORT --scenario NAME[,NAME...] [--server-impl IMPL]

#include <roost/detail/json_writer.hpp>
#include <roost/roost.hpp>
#include <roost/tcp.hpp>
#include <roost/transports.hpp>
#ifdef ROOST_PEER_WITH_REDIS
#include <roost/redis/context.hpp>
#endif
#ifdef ROOST_PEER_WITH_AUTH
#include <roost/auth/jwt_guard.hpp>
#include <roost/auth/jwt_signer.hpp>
#endif
#ifdef ROOST_PEER_WITH_WS
#include <roost/ws.hpp>

#include <deque>
#endif
#ifdef ROOST_PEER_WITH_RMQ
#include <roost/rmq/context.hpp>
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

namespace json = roost::json;
using namespace std::chrono_literals;

namespace {

struct args {
  // server_impl: the server the harness started (roost, nest12, nest11), checked by `ctx`.
  std::string mode, url, scenario, server_impl;
  // serve --guards N: N synchronous guards that let everything through, at the microservice
  // scope (bench/instructions.sh measures what one costs).
  int guards = 0;
  // serve --trace 1: every message traced (spans made and dropped, no exporter), for
  // bench/instructions.sh to count what a span costs.
  bool trace = false;
};

int usage() {
  std::fputs(
      "usage: roost_peer serve --url URL [--guards N] [--trace 1] | call --url URL --scenario NAME "
      "[--server-impl NAME] | --print-config[=json]\n",
      stderr);
  return 2;
}

// The same patterns as the NestJS peer's: their routes depend on key sorting at every level.
json::value non_ascii_pattern() {
  return json::parse(R"({"日本":4,"z":2,"é":1,"e":3,"Ω":5})");
}
json::value nested_pattern() {
  return json::parse(
      R"({"cmd":"nested","opts":{"z":[1,{"b":2,"a":"x"}],"a":true,"m":{"y":1,"x":2}}})");
}

// 3 MiB of UTF-8 (524,288 × "ab😀"), the NestJS peer's HUGE_STRING.
json::value huge_string() {
  std::string s;
  s.reserve(3 * 1024 * 1024);
  for (int i = 0; i < 524'288; ++i) s += "ab😀";
  return json::string(s);
}

roost::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

// A count or a delay: a number, or over Kafka its text (NestJS's KafkaParser gives scalars as
// strings, and NestJS's handlers take either).
int int_of(const json::value& v) {
  if (v.is_int64()) return static_cast<int>(v.get_int64());
  if (v.is_double()) return static_cast<int>(v.get_double());
  if (v.is_string()) return std::atoi(v.get_string().c_str());
  throw roost::rpc_exception("expected a number, got " + json::serialize(v));
}

void add_handlers(roost::router& r, std::vector<json::value>& log, std::mutex& m) {
  r.message("sum", [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  r.message("echo", [](json::value v) { return v; });
  r.message(json::value{{"cmd", "sum"}, {"role", "math"}},
            [](std::vector<double> xs) { return std::reduce(xs.begin(), xs.end()); });
  json::object mixed;
  for (auto [k, v] :
       {std::pair{"Zeta", 1}, {"alpha", 2}, {"_u", 3}, {"-d", 4}, {"10", 5}, {"2", 6}}) {
    mixed[k] = v;
  }
  r.message(json::value(std::move(mixed)), [] { return std::string("mixed"); });
  r.message("count", [](json::value v) -> roost::stream<int> {
    const int n = int_of(v);
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message("count.slow", [](json::value v) -> roost::stream<int> {
    const int n = int_of(v);
    for (int i = 0; i < n; ++i) {
      if (i > 0) co_await sleep_for(50ms);
      co_yield i;
    }
  });
  r.message("count.then-wait", [](json::value v) -> roost::stream<int> {
    const int n = int_of(v);
    for (int i = 0; i < n; ++i) co_yield i;
    co_await sleep_for(20ms);  // the end then goes alone, as {"isDisposed":true}
  });
  r.message("count.then-fail", [](json::value v) -> roost::stream<int> {
    const int n = int_of(v);
    for (int i = 0; i < n; ++i) co_yield i;
    co_await sleep_for(20ms);
    throw roost::rpc_exception("stream broke");
  });
  r.message("nothing", [](json::value) {});
#ifdef ROOST_PEER_WITH_WS
  // The WebSocket gateway scenarios (nest/ws-peer.mjs): a push to the caller's own socket.
  r.message("whisper", [](json::value v, roost::context& ctx) {
    if (auto* w = ctx.as<roost::ws::context>()) w->peer().push("whispered", v);
    return std::string("sent");
  });
#endif
  r.message("nothing.async",
            [](json::value) -> roost::awaitable<void> { co_await sleep_for(5ms); });
  // NestJS's `throw 'text'` and a thrown plain object: not an rpc_exception, so internal errors.
  r.message("throw.string", [](json::value) -> int { throw std::string("text"); });
  r.message("throw.object", [](json::value) -> int {
    throw json::object{{"code", 7}, {"message", "plain object"}};
  });
  // NestJS's RpcException(42) is {"status":"error","message":42}.
  r.message("fail.number", [](json::value) -> int {
    throw roost::rpc_exception(json::object{{"status", "error"}, {"message", 42}});
  });
  r.message("fail.array", [](json::array a) -> int { throw roost::rpc_exception(std::move(a)); });
  // NestJS's RpcException(new Error('inner')): an Error has no enumerable property, so `{}`.
  r.message("fail.error", [](json::value) -> int { throw roost::rpc_exception(json::object{}); });
  r.event("record.multi", [&](int v) {
    std::lock_guard lock(m);
    log.emplace_back("a:" + std::to_string(v));
  });
  r.event("record.multi", [&](int v) {
    std::lock_guard lock(m);
    log.emplace_back("b:" + std::to_string(v));
  });
  r.message(non_ascii_pattern(), [] { return std::string("non-ascii"); });
  r.message(json::parse(R"({"Key":1})"), [] { return std::string("upper"); });
  r.message(json::parse(R"({"key":1})"), [] { return std::string("lower"); });
  r.message(json::parse(R"({"a":1,"A":2})"), [] { return std::string("both-cases"); });
  r.message(nested_pattern(), [] { return std::string("nested"); });
  r.message(42, [] { return std::string("numeric"); });
  r.message("slow", [](json::value v) -> roost::awaitable<int> {
    const int ms = int_of(v);
    co_await sleep_for(std::chrono::milliseconds(ms));
    co_return ms;
  });
  r.message("fail.rpc", [](std::string s) -> int { throw roost::rpc_exception(s); });
  r.message("fail.object", [](json::object o) -> int { throw roost::rpc_exception(o); });
  r.message("fail.internal", [](json::value) -> int { throw std::runtime_error("boom"); });
  r.event("record", [&](json::value v) {
    std::lock_guard lock(m);
    log.push_back(std::move(v));
  });
  r.message("records", [&](json::value) {
    std::lock_guard lock(m);
    json::array out(log.begin(), log.end());
    log.clear();
    return out;
  });
  // The `x-trace` header (NATS headers, or NestJS 12 packet metadata), null without one.
  r.message("headers", [](roost::context& ctx) {
    const json::value* v = ctx.metadata() ? ctx.metadata()->if_contains("x-trace") : nullptr;
    return v ? *v : json::value(nullptr);
  });
  r.message("ctx", [](roost::context& ctx) {
    json::object out{{"transport", ctx.transport()}, {"pattern", ctx.pattern()}, {"impl", "roost"}};
    // Only when some came: the scenarios send none, and a NestJS peer never reports it. Kafka's
    // own request headers (kafka_correlationId...) are the protocol's, not metadata sent.
    if (const json::object* md = ctx.metadata()) {
      json::object sent;
      for (const auto& [k, v] : *md) {
        if (!k.starts_with("kafka_")) sent[k] = v;
      }
      if (!sent.empty()) out["metadata"] = std::move(sent);
    }
    return out;
  });
}

// The channel a Redis message was published to (NestJS's getChannel()), a RabbitMQ message's
// routing key (`getMessage().fields.routingKey`); the route elsewhere.
std::string channel_of(roost::context& ctx) {
#ifdef ROOST_PEER_WITH_REDIS
  if (auto* redis = ctx.as<roost::redis::context>()) return redis->channel();
#endif
#ifdef ROOST_PEER_WITH_RMQ
  if (auto* rmq = ctx.as<roost::rmq::context>()) return rmq->message().routing_key;
#endif
  return ctx.route();
}

// What the second-configuration handlers count: requests and events this server took.
struct tally {
  std::atomic<int> served{0}, events{0};
};

// The handlers of the scenarios that need a server configuration of their own (SCENARIOS.md,
// "Second server configurations"); registered only under it, so the main suite is unchanged.
void add_config_handlers(roost::router& r, const roost::url& u, std::vector<json::value>& log,
                         std::mutex& m, tally& t) {
  if (u.param("wildcards") == "true") {
    // Subscribed as globs (PSUBSCRIBE): `orders.created` reaches `orders.*`.
    r.message("orders.*", [](json::value v, roost::context& ctx) {
      return json::object{{"impl", "roost"}, {"channel", channel_of(ctx)}, {"data", v}};
    });
    r.event("audit.*", [&](json::value v, roost::context& ctx) {
      std::lock_guard lock(m);
      log.emplace_back(channel_of(ctx) + ":" + json::serialize(v));
    });
  }
  const auto queue = u.param("queue");
  if (!queue || queue->empty()) return;
  // In the queue group (the URL's `queue`), on subjects of this run's group alone; `name` tells
  // the group's servers apart.
  const std::string name = u.param("name").value_or("roost");
  r.message(json::string(*queue + ".work"), [&t, name](json::value) {
    ++t.served;
    return json::object{{"impl", "roost"}, {"name", name}};
  });
  r.event(json::string(*queue + ".tally"), [&t](json::value) { ++t.events; });
  r.message(json::string(*queue + ".stats." + name), [&t](json::value) {
    return json::object{{"served", t.served.load()}, {"events", t.events.load()}};
  });
}

// The `jwt` scenario (SCENARIOS.md), as nest/jwt.mjs: what the tokens say, and where the
// harness (run-suite.sh) put the run's keys (make-jwt-keys.sh: issuer.key, issuer.pub,
// forger.key) and the guarded route, `jwt.whoami.<run>`, a route of this run alone.
constexpr std::string_view jwt_issuer = "roost-interop", jwt_audience = "interop",
                           jwt_subject = "ada";

std::string environment(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

#ifdef ROOST_PEER_WITH_AUTH
// The guarded route when the harness made keys: a jwt_guard trusting the issuer's public key
// (RS256, this issuer and audience); the handler answers the token's `sub`, which only the guard
// could have handed it. False (said on stderr) when the key cannot be read.
bool add_jwt_route(roost::router& r) {
  const std::string dir = environment("ROOST_INTEROP_JWT_KEYS");
  const std::string route = environment("ROOST_INTEROP_JWT_ROUTE");
  if (dir.empty() || route.empty()) return true;
  const auto file = std::filesystem::path(dir) / "issuer.pub";
  auto key = roost::auth::jwt_key::from_pem_file(file);
  if (!key) {
    std::fprintf(stderr, "roost_peer: %s: %s\n", file.c_str(), key.error().message().c_str());
    return false;
  }
  roost::auth::jwt_rules rules;
  rules.algorithms = {roost::auth::jwt_algorithm::rs256};
  rules.issuers = {std::string(jwt_issuer)};
  rules.audiences = {std::string(jwt_audience)};
  auto verifier = std::make_shared<const roost::auth::jwt_verifier>(std::move(rules), *key);
  r.message(json::string(route), [](roost::context& ctx) {
    return json::object{{"sub", roost::auth::jwt_claims(ctx)->at("sub")}, {"impl", "roost"}};
  });
  r.enhance(json::string(route)).use_guard(roost::auth::jwt_guard(std::move(verifier)));
  return true;
}
#else
bool add_jwt_route(roost::router&) {
  return true;  // the client's `jwt` scenario fails, saying why
}
#endif

// The gRPC scenarios' handlers (SCENARIOS.md, "gRPC"): interop.Math of grpc/roost_test.proto,
// served only over gRPC (an object pattern is no topic name for the other transports).
json::value grpc_method(std::string_view rpc) {
  return json::object{{"service", "Math"}, {"rpc", rpc}};
}

std::int64_t field_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->to_number<std::int64_t>() : 0;
}

roost::stream<json::value> grpc_range(std::int64_t count, std::int64_t fail_at, std::int64_t code) {
  for (std::int64_t i = 0; i < count; ++i) {
    if (fail_at > 0 && i == fail_at) {
      json::object err;
      err["code"] = code;
      err["message"] = "stopped at " + std::to_string(i);
      throw roost::rpc_exception(std::move(err));
    }
    json::object item;
    item["value"] = i;
    co_yield json::value(std::move(item));
  }
}

// {"value":v} for each of `values` (the requests of the streaming scenarios).
roost::stream<json::value> grpc_items(std::vector<std::int64_t> values) {
  for (auto v : values) {
    json::object item;
    item["value"] = v;
    co_yield json::value(std::move(item));
  }
}

void add_grpc_handlers(roost::router& r) {
  // Client streaming: the sum of the requests' values.
  r.message(grpc_method("Accumulate"),
            [](roost::stream<json::object> items) -> roost::awaitable<json::value> {
              std::int64_t total = 0;
              while (auto item = co_await items.next()) total += field_of(*item, "value");
              co_return json::value{{"total", total}};
            });
  // Bidirectional streaming: each request back as it comes.
  r.message(grpc_method("Echo"),
            [](roost::stream<json::value> items) -> roost::stream<json::value> {
              while (auto item = co_await items.next()) co_yield std::move(*item);
            });
  r.message(grpc_method("Sum"), [](json::object req) {
    std::int64_t total = 0;
    if (const auto* n = req.if_contains("numbers")) {
      for (const auto& x : n->as_array()) total += x.to_number<std::int64_t>();
    }
    return json::value{{"total", total}};
  });
  r.message(grpc_method("Range"), [](json::object req) {
    return grpc_range(field_of(req, "count"), field_of(req, "failAt"), field_of(req, "code"));
  });
  r.message(grpc_method("Fail"), [](json::object req) -> json::value {
    if (!req.contains("code")) throw std::runtime_error("not for the caller's eyes");
    if (field_of(req, "code") == 0) {
      throw roost::rpc_exception(std::string(req.at("message").as_string()));
    }
    throw roost::rpc_exception(
        json::object{{"code", req.at("code")}, {"message", req.at("message")}});
  });
  r.message(grpc_method("Whoami"), [](json::object req, roost::context& ctx) {
    const std::string* v = ctx.headers().get(req.at("name").as_string());
    return json::value{{"value", v ? *v : std::string("(none)")}};
  });
}

int serve(const args& a, const roost::config& cfg) {
  auto u = roost::url::parse(a.url);
  if (!u) return usage();
  auto transport = roost::make_server(*u);
  if (!transport) return usage();
  roost::router r;
  std::vector<json::value> log;
  std::mutex m;
  tally t;
  add_handlers(r, log, m);
  add_config_handlers(r, *u, log, m, t);
  if (u->scheme == "grpc") add_grpc_handlers(r);
  if (!add_jwt_route(r)) return 1;
  roost::microservice app{
      r, cfg.apply(roost::microservice_options{.threads = 1, .drain_timeout = 2s})};
  for (int i = 0; i < a.guards; ++i) {
    app.enhance().use_guard([](roost::context& ctx) { return !ctx.route().empty(); });
  }
  if (a.trace) app.dispatcher().observe(std::make_shared<roost::tracer>(nullptr));
  // READY is followed by the bound port for TCP and WebSocket (the URL may ask for port 0), 0
  // otherwise.
  auto* tcp = dynamic_cast<roost::tcp::server*>(transport->get());
  unsigned ws_port = 0;
#ifdef ROOST_PEER_WITH_WS
  auto* ws = dynamic_cast<roost::ws::server*>(transport->get());
#endif
  app.add_transport(std::move(*transport));
  app.on_ready([&] {
#ifdef ROOST_PEER_WITH_WS
    if (ws) ws_port = ws->port();
#endif
    std::printf("READY %u\n", tcp ? tcp->port() : ws_port);
    std::fflush(stdout);
  });
  return app.run();
}

// ---- client scenarios ----

struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string text(const json::value& v) {
  return json::serialize(v);
}

void expect(const json::value& got, const json::value& want, const std::string& what) {
  if (got != want) throw failure(what + ": expected " + text(want) + ", got " + text(got));
}

template <class F>
roost::awaitable<void> expect_rpc_error(F call, const json::value& want, const std::string& what) {
  std::optional<json::value> err;
  try {
    co_await call();
  } catch (const roost::rpc_error& e) {
    err = e.error();
  }
  if (!err) throw failure(what + ": expected an error, got a value");
  expect(*err, want, what);
}

// Reads a line from stdin without blocking the I/O thread, so the connection keeps noticing
// what the server does meanwhile (a restart closes it).
roost::awaitable<std::string> wait_line() {
  boost::asio::posix::stream_descriptor in(co_await boost::asio::this_coro::executor, ::dup(0));
  std::string line;
  co_await boost::asio::async_read_until(in, boost::asio::dynamic_buffer(line), '\n',
                                         boost::asio::use_awaitable);
  co_return line;
}

using scenario = std::function<roost::awaitable<void>(roost::client_proxy&)>;

// `impls` split at '+': the servers the harness started, in order ("roost+nest12").
std::vector<std::string> split_impls(const std::string& impls) {
  std::vector<std::string> out;
  for (std::size_t from = 0; from <= impls.size();) {
    const auto plus = std::min(impls.find('+', from), impls.size());
    out.push_back(impls.substr(from, plus - from));
    from = plus + 1;
  }
  return out;
}

// Each queue-group server's count `key` ("served" or "events") since it started, from its
// `<queue>.stats.<name>`: {"served":N,"events":N}.
roost::awaitable<std::vector<int>> group_counts(roost::client_proxy& c,
                                                std::vector<json::value> subjects,
                                                std::string key) {
  std::vector<int> out;
  for (const auto& subject : subjects) {
    auto st = co_await c.send(subject, 0);
    const json::value* v = st.is_object() ? st.as_object().if_contains(key) : nullptr;
    if (!v || !v->is_int64()) throw failure(text(subject) + ": expected counts, got " + text(st));
    out.push_back(static_cast<int>(v->as_int64()));
  }
  co_return out;
}

// The scenarios of a queue group of two servers (SCENARIOS.md): server i of `--server-impl`
// is named `<queue>-i`, serves `<queue>.work` and `<queue>.tally` in the group and tells its
// counts on `<queue>.stats.<name>`, a subject of its own.
void add_queue_scenarios(std::map<std::string, scenario>& s, const std::string& queue,
                         const std::string& server_impl) {
  constexpr int n = 40;
  struct group {
    std::vector<json::value> ids;    // what each server's `work` reply says
    std::vector<json::value> stats;  // each server's stats subject
  };
  auto make_group = [queue, server_impl] {
    const auto impls = split_impls(server_impl);
    if (queue.empty() || impls.size() != 2) {
      throw failure("needs a URL with ?queue= and two servers in --server-impl (a+b)");
    }
    group g;
    for (std::size_t i = 0; i < impls.size(); ++i) {
      const std::string name = queue + "-" + std::to_string(i + 1);
      g.ids.push_back(json::object{{"impl", impls[i]}, {"name", name}});
      g.stats.push_back(json::string(queue + ".stats." + name));
    }
    return g;
  };
  s["queue.requests"] = [queue, make_group](roost::client_proxy& c) -> roost::awaitable<void> {
    const group g = make_group();
    const json::value work = json::string(queue + ".work");
    const auto before = co_await group_counts(c, g.stats, "served");
    std::vector<int> answered(g.ids.size(), 0);
    for (int i = 0; i < n; ++i) {
      auto r = co_await c.send(work, i);
      const auto it = std::find(g.ids.begin(), g.ids.end(), r);
      if (it == g.ids.end()) throw failure("work: a reply from no server of the group: " + text(r));
      ++answered[it - g.ids.begin()];
    }
    const auto after = co_await group_counts(c, g.stats, "served");
    for (std::size_t k = 0; k < g.ids.size(); ++k) {
      // Served more than it answered: another member answered the same request too.
      const int served = after[k] - before[k];
      if (served != answered[k] || answered[k] == 0) {
        throw failure(text(g.ids[k]) + " answered " + std::to_string(answered[k]) + " and served " +
                      std::to_string(served) + " of " + std::to_string(n) +
                      " (each request once, by both servers)");
      }
    }
  };
  s["queue.events"] = [queue, make_group](roost::client_proxy& c) -> roost::awaitable<void> {
    const group g = make_group();
    const json::value tally = json::string(queue + ".tally");
    const auto before = co_await group_counts(c, g.stats, "events");
    for (int i = 0; i < n; ++i) co_await c.emit(tally, i);
    // Events have no reply: read the counts until all have landed (or 3 s), then once more so
    // that a copy delivered late to the other server shows.
    std::vector<int> got(g.ids.size(), 0);
    int total = 0;
    for (int pass = 0, waited = 0; pass < 2; waited += 50) {
      co_await sleep_for(total < n ? 50ms : 100ms);
      const auto now = co_await group_counts(c, g.stats, "events");
      total = 0;
      for (std::size_t k = 0; k < g.ids.size(); ++k) total += got[k] = now[k] - before[k];
      if (total >= n || waited >= 3000) ++pass;
    }
    if (total != n || std::count(got.begin(), got.end(), 0) != 0) {
      throw failure("tally x" + std::to_string(n) + ": the servers counted " +
                    std::to_string(got[0]) + " and " + std::to_string(got[1]) +
                    " (each event once, by both servers)");
    }
  };
}

#ifdef ROOST_PEER_WITH_AUTH
// The scenario's claims, as `overrides` changes them, signed RS256 with the private key in `file`.
std::string sign_token(const std::filesystem::path& file, const json::object& overrides) {
  auto key = roost::auth::jwt_key::from_pem_file(file);
  if (!key) throw failure(file.string() + ": " + key.error().message());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  json::object claims{{"sub", jwt_subject},
                      {"iss", jwt_issuer},
                      {"aud", jwt_audience},
                      {"iat", now},
                      {"exp", now + 300}};
  for (const auto& [k, v] : overrides) claims[k] = v;
  auto token = roost::auth::jwt_signer(*key, roost::auth::jwt_algorithm::rs256).sign(claims);
  if (!token) throw failure("signing a token: " + token.error().message());
  return *token;
}

// A bearer token as a roost client sends it: the `authorization` header of the call, which goes
// out as NestJS 12 packet metadata on TCP and Redis and as a NATS header. The server's guard lets
// only the valid token through, and its handler answers the token's `sub`.
void add_jwt_scenario(std::map<std::string, scenario>& s, const std::string& server_impl) {
  s["jwt"] = [server_impl](roost::client_proxy& c) -> roost::awaitable<void> {
    const std::string dir = environment("ROOST_INTEROP_JWT_KEYS");
    const std::string route = environment("ROOST_INTEROP_JWT_ROUTE");
    if (dir.empty() || route.empty()) {
      throw failure("jwt: no keys or route (ROOST_INTEROP_JWT_KEYS and _ROUTE, from run-suite.sh)");
    }
    const auto issuer = std::filesystem::path(dir) / "issuer.key";
    const auto forger = std::filesystem::path(dir) / "forger.key";
    const json::value pattern = json::string(route);
    auto whoami = [&c, &pattern](const std::string& token) {
      roost::call_options o;
      if (!token.empty()) o.headers.set("authorization", "Bearer " + token);
      return c.send(pattern, 0, std::move(o));
    };
    const std::string valid = sign_token(issuer, {});
    const json::value want = {{"sub", jwt_subject}, {"impl", server_impl}};
    auto got = co_await whoami(valid);
    expect(got, want, "a valid token");

    const json::value forbidden = {{"status", "error"}, {"message", "Forbidden resource"}};
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const json::object expired_claims{{"iat", now - 600}, {"exp", now - 300}};
    const json::object other_audience{{"aud", "not-" + std::string(jwt_audience)}};
    const std::string expired = sign_token(issuer, expired_claims);
    const std::string forged = sign_token(forger, {});
    const std::string misdirected = sign_token(issuer, other_audience);
    co_await expect_rpc_error([&] { return whoami(""); }, forbidden, "no token");
    co_await expect_rpc_error([&] { return whoami(expired); }, forbidden, "an expired token");
    co_await expect_rpc_error([&] { return whoami(forged); }, forbidden,
                              "a token signed by another key");
    co_await expect_rpc_error([&] { return whoami(misdirected); }, forbidden,
                              "a token for another audience");
  };
}
#else
void add_jwt_scenario(std::map<std::string, scenario>& s, const std::string&) {
  s["jwt"] = [](roost::client_proxy&) -> roost::awaitable<void> {
    throw failure("jwt: roost_peer was built without roost::auth (ROOST_WITH_AUTH=OFF)");
    co_return;
  };
}
#endif

// `transport`: the name the server's `ctx` handler reports ("tcp", "redis"...); `server_impl`:
// the server the harness started, which `ctx` reports back.
// Kafka carries scalars as their text (NestJS's KafkaParser JSON-parses only objects and
// arrays): what a client gets there for a number or boolean, one level into arrays.
json::value as_kafka_text(const json::value& v) {
  if (v.is_array()) {
    json::array out;
    for (const auto& e : v.as_array()) out.push_back(as_kafka_text(e));
    return out;
  }
  if (v.is_number() || v.is_bool()) return json::string(roost::detail::to_json(v));
  return v;
}

// Kafka: the events land on the partitions of `record` and the request on another topic, so
// neither their order nor their arrival before `records` is given: the log is read until all
// 100 came (or 10 s), and compared sorted. Each arrives as its text.
roost::awaitable<void> kafka_events(roost::client_proxy& c) {
  co_await c.send("records", 0);
  for (int i = 1; i <= 100; ++i) co_await c.emit("record", i);
  std::vector<int> got;
  for (int waited = 0; got.size() < 100 && waited < 10'000; waited += 100) {
    auto r = co_await c.send("records", 0);
    if (!r.is_array()) throw failure("records: not an array: " + text(r));
    for (const auto& v : r.as_array()) {
      if (!v.is_string()) throw failure("records: an entry is not text: " + text(r));
      got.push_back(std::atoi(v.get_string().c_str()));
    }
    if (got.size() < 100) co_await sleep_for(100ms);
  }
  std::sort(got.begin(), got.end());
  std::vector<int> want(100);
  std::iota(want.begin(), want.end(), 1);
  if (got != want)
    throw failure("records after 100 events: " + std::to_string(got.size()) + " entries");
}

// The gRPC scenarios (SCENARIOS.md, "gRPC"): the status of a failed call comes as grpc-js's
// error, `{"code","details","message"}`.
void add_grpc_scenarios(std::map<std::string, scenario>& s) {
  const auto status = [](int code, std::string details) {
    static constexpr const char* names[] = {"OK",
                                            "CANCELLED",
                                            "UNKNOWN",
                                            "INVALID_ARGUMENT",
                                            "DEADLINE_EXCEEDED",
                                            "NOT_FOUND",
                                            "ALREADY_EXISTS",
                                            "PERMISSION_DENIED",
                                            "RESOURCE_EXHAUSTED",
                                            "FAILED_PRECONDITION",
                                            "ABORTED",
                                            "OUT_OF_RANGE",
                                            "UNIMPLEMENTED"};
    return json::value{{"code", code},
                       {"details", details},
                       {"message", std::to_string(code) + " " + names[code] + ": " + details}};
  };
  s["grpc.sum"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value req = {{"numbers", {1, 2, 3}}}, none = {{"numbers", json::array{}}};
    auto r1 = co_await c.send(grpc_method("Sum"), req);
    expect(r1, {{"total", 6}}, "Sum [1,2,3]");
    auto r2 = co_await c.send(grpc_method("Sum"), none);
    expect(r2, {{"total", 0}}, "Sum []");
  };
  s["grpc.range"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    auto st = c.stream<json::value>(grpc_method("Range"), json::value{{"count", 4}});
    json::array got;
    while (auto v = co_await st.next()) got.push_back(*v);
    expect(got, json::parse(R"([{"value":0},{"value":1},{"value":2},{"value":3}])"), "Range 4");
  };
  s["grpc.stream-error"] = [status](roost::client_proxy& c) -> roost::awaitable<void> {
    auto st = c.stream<json::value>(grpc_method("Range"),
                                    json::value{{"count", 5}, {"failAt", 2}, {"code", 8}});
    json::array got;
    std::optional<json::value> err;
    try {
      while (auto v = co_await st.next()) got.push_back(*v);
    } catch (const roost::rpc_error& e) {
      err = e.error();
    }
    expect(got, json::parse(R"([{"value":0},{"value":1}])"), "Range failing at 2: values");
    if (!err) throw failure("Range failing at 2: the stream ended without an error");
    expect(*err, status(8, "stopped at 2"), "Range failing at 2: status");
  };
  s["grpc.error-code"] = [status](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value req = {{"code", 5}, {"message", "no such thing"}};
    co_await expect_rpc_error([&] { return c.send(grpc_method("Fail"), req); },
                              status(5, "no such thing"), "Fail 5");
  };
  s["grpc.error-text"] = [status](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value req = {{"code", 0}, {"message", "plain words"}};
    co_await expect_rpc_error([&] { return c.send(grpc_method("Fail"), req); },
                              status(2, "plain words"), "Fail text");
  };
  s["grpc.error-internal"] = [status](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value req = json::object{};
    co_await expect_rpc_error([&] { return c.send(grpc_method("Fail"), req); },
                              status(2, "Internal server error"), "Fail thrown");
  };
  s["grpc.unimplemented"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value req = {{"numbers", {1}}};
    std::optional<json::value> err;
    try {
      co_await c.send(grpc_method("Unhandled"), req);
    } catch (const roost::rpc_error& e) {
      err = e.error();
    }
    if (!err || !err->is_object() || err->as_object().if_contains("code") == nullptr ||
        err->at("code") != 12) {
      throw failure("Unhandled: expected status 12, got " + (err ? text(*err) : "a value"));
    }
  };
  s["grpc.client-stream"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    auto four = grpc_items({1, 2, 3, 4});
    auto r1 = co_await c.send(grpc_method("Accumulate"), std::move(four));
    expect(r1, {{"total", 10}}, "Accumulate 1..4");
    auto none = grpc_items({});
    auto r2 = co_await c.send(grpc_method("Accumulate"), std::move(none));
    expect(r2, {{"total", 0}}, "Accumulate nothing");
  };
  s["grpc.bidi"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    auto st = c.stream(grpc_method("Echo"), grpc_items({5, 6, 7}));
    json::array got;
    while (auto v = co_await st.next()) got.push_back(*v);
    expect(got, json::parse(R"([{"value":5},{"value":6},{"value":7}])"), "Echo 5, 6, 7");
  };
  s["grpc.metadata"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    roost::call_options o;
    o.headers.add("x-tenant", "blue");
    const json::value req = {{"name", "x-tenant"}};
    auto r = co_await c.send(grpc_method("Whoami"), req, o);
    expect(r, {{"value", "blue"}}, "Whoami x-tenant");
  };
}

std::map<std::string, scenario> scenarios(const std::string& transport,
                                          const std::string& server_impl,
                                          const std::string& queue) {
  std::map<std::string, scenario> s;
  const bool kafka = transport == "kafka";
  // What a client gets for `v`, on this transport.
  auto kv = [kafka](json::value v) { return kafka ? as_kafka_text(v) : v; };
  add_queue_scenarios(s, queue, server_impl);
  add_jwt_scenario(s, server_impl);
  add_grpc_scenarios(s);
  s["sum"] = [kv](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value a = json::array{1, 2, 3}, b = json::array{0.5, 0.25};
    auto r1 = co_await c.send("sum", a);
    expect(r1, kv(6), "sum [1,2,3]");
    auto r2 = co_await c.send("sum", b);
    expect(r2, kv(0.75), "sum [0.5,0.25]");
  };
  s["echo.strings"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value v = "héllo wörld 😀 𝄞 日本 \" \\ \n";
    auto r = co_await c.send("echo", v);
    expect(r, v, "echo string");
  };
  s["echo.nested"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value v = json::parse(R"({"a":{"b":[1,{"c":null}],"e":[]},"d":"x","n":-1.5e-7})");
    auto r = co_await c.send("echo", v);
    expect(r, v, "echo nested");
  };
  s["echo.large"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    // 262,144 × "é" then 131,072 × "😀": 1 MiB of UTF-8, 524,288 UTF-16 code units.
    std::string big;
    big.reserve(1024 * 1024);
    for (int i = 0; i < 262'144; ++i) big += "é";
    for (int i = 0; i < 131'072; ++i) big += "😀";
    const json::value v = json::string(big);
    auto r = co_await c.send("echo", v);
    expect(r, v, "echo 1 MiB");
  };
  s["echo.falsy"] = [kv](roost::client_proxy& c) -> roost::awaitable<void> {
    const std::vector<json::value> falsy{json::value(0), json::value(false), json::value("")};
    for (const json::value& v : falsy) {
      auto r = co_await c.send("echo", v);
      expect(r, kv(v), "echo " + text(v));
    }
  };
  s["echo.null"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    auto r = co_await c.send("echo", json::value(nullptr));
    expect(r, nullptr, "echo null");
  };
  s["object-pattern"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value p1 = {{"role", "math"}, {"cmd", "sum"}},
                      p2 = {{"cmd", "sum"}, {"role", "math"}};
    const json::value d1 = json::array{1, 2}, d2 = json::array{2, 3};
    auto r1 = co_await c.send(p1, d1);
    expect(r1, 3, "{role,cmd} sum");
    auto r2 = co_await c.send(p2, d2);
    expect(r2, 5, "{cmd,role} sum");
  };
  s["object-pattern.mixed-keys"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    json::object p;
    for (auto [k, v] :
         {std::pair{"2", 6}, {"10", 5}, {"-d", 4}, {"_u", 3}, {"alpha", 2}, {"Zeta", 1}}) {
      p[k] = v;
    }
    auto r = co_await c.send(json::value(std::move(p)), 0);
    expect(r, "mixed", "mixed-key pattern");
  };
  auto stream_of = [kv](int n) {
    return [n, kv](roost::client_proxy& c) -> roost::awaitable<void> {
      auto st = c.stream("count", n);
      auto values = co_await roost::collect(std::move(st));
      json::array want;
      for (int i = 0; i < n; ++i) want.push_back(i);
      expect(json::value(json::array(values.begin(), values.end())), kv(want),
             "count " + std::to_string(n));
    };
  };
  s["stream.0"] = stream_of(0);
  s["stream.1"] = stream_of(1);
  s["stream.1000"] = stream_of(1000);
  s["error.rpc"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value want = {{"status", "error"}, {"message", "bad thing"}};
    co_await expect_rpc_error([&] { return c.send("fail.rpc", json::value("bad thing")); }, want,
                              "fail.rpc");
  };
  s["error.object"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value o = {{"code", 42}, {"message", "obj err"}};
    co_await expect_rpc_error([&] { return c.send("fail.object", o); }, o, "fail.object");
  };
  s["error.internal"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value want = {{"status", "error"}, {"message", "Internal server error"}};
    co_await expect_rpc_error([&] { return c.send("fail.internal", 0); }, want, "fail.internal");
  };
  s["no-handler"] = [transport](roost::client_proxy& c) -> roost::awaitable<void> {
    // NATS: nobody subscribes to `nope`; the broker's "no responders" fails the call at once.
    const json::value want =
        transport == "nats"
            ? json::value(
                  "Empty response. There are no subscribers listening to that message (\"nope\")")
            : json::value(json::string(roost::no_handler_message));
    co_await expect_rpc_error([&] { return c.send("nope", 1); }, want, "no handler");
  };
  s["events"] = [kafka](roost::client_proxy& c) -> roost::awaitable<void> {
    if (kafka) {
      co_await kafka_events(c);
      co_return;
    }
    co_await c.send("records", 0);
    json::array want;
    for (int i = 1; i <= 100; ++i) {
      co_await c.emit("record", i);
      want.push_back(i);
    }
    auto got = co_await c.send("records", 0);
    expect(got, want, "records after 100 events");
  };
  s["concurrent"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    using namespace boost::asio::experimental::awaitable_operators;
    constexpr int n = 1000;
    std::vector<json::value> got(n);
    std::atomic<int> done{0};
    auto ex = co_await boost::asio::this_coro::executor;
    for (int i = 0; i < n; ++i) {
      boost::asio::co_spawn(
          ex,
          [&, i]() -> roost::awaitable<void> {
            const json::value req = {{"i", i}};
            got[i] = co_await c.send("echo", req);
            ++done;
          },
          boost::asio::detached);
    }
    for (int waited = 0; done < n && waited < 10000; waited += 5) co_await sleep_for(5ms);
    if (done != n) throw failure("concurrent: only " + std::to_string(done) + " replies");
    for (int i = 0; i < n; ++i)
      expect(got[i], json::object{{"i", i}}, "reply " + std::to_string(i));
  };
  s["timeout"] = [kv](roost::client_proxy& c) -> roost::awaitable<void> {
    bool timed_out = false;
    try {
      co_await c.send("slow", 400, {.timeout = 100ms});
    } catch (const roost::timeout_error&) {
      timed_out = true;
    }
    if (!timed_out) throw failure("slow 400 with a 100 ms timeout did not time out");
    co_await sleep_for(600ms);
    const json::value d = json::array{1, 2};
    auto r = co_await c.send("sum", d);
    expect(r, kv(3), "sum after a timed-out call");
    if (c.pending() != 0) throw failure("a late reply left a pending call");
  };
  s["headers"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    roost::call_options o;
    o.metadata = json::object{{"x-trace", "abc"}};
    auto with = co_await c.send("headers", 0, o);
    expect(with, "abc", "headers x-trace=abc");
    auto without = co_await c.send("headers", 0);
    expect(without, nullptr, "no headers");
  };
  s["ctx"] = [transport, server_impl](roost::client_proxy& c) -> roost::awaitable<void> {
    // A stray server of another run on the same broker cannot pass for the one started.
    if (server_impl.empty()) throw failure("ctx: no --server-impl given");
    auto r = co_await c.send("ctx", 0);
    expect(r, json::object{{"transport", transport}, {"pattern", "ctx"}, {"impl", server_impl}},
           "ctx");
  };
  s["wildcards"] = [server_impl, transport](roost::client_proxy& c) -> roost::awaitable<void> {
    // A wildcards server: `orders.*` answers `orders.created` and `orders.42`; `audit.*`
    // takes events on `audit.login` and `audit.logout`.
    const std::array<std::string, 2> channels{"orders.created", "orders.42"};
    for (const auto& name : channels) {
      const json::value channel = json::string(name), data = json::string("to " + name);
      if (server_impl == "nest11" && transport == "redis") {
        // NestJS 11 publishes the reply on `orders.*.reply`, where no client listens.
        bool timed_out = false;
        try {
          co_await c.send(channel, data, {.timeout = 500ms});
        } catch (const roost::timeout_error&) {
          timed_out = true;
        }
        if (!timed_out) throw failure(name + ": NestJS 11 should not answer on its channel");
        break;
      }
      auto r = co_await c.send(channel, data);
      expect(r, json::object{{"impl", server_impl}, {"channel", channel}, {"data", data}},
             name + " to orders.*");
    }
    co_await c.send("records", 0);
    co_await c.emit("audit.login", 1);
    co_await c.emit("audit.logout", 2);
    co_await sleep_for(100ms);  // events have no reply: let them land before asking
    auto got = co_await c.send("records", 0);
    std::vector<std::string> seen;
    if (got.is_array())
      for (const auto& v : got.as_array())
        seen.push_back(v.is_string() ? v.as_string().c_str() : text(v));
    std::sort(seen.begin(), seen.end());
    const std::vector<std::string> want{"audit.login:1", "audit.logout:2"};
    if (seen != want) throw failure("audit.login 1, audit.logout 2 then records: got " + text(got));
  };
  s["object-pattern.non-ascii"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value p = json::parse(R"({"e":3,"Ω":5,"é":1,"z":2,"日本":4})");
    auto r = co_await c.send(p, 0);
    expect(r, "non-ascii", "non-ASCII keys");
  };
  s["object-pattern.case"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value upper = json::parse(R"({"Key":1})"), lower = json::parse(R"({"key":1})"),
                      both = json::parse(R"({"A":2,"a":1})");
    auto r1 = co_await c.send(upper, 0);
    expect(r1, "upper", "{\"Key\":1}");
    auto r2 = co_await c.send(lower, 0);
    expect(r2, "lower", "{\"key\":1}");
    auto r3 = co_await c.send(both, 0);
    expect(r3, "both-cases", "{\"A\":2,\"a\":1}");
  };
  s["object-pattern.nested"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value p = json::parse(
        R"({"opts":{"m":{"x":2,"y":1},"a":true,"z":[1,{"a":"x","b":2}]},"cmd":"nested"})");
    auto r = co_await c.send(p, 0);
    expect(r, "nested", "nested pattern");
  };
  s["numeric-pattern"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    auto r = co_await c.send(42, 0);
    expect(r, "numeric", "pattern 42");
  };
  s["stream.then-wait"] = [kv](roost::client_proxy& c) -> roost::awaitable<void> {
    auto st3 = c.stream("count.then-wait", 3);
    auto three = co_await roost::collect(std::move(st3));
    expect(json::value(json::array(three.begin(), three.end())), kv(json::array{0, 1, 2}),
           "count.then-wait 3");
    auto st0 = c.stream("count.then-wait", 0);
    auto none = co_await roost::collect(std::move(st0));
    expect(json::value(json::array(none.begin(), none.end())), json::array{}, "count.then-wait 0");
  };
  s["stream.then-fail"] = [kv](roost::client_proxy& c) -> roost::awaitable<void> {
    auto st = c.stream("count.then-fail", 2);
    json::array got;
    std::optional<json::value> err;
    try {
      while (auto v = co_await st.next()) got.push_back(*v);
    } catch (const roost::rpc_error& e) {
      err = e.error();
    }
    expect(got, kv(json::array{0, 1}), "count.then-fail 2 values");
    if (!err) throw failure("count.then-fail 2: the stream completed without an error");
    expect(*err, json::object{{"status", "error"}, {"message", "stream broke"}},
           "count.then-fail 2 error");
  };
  s["stream.interleaved"] = [kv](roost::client_proxy& c) -> roost::awaitable<void> {
    // Three streams in flight on one connection, read in turns.
    std::vector<roost::stream<json::value>> st;
    const std::vector<int> sizes{3, 5, 4};
    for (int n : sizes) st.push_back(c.stream("count.slow", n));
    std::vector<json::array> got(sizes.size());
    std::vector<bool> done(sizes.size(), false);
    for (bool any = true; any;) {
      any = false;
      for (std::size_t k = 0; k < st.size(); ++k) {
        if (done[k]) continue;
        auto v = co_await st[k].next();
        if (v)
          got[k].push_back(*v);
        else
          done[k] = true;
        any = true;
      }
    }
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      json::array want;
      for (int i = 0; i < sizes[k]; ++i) want.push_back(i);
      expect(got[k], kv(want), "count.slow " + std::to_string(sizes[k]) + " (one of 3 at once)");
    }
  };
  s["void"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    // The reply is {"isDisposed":true} alone: a stream of no value; send() gives null.
    const std::array<const char*, 2> patterns{"nothing", "nothing.async"};
    for (const char* p : patterns) {
      auto st = c.stream(p, 0);
      auto values = co_await roost::collect(std::move(st));
      expect(json::value(json::array(values.begin(), values.end())), json::array{},
             std::string(p) + " as a stream");
      auto r = co_await c.send(p, 0);
      expect(r, nullptr, std::string(p) + " with send");
    }
  };
  s["error.thrown"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value want = {{"status", "error"}, {"message", "Internal server error"}};
    co_await expect_rpc_error([&] { return c.send("throw.string", 0); }, want, "throw.string");
    co_await expect_rpc_error([&] { return c.send("throw.object", 0); }, want, "throw.object");
  };
  s["error.rpc-values"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value number = {{"status", "error"}, {"message", 42}};
    co_await expect_rpc_error([&] { return c.send("fail.number", 0); }, number, "fail.number");
    const json::value a = json::parse(R"([1,"two",{"three":3}])");
    co_await expect_rpc_error([&] { return c.send("fail.array", a); }, a, "fail.array");
    const json::value empty = json::object{};
    co_await expect_rpc_error([&] { return c.send("fail.error", 0); }, empty, "fail.error");
  };
  s["events.multi"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    co_await c.send("records", 0);
    std::vector<std::string> want;
    for (int i = 1; i <= 10; ++i) {
      co_await c.emit("record.multi", i);
      want.push_back("a:" + std::to_string(i));
      want.push_back("b:" + std::to_string(i));
    }
    co_await sleep_for(100ms);  // events have no reply: let the last ones land before asking
    auto got = co_await c.send("records", 0);
    // NestJS starts an event's handlers in turn but does not promise the order they finish in.
    std::vector<std::string> seen;
    if (got.is_array())
      for (const auto& v : got.as_array())
        seen.push_back(v.is_string() ? std::string(v.as_string()) : json::serialize(v));
    std::sort(seen.begin(), seen.end());
    std::sort(want.begin(), want.end());
    if (seen != want) throw failure("record.multi 1..10 then records: got " + text(got));
  };
  s["echo.huge"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value v = huge_string();
    auto r = co_await c.send("echo", v);
    if (r != v)
      throw failure("echo 3 MiB: got a " +
                    std::string(r.is_string() ? "different string" : "non-string"));
  };
  s["reconnect"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    const json::value one = json::array{1}, two = json::array{2};
    auto r1 = co_await c.send("sum", one);
    expect(r1, 1, "sum [1] before the restart");
    std::printf("WAIT restart\n");
    std::fflush(stdout);
    co_await wait_line();
    auto r2 = co_await c.send("sum", two);
    expect(r2, 2, "sum [2] after the restart");
  };
  s["server-close-mid-stream"] = [](roost::client_proxy& c) -> roost::awaitable<void> {
    auto st = c.stream("count.slow", 1000);
    auto first = co_await st.next();
    if (!first) throw failure("count.slow ended before its first value");
    std::printf("WAIT kill\n");
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    bool failed = false;
    try {
      while (co_await st.next()) {
      }
    } catch (const roost::connection_error&) {
      failed = true;
    }
    if (!failed) throw failure("the stream ended without an error when the server went away");
    if (std::chrono::steady_clock::now() - start > 3s) throw failure("the error took over 3 s");
  };
  return s;
}

// Runs one scenario on a fresh client; prints PASS or FAIL; returns 0 or 1.
int call_one(const args& a, const roost::url& u, const std::string& name) {
  auto transport = roost::make_client(u, roost::logger::silent());
  if (!transport) return usage();
  auto all =
      scenarios(std::string((*transport)->name()), a.server_impl, u.param("queue").value_or(""));
  auto it = all.find(name);
  if (it == all.end()) {
    std::printf("FAIL %s: unknown scenario\n", name.c_str());
    std::fflush(stdout);
    return 1;
  }
  boost::asio::io_context ioc;
  roost::client_proxy client(ioc.get_executor(), std::move(*transport));
  int rc = 1;
  bool reported = false;
  boost::asio::co_spawn(ioc, it->second(client), [&](std::exception_ptr e) {
    client.close();
    reported = true;
    try {
      if (e) std::rethrow_exception(e);
      std::printf("PASS %s\n", name.c_str());
      rc = 0;
    } catch (const std::exception& ex) {
      std::printf("FAIL %s: %s\n", name.c_str(), ex.what());
    }
    std::fflush(stdout);
    ioc.stop();
  });
  ioc.run_for(60s);
  if (!reported) {
    std::printf("FAIL %s: no result after 60 s\n", name.c_str());
    std::fflush(stdout);
  }
  return rc;
}

#ifdef ROOST_PEER_WITH_WS
// The gateway scenarios of nest/ws-peer.mjs from roost's WebSocket client: it emits in the
// gateway shape; a gateway's answers (no ids) and its pushes come to on_push, in order.
int call_ws_gateway(const args& a, const roost::url& u) {
  auto o = roost::ws::client_options_from(u);
  if (!o) return usage();
  boost::asio::io_context ioc;
  std::deque<json::value> inbox;
  o->on_push = [&inbox](std::string_view event, const json::value& data) {
    if (event.empty()) {
      inbox.push_back(data);
    } else {
      json::object pushed;
      pushed["event"] = event;
      pushed["data"] = data;
      inbox.emplace_back(std::move(pushed));
    }
  };
  o->log = roost::logger::silent();
  roost::client_proxy client(ioc.get_executor(), roost::ws::client(std::move(*o)));
  auto next = [&]() -> roost::awaitable<json::value> {
    for (int i = 0; i < 5000 && inbox.empty(); ++i) co_await sleep_for(2ms);
    if (inbox.empty()) throw failure("no message in time");
    json::value v = std::move(inbox.front());
    inbox.pop_front();
    co_return v;
  };
  using step = std::function<roost::awaitable<void>()>;
  const std::string impl = a.server_impl;
  std::vector<std::pair<std::string, step>> all;
  all.emplace_back("echo", [&]() -> roost::awaitable<void> {
    const json::value sent = json::parse(R"({"a":[1,"x"],"s":"h\u00e9llo \ud83d\ude00"})");
    co_await client.emit("echo", sent);
    const json::value got = co_await next();
    expect(got, sent, "echo");
  });
  all.emplace_back("stream", [&]() -> roost::awaitable<void> {
    co_await client.emit("count", 3);
    for (int i = 0; i < 3; ++i) {
      const json::value got = co_await next();
      expect(got, i, "count");
    }
  });
  all.emplace_back("silent", [&]() -> roost::awaitable<void> {
    co_await client.emit("nothing", 1);
    co_await client.emit("no such event", 1);
    co_await client.emit("echo", std::string("after"));
    const json::value got = co_await next();
    expect(got, "after", "the answer after the silent ones");
  });
  all.emplace_back("error", [&]() -> roost::awaitable<void> {
    co_await client.emit("fail.rpc", std::string("bad thing"));
    co_await client.emit("echo", std::string("after"));
    const json::value first = co_await next();
    if (impl == "nest11") {
      expect(first, "after", "NestJS 11 sends nothing for an error");
      co_return;
    }
    const json::value want =
        json::parse(R"({"event":"exception","data":{"status":"error","message":"bad thing",)"
                    R"("cause":{"pattern":"fail.rpc","data":"bad thing"}}})");
    expect(first, want, "the error");
    const json::value after = co_await next();
    expect(after, "after", "the answer after the error");
  });
  all.emplace_back("push", [&]() -> roost::awaitable<void> {
    co_await client.emit("whisper", std::string("psst"));
    const json::value pushed = co_await next();
    const json::value want = json::parse(R"({"event":"whispered","data":"psst"})");
    expect(pushed, want, "the push");
    const json::value answer = co_await next();
    expect(answer, "sent", "the answer");
  });
  int rc = 0;
  boost::asio::co_spawn(
      ioc,
      [&]() -> roost::awaitable<void> {
        for (auto& [name, run] : all) {
          inbox.clear();
          try {
            co_await run();
            std::printf("PASS %s\n", name.c_str());
          } catch (const std::exception& e) {
            rc = 1;
            std::printf("FAIL %s: %s\n", name.c_str(), e.what());
          }
          std::fflush(stdout);
        }
        client.close();
      },
      [&](std::exception_ptr) { ioc.stop(); });
  ioc.run_for(120s);
  return rc;
}
#endif

// `a.scenario`: one name, or several separated by commas, run one after the other, each on its
// own client (one process start for many scenarios).
int call(const args& a) {
  auto u = roost::url::parse(a.url);
  if (!u) return usage();
#ifdef ROOST_PEER_WITH_WS
  if ((u->scheme == "ws" || u->scheme == "wss") && a.scenario == "gateway") {
    return call_ws_gateway(a, *u);
  }
#endif
  int rc = 0;
  std::size_t from = 0;
  while (from <= a.scenario.size()) {
    const auto comma = std::min(a.scenario.find(',', from), a.scenario.size());
    const std::string name = a.scenario.substr(from, comma - from);
    if (!name.empty()) rc |= call_one(a, *u, name);
    from = comma + 1;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  roost::config cfg;
  if (auto status = cfg.load(argc, argv)) return *status;  // a bad ROOST_* value, --print-config
  if (argc < 2) return usage();
  args a;
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--url")
      a.url = argv[i + 1];
    else if (k == "--scenario")
      a.scenario = argv[i + 1];
    else if (k == "--server-impl")
      a.server_impl = argv[i + 1];
    else if (k == "--guards")
      a.guards = std::stoi(argv[i + 1]);
    else if (k == "--trace")
      a.trace = std::string_view(argv[i + 1]) == "1";
    else
      return usage();
  }
  if (a.url.empty()) return usage();
  if (a.mode == "serve") return serve(a, cfg);
  if (a.mode == "call" && !a.scenario.empty()) return call(a);
  return usage();
}
