#include "connection.hpp"

#include "credentials.hpp"

#include <roost/errors.hpp>

#include <boost/asio/this_coro.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <shared_mutex>
#include <thread>
#include <utility>

namespace roost::nats::detail {

namespace asio = boost::asio;

// Closed by connection::close(): after it, callbacks still running on the library's threads
// hand nothing more to our executors, which may be gone by then.
struct gate {
  std::shared_mutex mutex;
  bool open = true;
};

namespace {

struct options_deleter {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};
using options_ptr = std::unique_ptr<natsOptions, options_deleter>;

[[noreturn]] void fail(std::string what, natsStatus s) {
  throw connection_error(make_error_code(error::not_connected),
                         "nats: " + what + ": " + status_text(s));
}

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK) fail(what, s);
}

struct sub_holder {
  message_fn fn;
  std::shared_ptr<detail::gate> gate;
};

void on_message(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
  msg_ptr owned(m);
  auto* h = static_cast<sub_holder*>(closure);
  std::shared_lock lock(h->gate->mutex);
  if (h->gate->open) h->fn(std::move(owned));
}

void on_complete(void* closure) {
  delete static_cast<sub_holder*>(closure);
}

}  // namespace

struct connection::bridge {
  connection_events events;
  std::shared_ptr<detail::gate> gate = std::make_shared<detail::gate>();
  std::function<void(msg_ptr&)> take;  // see take_inline(); set before open()
  msg_deleter free_taken;              // how a taken message is freed
  std::function<void()> after_read;
  // Signs for NKey or .creds authentication (null without); here because the library calls
  // it until the connection is closed, which may be after the connection object is gone.
  std::unique_ptr<detail::signer> auth;

  template <class F>
  void call(F connection_events::*which) {
    std::shared_lock lock(gate->mutex);
    if (gate->open && events.*which) (events.*which)();
  }
};

namespace {
using bridge_holder = std::shared_ptr<connection::bridge>;

// The library's message filter: its one hook that sees a message on the reading thread before
// the message is queued for a delivery thread. It is exported but not in the public header (the
// library's own tests use it), hence looked up at run time: a library without it leaves every
// message to the delivery threads, as before. Likewise its function that frees a message at
// once (what its collector thread calls).
using message_filter = void (*)(natsConnection*, natsMsg**, void*);
using set_filter_fn = void (*)(natsConnection*, message_filter, void*);
using free_msg_fn = void (*)(void*);

// Runs on the thread reading the socket (our executor's, in event-loop mode), under the
// library's read, with none of its locks held.
void filter_message(natsConnection*, natsMsg** m, void* closure) {
  auto* b = static_cast<connection::bridge*>(closure);
  std::shared_lock lock(b->gate->mutex);
  if (!b->gate->open) return;
  msg_ptr owned(*m, b->free_taken);
  b->take(owned);
  *m = owned.release();  // null when taken
}

bool install_filter(natsConnection* nc, connection::bridge* b) {
  auto set =
      reinterpret_cast<set_filter_fn>(::dlsym(RTLD_DEFAULT, "natsConn_setFilterWithClosure"));
  if (!set) return false;
  if (auto free = reinterpret_cast<free_msg_fn>(::dlsym(RTLD_DEFAULT, "natsMsg_free"))) {
    // A taken message belongs to no subscription and is not shared: nothing but its memory
    // to free.
    b->free_taken.free = free;
  }
  set(nc, &filter_message, b);
  return true;
}
}  // namespace

std::string status_text(natsStatus s) {
  std::string text = natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail && *detail && text.find(detail) == std::string::npos)
    text += std::string(" (") + detail + ")";
  return text;
}

nats::headers headers_of(natsMsg* m) {
  nats::headers out;
  const char** keys = nullptr;
  int n = 0;
  if (natsMsgHeader_Keys(m, &keys, &n) != NATS_OK) return out;
  for (int i = 0; i < n; ++i) {
    const char** values = nullptr;
    int count = 0;
    if (natsMsgHeader_Values(m, keys[i], &values, &count) == NATS_OK) {
      for (int j = 0; j < count; ++j) out.add(keys[i], values[j]);
      std::free(values);
    }
  }
  std::free(keys);
  return out;
}

std::string_view data_of(natsMsg* m) {
  const int n = natsMsg_GetDataLength(m);
  return n > 0 ? std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(n))
               : std::string_view();
}

connection::connection(connection_options opts, connection_events events, bool ordered,
                       int default_reconnects, bool default_event_loop)
    : opts_(std::move(opts)),
      ordered_(ordered),
      default_reconnects_(default_reconnects),
      event_loop_(opts_.event_loop.value_or(default_event_loop) && !opts_.tls),
      bridge_(std::make_shared<bridge>(bridge{std::move(events)})) {
  // An NKey wins over a .creds file, as it did when the library read them.
  if (!opts_.nkey.empty()) {
    bridge_->auth = std::make_unique<signer>(signer::kind::nkey, opts_.nkey_seed_file);
  } else if (!opts_.creds_file.empty()) {
    bridge_->auth = std::make_unique<signer>(signer::kind::creds, opts_.creds_file);
  }
}

connection::~connection() {
  close();
}

awaitable<void> connection::open() {
  natsOptions* raw = nullptr;
  check(natsOptions_Create(&raw), "cannot create options");
  auto o = std::shared_ptr<natsOptions>(raw, options_deleter{});
  std::vector<const char*> servers;
  for (const auto& s : opts_.servers) servers.push_back(s.c_str());
  check(natsOptions_SetServers(o.get(), servers.data(), static_cast<int>(servers.size())),
        "bad server list");
  natsOptions_SetTimeout(o.get(), opts_.connect_timeout.count());
  natsOptions_SetAllowReconnect(o.get(), opts_.reconnect);
  natsOptions_SetMaxReconnect(o.get(), opts_.max_reconnect_attempts.value_or(default_reconnects_));
  natsOptions_SetReconnectWait(o.get(), opts_.reconnect_time_wait.count());
  if (ordered_) natsOptions_UseGlobalMessageDelivery(o.get(), true);
  if (event_loop_) {
    executor ex = co_await asio::this_coro::executor;
    driver_ = std::make_shared<socket_driver>(std::move(ex));
    if (bridge_->take) driver_->after_read(bridge_->after_read);
    check(driver_->install(o.get()), "cannot drive the socket");
  }
  if (opts_.io_buffer_size > 0) {
    check(natsOptions_SetIOBufSize(o.get(), opts_.io_buffer_size), "bad ioBufferSize");
  }
  if (!opts_.name.empty()) natsOptions_SetName(o.get(), opts_.name.c_str());
  if (!opts_.user.empty() || !opts_.password.empty()) {
    check(natsOptions_SetUserInfo(o.get(), opts_.user.c_str(), opts_.password.c_str()),
          "bad user info");
  }
  if (!opts_.token.empty()) check(natsOptions_SetToken(o.get(), opts_.token.c_str()), "bad token");
  // Our own signature callback rather than the library's file reading: see credentials.hpp.
  signer* const sig = bridge_->auth.get();
  if (!opts_.nkey.empty() && opts_.nkey_seed_file.empty()) {
    fail("NKey " + opts_.nkey + " without a seed file", NATS_INVALID_ARG);
  }
  if (sig) {
    check(sig->install(o.get(), opts_.nkey),
          opts_.nkey.empty() ? "cannot use credentials file " + opts_.creds_file : "bad NKey");
  }
  if (opts_.tls) {
    const auto& t = *opts_.tls;
    check(natsOptions_SetSecure(o.get(), true), "TLS unavailable");
    // The same items, files or PEM text, as the transports that run TLS themselves
    // (roost/tls_options.hpp); the library does the TLS.
    if (!t.ca_pem.empty()) {
      check(natsOptions_SetCATrustedCertificates(o.get(), t.ca_pem.c_str()), "cannot load CA");
    } else if (!t.ca_file.empty()) {
      check(natsOptions_LoadCATrustedCertificates(o.get(), t.ca_file.c_str()),
            "cannot load CA file");
    }
    if (!t.cert_pem.empty() || !t.key_pem.empty()) {
      check(natsOptions_SetCertificatesChain(o.get(), t.cert_pem.c_str(), t.key_pem.c_str()),
            "cannot load certificate or key");
    } else if (!t.cert_file.empty()) {
      check(natsOptions_LoadCertificatesChain(o.get(), t.cert_file.c_str(), t.key_file.c_str()),
            "cannot load certificate or key");
    }
    if (!t.server_name.empty()) natsOptions_SetExpectedHostname(o.get(), t.server_name.c_str());
    if (!t.verify_peer) natsOptions_SkipServerVerification(o.get(), true);
  }
  // Connection events, through a holder that lives until the library reports the close.
  auto* holder = new bridge_holder(bridge_);
  natsOptions_SetDisconnectedCB(
      o.get(),
      [](natsConnection*, void* c) {
        (*static_cast<bridge_holder*>(c))->call(&connection_events::disconnected);
      },
      holder);
  natsOptions_SetReconnectedCB(
      o.get(),
      [](natsConnection*, void* c) {
        (*static_cast<bridge_holder*>(c))->call(&connection_events::reconnected);
      },
      holder);
  natsOptions_SetClosedCB(
      o.get(),
      [](natsConnection*, void* c) {
        auto* h = static_cast<bridge_holder*>(c);
        (*h)->call(&connection_events::closed);
        delete h;
      },
      holder);
  struct result {
    natsConnection* nc = nullptr;
    natsStatus status = NATS_OK;
    std::string why;  // nats.c keeps its error text per thread: taken on the connecting one
  };
  std::function<result()> connect = [o, b = bridge_] {
    signer* const sig = b->auth.get();
    result r;
    // An attempt failed by a refused signature is made again at once (see credentials.hpp):
    // each fails with odds of 1 in 256, so eight in a row do not happen.
    for (int attempt = 0; attempt < 8; ++attempt) {
      const unsigned refused = sig ? sig->refused() : 0;
      r.status = natsConnection_Connect(&r.nc, o.get());
      if (r.status == NATS_OK || !sig || sig->refused() == refused) break;
    }
    if (r.status != NATS_OK) r.why = status_text(r.status);
    return r;
  };
  // In statements of their own: GCC 12 destroys by-value arguments of a coroutine called
  // inside a co_await expression twice.
  auto connecting = calls_.run(std::move(connect));
  auto r = co_await std::move(connecting);
  if (r.status != NATS_OK || !r.nc) {
    delete holder;
    std::string where;
    for (const auto& server : opts_.servers) where += (where.empty() ? "" : ",") + server;
    throw connection_error(make_error_code(error::not_connected),
                           "nats: cannot connect to " + where + ": " + r.why);
  }
  {
    std::lock_guard lock(mutex_);
    nc_ = std::shared_ptr<natsConnection>(r.nc,
                                          [](natsConnection* nc) { natsConnection_Destroy(nc); });
  }
  // Before any subscription: no message of ours has arrived yet. The filter only ever runs
  // inside the driver's reads, which end (on detach) before close() returns, while the bridge
  // lives as long as this object.
  if (driver_ && bridge_->take) install_filter(r.nc, bridge_.get());
  if (driver_) co_return;  // our executor writes: no flush thread
  {
    std::lock_guard lock(flush_mutex_);
    flush_stop_ = false;
  }
  if (!flusher_.joinable()) flusher_ = std::thread([this] { flush_loop(); });
}

void connection::take_inline(std::function<void(msg_ptr&)> take, std::function<void()> after_read) {
  bridge_->take = std::move(take);
  bridge_->after_read = std::move(after_read);
}

std::int64_t connection::subscribe(const std::string& subject, const std::string& queue,
                                   message_fn on_msg) {
  std::lock_guard lock(mutex_);
  if (!nc_) fail("cannot subscribe to " + subject, NATS_CONNECTION_CLOSED);
  natsConnection* nc = nc_.get();
  auto* holder = new sub_holder{std::move(on_msg), bridge_->gate};
  natsSubscription* sub = nullptr;
  natsStatus s = queue.empty()
                     ? natsConnection_Subscribe(&sub, nc, subject.c_str(), on_message, holder)
                     : natsConnection_QueueSubscribe(&sub, nc, subject.c_str(), queue.c_str(),
                                                     on_message, holder);
  if (s != NATS_OK) {
    delete holder;
    fail("cannot subscribe to " + subject, s);
  }
  // Without it the holder leaks: the subscription was closed already, callbacks may be pending.
  (void)natsSubscription_SetOnCompleteCB(sub, on_complete, holder);
  // No limit on pending messages: a burst must not be dropped as a slow consumer; our own
  // executor is the queue.
  natsSubscription_SetPendingLimits(sub, -1, -1);
  subs_.push_back(sub);
  return natsSubscription_GetID(sub);
}

jsCtx* connection::jetstream() {
  if (!js_ && nc_) {
    if (natsConnection_JetStream(&js_, nc_.get(), nullptr) != NATS_OK) js_ = nullptr;
  }
  return js_;
}

awaitable<void> connection::ensure_stream(std::string name, std::vector<std::string> subjects) {
  jsCtx* js;
  {
    std::lock_guard lock(mutex_);
    js = jetstream();
  }
  if (!js) fail("JetStream is not available", NATS_ERR);
  auto nc = native();  // keeps the connection (and so `js`) alive meanwhile
  struct result {
    natsStatus status = NATS_OK;
    jsErrCode code = static_cast<jsErrCode>(0);
    std::string why;
  };
  std::function<result()> f = [nc, js, name, subjects] {
    result r;
    jsStreamInfo* si = nullptr;
    r.status = js_GetStreamInfo(&si, js, name.c_str(), nullptr, &r.code);
    if (r.status == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return r;
    }
    if (r.status != NATS_NOT_FOUND && r.code != JSStreamNotFoundErr) {
      r.why = status_text(r.status);
      return r;
    }
    std::vector<const char*> subs;
    for (const auto& s : subjects) subs.push_back(s.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    cfg.Subjects = subs.data();
    cfg.SubjectsLen = static_cast<int>(subs.size());
    cfg.Storage = js_FileStorage;
    r.code = static_cast<jsErrCode>(0);
    r.status = js_AddStream(&si, js, &cfg, nullptr, &r.code);
    if (r.status == NATS_OK) {
      jsStreamInfo_Destroy(si);
    } else {
      r.why = status_text(r.status);
    }
    return r;
  };
  auto call = calls_.run(std::move(f));
  auto r = co_await std::move(call);
  if (r.status != NATS_OK) {
    throw connection_error(make_error_code(error::not_connected),
                           "nats: cannot find or create JetStream stream " + name + ": " + r.why +
                               (r.code ? " (JetStream error " + std::to_string(r.code) + ")" : ""));
  }
}

awaitable<void> connection::js_subscribe(std::string stream, std::string subject, std::string queue,
                                         std::string durable, std::chrono::milliseconds ack_wait,
                                         int max_deliver, message_fn on_msg) {
  jsCtx* js;
  {
    std::lock_guard lock(mutex_);
    js = jetstream();
  }
  if (!js) fail("JetStream is not available", NATS_ERR);
  auto nc = native();  // keeps the connection (and so `js`) alive meanwhile
  auto holder = std::make_shared<sub_holder*>(new sub_holder{std::move(on_msg), bridge_->gate});
  struct result {
    natsSubscription* sub = nullptr;
    natsStatus status = NATS_OK;
    jsErrCode code = static_cast<jsErrCode>(0);
    std::string why;
  };
  std::function<result()> f = [nc, js, stream, subject, queue, durable, ack_wait, max_deliver,
                               holder] {
    result r;
    jsConsumerInfo* ci = nullptr;
    r.status = js_GetConsumerInfo(&ci, js, stream.c_str(), durable.c_str(), nullptr, &r.code);
    if (r.status == NATS_OK) {
      jsConsumerInfo_Destroy(ci);
    } else if (r.status == NATS_NOT_FOUND || r.code == JSConsumerNotFoundErr) {
      natsInbox* inbox = nullptr;
      natsInbox_Create(&inbox);
      jsConsumerConfig cc;
      jsConsumerConfig_Init(&cc);
      cc.Durable = durable.c_str();
      cc.DeliverSubject = inbox;
      cc.DeliverPolicy = js_DeliverAll;
      cc.AckPolicy = js_AckExplicit;
      cc.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(ack_wait).count();
      cc.MaxDeliver = max_deliver;
      cc.FilterSubject = subject.c_str();
      if (!queue.empty()) cc.DeliverGroup = queue.c_str();
      r.code = static_cast<jsErrCode>(0);
      r.status = js_AddConsumer(&ci, js, stream.c_str(), &cc, nullptr, &r.code);
      natsInbox_Destroy(inbox);
      if (r.status == NATS_OK) jsConsumerInfo_Destroy(ci);
    }
    if (r.status != NATS_OK) {
      r.why = status_text(r.status);
      return r;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Consumer = durable.c_str();  // bound: the library leaves the consumer alone
    so.ManualAck = true;
    if (!queue.empty()) so.Queue = queue.c_str();
    r.code = static_cast<jsErrCode>(0);
    r.status =
        js_Subscribe(&r.sub, js, subject.c_str(), on_message, *holder, nullptr, &so, &r.code);
    if (r.status != NATS_OK) r.why = status_text(r.status);
    return r;
  };
  auto call = calls_.run(std::move(f));
  auto r = co_await std::move(call);
  if (r.status != NATS_OK) {
    delete *holder;
    throw connection_error(make_error_code(error::not_connected),
                           "nats: cannot consume " + subject + " from stream " + stream + ": " +
                               r.why +
                               (r.code ? " (JetStream error " + std::to_string(r.code) + ")" : ""));
  }
  (void)natsSubscription_SetOnCompleteCB(r.sub, on_complete, *holder);
  natsSubscription_SetPendingLimits(r.sub, -1, -1);
  std::lock_guard lock(mutex_);
  subs_.push_back(r.sub);
}

void connection::drain_subscriptions() {
  std::lock_guard lock(mutex_);
  for (auto* sub : subs_) natsSubscription_Drain(sub);
}

bool connection::subscriptions_drained() {
  std::lock_guard lock(mutex_);
  for (auto* sub : subs_) {
    if (natsSubscription_IsValid(sub)) return false;
  }
  return true;
}

natsStatus connection::publish(const char* subject, const char* reply, std::string_view data,
                               const nats::headers* h) {
  auto nc = native();
  if (!nc) return NATS_CONNECTION_CLOSED;
  if (!h || h->empty()) {
    if (!reply) {
      return natsConnection_Publish(nc.get(), subject, data.data(), static_cast<int>(data.size()));
    }
    return natsConnection_PublishRequest(nc.get(), subject, reply, data.data(),
                                         static_cast<int>(data.size()));
  }
  natsMsg* m = nullptr;
  natsStatus s = natsMsg_Create(&m, subject, reply, data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) return s;
  msg_ptr owned(m);
  for (const auto& [k, v] : *h) {
    s = natsMsgHeader_Add(m, k.c_str(), v.c_str());
    if (s != NATS_OK) return s;
  }
  return natsConnection_PublishMsg(nc.get(), m);
}

awaitable<bool> connection::flush(std::chrono::milliseconds timeout) {
  auto nc = native();
  if (!nc) co_return false;
  std::function<bool()> f = [nc, timeout] {
    return natsConnection_FlushTimeout(nc.get(), timeout.count()) == NATS_OK;
  };
  auto call = calls_.run(std::move(f));
  bool ok = co_await std::move(call);
  co_return ok;
}

void connection::write_now() {
  if (driver_) driver_->write_now();
}

bool connection::flush_here(std::chrono::milliseconds timeout) {
  auto nc = native();
  if (!nc) return false;
  if (!driver_) return natsConnection_FlushTimeout(nc.get(), timeout.count()) == NATS_OK;
  // The PONG is read by whoever runs the socket, which may be this thread: wait on another
  // one and run the socket here meanwhile.
  std::atomic<bool> done{false};
  natsStatus s = NATS_TIMEOUT;
  std::thread waiter([&] {
    s = natsConnection_FlushTimeout(nc.get(), timeout.count());
    done = true;
  });
  driver_->run_here_until([&] { return done.load(); }, timeout);
  waiter.join();
  return s == NATS_OK;
}

void connection::kick() {
  if (driver_) return;
  if (flush_pending_.exchange(true)) return;  // a flush is coming anyway
  {
    std::lock_guard lock(flush_mutex_);
    flush_wanted_ = true;
  }
  flush_cv_.notify_one();
}

void connection::flush_loop() {
  for (;;) {
    {
      std::unique_lock lock(flush_mutex_);
      flush_cv_.wait(lock, [this] { return flush_wanted_ || flush_stop_; });
      if (flush_stop_) return;
      flush_wanted_ = false;
    }
    // Cleared before the write: what is published meanwhile asks for the next one.
    flush_pending_ = false;
    auto nc = native();
    // Writes the buffer in place, then waits for the broker's PONG (bounded).
    if (nc) natsConnection_FlushTimeout(nc.get(), 1000);
  }
}

std::shared_ptr<natsConnection> connection::native() const {
  std::lock_guard lock(mutex_);
  return nc_;
}

void connection::close() {
  std::shared_ptr<natsConnection> nc;
  std::vector<natsSubscription*> subs;
  {
    std::lock_guard lock(mutex_);
    nc.swap(nc_);
    subs.swap(subs_);
  }
  // What is buffered goes out before the socket closes, as the library's own close writes it
  // when its threads run the socket (an event emitted just before closing is not lost).
  if (nc && driver_) driver_->write_all(std::chrono::seconds(1));
  if (nc) {
    std::unique_lock lock(bridge_->gate->mutex);  // waits for callbacks in progress
    bridge_->gate->open = false;
  }
  {
    std::lock_guard lock(flush_mutex_);
    flush_stop_ = true;
  }
  flush_cv_.notify_one();
  if (nc) natsConnection_Close(nc.get());  // also ends a flush in progress
  jsCtx* js;
  {
    std::lock_guard lock(mutex_);
    js = std::exchange(js_, nullptr);
  }
  if (js) jsCtx_Destroy(js);
  if (flusher_.joinable() && flusher_.get_id() != std::this_thread::get_id()) flusher_.join();
  // After the library's close, which ends a flush or request in progress; a connect in
  // progress is waited for (at most its timeout).
  calls_.join();
  for (auto* sub : subs) natsSubscription_Destroy(sub);
  // The connection is destroyed when its last user (a flush in progress) lets go.
}

bool connection::is_closed() const {
  auto nc = native();
  return !nc || natsConnection_IsClosed(nc.get());
}

}  // namespace roost::nats::detail
