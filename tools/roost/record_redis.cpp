// `roost record --from redis://...` (and shadow's): a subscriber beside the service. Redis hands
// every published message to every subscriber, so the service loses nothing; PSUBSCRIBE to the
// patterns (none: `*`) and to their `.reply` channels, where NestJS's servers answer.

#include "broker_tap.hpp"

#include <roost/redis/from_url.hpp>

#include <hiredis/hiredis.h>

#include <poll.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

namespace roost::cli {

namespace {

struct context_closer {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct reply_closer {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_closer>;

std::string_view text_of(const redisReply* r) {
  return {r->str, r->len};
}

// One command, waiting for its reply (before the subscription starts).
reply_ptr command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return reply_ptr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

constexpr std::string_view reply_suffix = ".reply";

// A pmessage: [pmessage, pattern, channel, payload].
void on_push(reply_matcher& matcher, const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY) return;
  if (r.elements != 4 || text_of(r.element[0]) != "pmessage") return;
  const std::string channel(text_of(r.element[2]));
  const auto text = text_of(r.element[3]);
  if (channel.ends_with(reply_suffix)) {
    // A reply to a request seen, or to one sent before the recording began (left alone).
    matcher.reply(text, channel);
    return;
  }
  matcher.inbound(text, channel, channel + std::string(reply_suffix));
}

}  // namespace

int tap_redis(const broker_source& o, reply_matcher& matcher, const std::string& who) {
  const auto opts = broker_options(
      o.url, "Redis", [](const url& u) { return roost::redis::client_options_from(u); });
  if (!opts) return 2;
  const auto& c = opts->connection;
  if (c.tls) {
    std::cerr << "error: roost record --from speaks plain Redis only, for now (no rediss://)\n";
    return 2;
  }
  const timeval connect_timeout{5, 0};
  const std::unique_ptr<redisContext, context_closer> ctx(
      redisConnectWithTimeout(c.host.c_str(), c.port, connect_timeout));
  if (!ctx || ctx->err) {
    std::cerr << "error: cannot connect to " << o.url << ": "
              << (ctx ? ctx->errstr : "out of memory") << "\n";
    return 4;
  }
  if (!c.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!c.username.empty()) auth.push_back(c.username);
    auth.push_back(c.password);
    auto r = command(ctx.get(), auth);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::cerr << "error: " << o.url << " refused the password: "
                << (r ? text_of(r.get()) : std::string_view(ctx->errstr)) << "\n";
      return 4;
    }
  }
  std::vector<std::string> psub{"PSUBSCRIBE"};
  if (o.patterns.empty()) psub.push_back("*");  // the `.reply` channels too
  for (const auto& p : o.patterns) {
    psub.push_back(p);
    psub.push_back(p + std::string(reply_suffix));
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : psub) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
  // The confirmations, one per pattern, before saying that the recording runs.
  for (std::size_t i = 1; i < psub.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx.get(), &raw) != REDIS_OK) {
      std::cerr << "error: cannot subscribe on " << o.url << ": " << ctx->errstr << "\n";
      return 4;
    }
    const reply_ptr r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR) {
      std::cerr << "error: cannot subscribe on " << o.url << ": " << text_of(r.get()) << "\n";
      return 4;
    }
  }
  std::cerr << who << ": subscribed to";
  for (std::size_t i = 1; i < psub.size(); ++i) std::cerr << " " << psub[i];
  std::cerr << " on " << o.url << std::endl;

  std::atomic<bool> stop{false}, ended{false};
  std::string lost;
  // The reader: polls the socket a few times a second so that it sees `stop`. Stopping, it
  // sends a PING and reads up to its answer: whatever was published before it is then in.
  std::thread reader([&] {
    bool pinged = false;
    std::chrono::steady_clock::time_point give_up;
    for (;;) {
      if (stop.load() && !pinged) {
        pinged = true;
        give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        redisAppendCommand(ctx.get(), "PING");
        int done = 0;
        while (!done) {
          if (redisBufferWrite(ctx.get(), &done) != REDIS_OK) break;
        }
      }
      if (pinged && std::chrono::steady_clock::now() > give_up) break;
      void* raw = nullptr;
      if (redisGetReplyFromReader(ctx.get(), &raw) != REDIS_OK) break;
      if (raw) {
        const reply_ptr r(static_cast<redisReply*>(raw));
        if (pinged && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            text_of(r->element[0]) == "pong") {
          break;
        }
        on_push(matcher, *r);
        continue;
      }
      pollfd p{ctx->fd, POLLIN, 0};
      if (poll(&p, 1, 200) > 0 && redisBufferRead(ctx.get()) != REDIS_OK) break;
    }
    if (!stop.load()) lost = ctx->errstr[0] ? ctx->errstr : "the connection closed";
    ended = true;
  });
  wait_for_stop(ended);
  stop = true;
  reader.join();
  matcher.stop();
  if (!lost.empty()) std::cerr << "error: " << o.url << ": " << lost << "\n";
  return lost.empty() ? 0 : 4;
}

}  // namespace roost::cli
