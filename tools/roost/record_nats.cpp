// `roost record --from nats://...` (and shadow's): plain subscriptions beside the service (never a
// queue group, so the service's own subscriptions, queue group or not, lose nothing: NATS gives
// every plain subscriber a copy) to the request subjects and the reply inboxes.

#include "broker_tap.hpp"

#include <roost/nats/from_url.hpp>

#include <nats/nats.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

namespace roost::cli {

namespace {

struct nats_tap {
  reply_matcher& matcher;
  std::string inbox_prefix;  // with its trailing dot
  std::atomic<bool>& ended;
};

// The message's headers as metadata (the transport carries a call's metadata in them).
json::object headers_of(natsMsg* m) {
  json::object out;
  const char** keys = nullptr;
  int n = 0;
  if (natsMsgHeader_Keys(m, &keys, &n) != NATS_OK) return out;
  for (int i = 0; i < n; ++i) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(m, keys[i], &value) == NATS_OK && value) out[keys[i]] = value;
  }
  std::free(keys);
  return out;
}

void on_message(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
  const std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> m(raw, &natsMsg_Destroy);
  auto& tap = *static_cast<nats_tap*>(closure);
  const std::string subject = natsMsg_GetSubject(raw);
  const std::string_view text(natsMsg_GetData(raw),
                              static_cast<std::size_t>(natsMsg_GetDataLength(raw)));
  if (tap.matcher.reply(text, subject)) return;
  // Replies to requests sent before the recording began, or to other request/reply traffic.
  if (subject.starts_with(tap.inbox_prefix)) return;
  const char* reply = natsMsg_GetReply(raw);
  tap.matcher.inbound(text, subject, reply ? reply : "", headers_of(raw));
}

void on_closed(natsConnection*, void* closure) {
  static_cast<nats_tap*>(closure)->ended = true;
}

struct nats_closer {
  void operator()(natsConnection* c) const noexcept { natsConnection_Destroy(c); }
};
struct options_closer {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};

}  // namespace

int tap_nats(const broker_source& o, reply_matcher& matcher, const std::string& who) {
  const auto opts = broker_options(
      o.url, "NATS", [](const url& u) { return roost::nats::client_options_from(u); });
  if (!opts) return 2;
  if (opts->tls || !opts->creds_file.empty() || !opts->nkey.empty()) {
    std::cerr << "error: roost record --from nats:// speaks plain NATS with a user, password or "
                 "token only, for now (no TLS, .creds or NKey)\n";
    return 2;
  }
  std::atomic<bool> ended{false};
  nats_tap tap{matcher, opts->inbox_prefix + ".", ended};

  natsOptions* raw_opts = nullptr;
  natsOptions_Create(&raw_opts);
  const std::unique_ptr<natsOptions, options_closer> no(raw_opts);
  std::vector<const char*> servers;
  for (const auto& s : opts->servers) servers.push_back(s.c_str());
  natsOptions_SetServers(no.get(), servers.data(), static_cast<int>(servers.size()));
  if (!opts->user.empty())
    natsOptions_SetUserInfo(no.get(), opts->user.c_str(), opts->password.c_str());
  if (!opts->token.empty()) natsOptions_SetToken(no.get(), opts->token.c_str());
  natsOptions_SetName(no.get(), who.c_str());
  // One delivery thread for every subscription: a request is seen before its reply.
  natsOptions_UseGlobalMessageDelivery(no.get(), true);
  natsOptions_SetClosedCB(no.get(), on_closed, &tap);
  natsConnection* raw_conn = nullptr;
  if (auto s = natsConnection_Connect(&raw_conn, no.get()); s != NATS_OK) {
    std::cerr << "error: cannot connect to " << o.url << ": " << natsStatus_GetText(s) << "\n";
    return 4;
  }
  const std::unique_ptr<natsConnection, nats_closer> conn(raw_conn);
  // Every subject (`>` takes the inboxes too), or the patterns and the inboxes.
  std::vector<std::string> subjects = o.patterns;
  if (subjects.empty()) {
    subjects.push_back(">");
  } else {
    subjects.push_back(tap.inbox_prefix + ">");
  }
  std::vector<natsSubscription*> subs;
  natsStatus s = NATS_OK;
  for (const auto& subject : subjects) {
    natsSubscription* sub = nullptr;
    s = natsConnection_Subscribe(&sub, conn.get(), subject.c_str(), on_message, &tap);
    if (s != NATS_OK) {
      std::cerr << "error: cannot subscribe to " << subject << ": " << natsStatus_GetText(s)
                << "\n";
      break;
    }
    // No limit on what waits for the delivery thread: a slow disk must not drop messages.
    natsSubscription_SetPendingLimits(sub, -1, -1);
    subs.push_back(sub);
  }
  if (s == NATS_OK) s = natsConnection_FlushTimeout(conn.get(), 5000);
  if (s == NATS_OK) {
    std::cerr << who << ": subscribed to";
    for (const auto& subject : subjects) std::cerr << " " << subject;
    std::cerr << " on " << o.url << std::endl;
    wait_for_stop(ended);
  }
  // Drained: what the server sent before is delivered, then the connection closes. The closed
  // callback (which sets `ended`, on a thread of the library) is awaited either way: it must
  // not run after this function returns.
  if (!ended.load()) natsConnection_DrainTimeout(conn.get(), 2000);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!ended.load() && std::chrono::steady_clock::now() < give_up) {
    // A drain that could not start, or is over: close (again: a no-op once closed).
    if (!natsConnection_IsDraining(conn.get())) natsConnection_Close(conn.get());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto* sub : subs) natsSubscription_Destroy(sub);
  matcher.stop();
  return s == NATS_OK ? 0 : 4;
}

}  // namespace roost::cli
