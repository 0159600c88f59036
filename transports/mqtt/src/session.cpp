#include "session.hpp"

#include <roost/errors.hpp>
#include <roost/net/resolve.hpp>
#include <roost/net/tls_context.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <tuple>

namespace roost::mqtt::detail {

namespace asio = boost::asio;

namespace {

// Packets read in one turn of the strand before other work gets its turn.
constexpr int reads_per_turn = 64;

// libmosquitto's process-wide set-up (not thread-safe, and reference-counted: never undone
// here, as another part of the process may use the library too). Once per process.
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string error_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

std::string random_client_id() {
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "roost_";
  for (int i = 0; i < 8; ++i) id += hex[rd() % 16];
  return id;
}

// The MQTT 5 properties of a delivered message: the user properties, in order, and the rest.
void read_properties(const mosquitto_property* props, message& m) {
  for (const mosquitto_property* p = props; p; p = mosquitto_property_next(p)) {
    switch (mosquitto_property_identifier(p)) {
      case MQTT_PROP_USER_PROPERTY: {
        char* name = nullptr;
        char* value = nullptr;
        if (mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, false)) {
          m.user_properties.add(name ? name : "", value ? value : "");
        }
        std::free(name);
        std::free(value);
        break;
      }
      case MQTT_PROP_CONTENT_TYPE:
      case MQTT_PROP_RESPONSE_TOPIC: {
        const int id = mosquitto_property_identifier(p);
        char* text = nullptr;
        if (mosquitto_property_read_string(p, id, &text, false) && text) {
          (id == MQTT_PROP_CONTENT_TYPE ? m.info.content_type : m.info.response_topic) = text;
        }
        std::free(text);
        break;
      }
      case MQTT_PROP_CORRELATION_DATA: {
        void* data = nullptr;
        std::uint16_t len = 0;
        if (mosquitto_property_read_binary(p, MQTT_PROP_CORRELATION_DATA, &data, &len, false)) {
          m.info.correlation_data.assign(static_cast<const char*>(data), len);
        }
        std::free(data);
        break;
      }
      case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL: {
        std::uint32_t v = 0;
        if (mosquitto_property_read_int32(p, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &v, false)) {
          m.info.message_expiry_interval = v;
        }
        break;
      }
      case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR: {
        std::uint8_t v = 0;
        if (mosquitto_property_read_byte(p, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, &v, false)) {
          m.info.payload_format_indicator = v;
        }
        break;
      }
      default:
        break;
    }
  }
}

struct property_list {
  mosquitto_property* head = nullptr;
  ~property_list() { mosquitto_property_free_all(&head); }
};

}  // namespace

session::session(executor ex, connection_options o, std::string_view side, bool reconnect)
    : opts_(std::move(o)),
      side_(side),
      reconnect_(reconnect),
      strand_(asio::make_strand(std::move(ex))),
      ticker_(strand_),
      retry_(strand_),
      deadline_(strand_) {
  init_library();
  if (opts_.client_id.empty()) opts_.client_id = random_client_id();
  mosq_ = mosquitto_new(opts_.client_id.c_str(), opts_.clean, this);
  if (!mosq_) return;  // open() says so
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
                       v5() ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  if (!opts_.username.empty()) {
    mosquitto_username_pw_set(mosq_, opts_.username.c_str(),
                              opts_.password.empty() ? nullptr : opts_.password.c_str());
  }
  mosquitto_connect_v5_callback_set(mosq_, &session::on_connect);
  mosquitto_disconnect_v5_callback_set(mosq_, &session::on_disconnect);
  mosquitto_message_v5_callback_set(mosq_, &session::on_message);
  mosquitto_subscribe_v5_callback_set(mosq_, &session::on_subscribe);
  mosquitto_publish_v5_callback_set(mosq_, &session::on_publish);
  mosquitto_unsubscribe_v5_callback_set(mosq_, &session::on_unsubscribe);
  if (opts_.will) setup_error_ = set_up_will();
  if (opts_.tls && setup_error_.empty()) setup_error_ = set_up_tls();
}

std::string session::set_up_will() {
  const will& w = *opts_.will;
  property_list props;
  if (v5()) {
    for (const auto& [k, v] : w.user_properties) {
      mosquitto_property_add_string_pair(&props.head, MQTT_PROP_USER_PROPERTY, k.c_str(),
                                         v.c_str());
    }
    if (w.delay_interval) {
      mosquitto_property_add_int32(&props.head, MQTT_PROP_WILL_DELAY_INTERVAL, *w.delay_interval);
    }
  } else if (!w.user_properties.empty() || w.delay_interval) {
    return "the last will's properties need MQTT 5 (protocolVersion=5)";
  }
  const int rc = mosquitto_will_set_v5(mosq_, w.topic.c_str(), static_cast<int>(w.payload.size()),
                                       w.payload.data(), w.qos, w.retain, props.head);
  if (rc != MOSQ_ERR_SUCCESS) return "the last will is refused: " + error_text(rc);
  props.head = nullptr;  // the library's now
  return {};
}

std::string session::set_up_tls() {
  const tls_options& t = *opts_.tls;
  if ((t.cert_file.empty() && t.cert_pem.empty()) != (t.key_file.empty() && t.key_pem.empty())) {
    return "TLS: a client certificate needs its key, and a key its certificate";
  }
  // OpenSSL only says "no such file" of a file it cannot open: say which, and why. (An item
  // given as PEM text does not read its file.)
  const std::tuple<const char*, const std::string*, const std::string*> files[] = {
      {"CA", &t.ca_file, &t.ca_pem},
      {"certificate", &t.cert_file, &t.cert_pem},
      {"key", &t.key_file, &t.key_pem}};
  for (const auto& [what, path, pem] : files) {
    if (pem->empty() && !path->empty() && ::access(path->c_str(), R_OK) != 0) {
      return std::string("cannot read the TLS ") + what + " file " + *path + ": " +
             std::strerror(errno);
    }
  }
  // The whole TLS context is ours (TLS 1.2 or later; CAs, certificate and key from files or
  // PEM text; none: the system's CAs), and the library takes it as it is (no defaults of its
  // own): the broker's certificate must be for `server_name`, else the host, checked by
  // OpenSSL during the handshake.
  SSL_CTX* raw = nullptr;
  try {
    auto ctx = net::make_tls_context(t, net::tls_side::client);
    raw = ctx.native_handle();
    // Ours beyond the asio context, which would take the context's application data (below)
    // for its own callback and free it.
    SSL_CTX_up_ref(raw);
  } catch (const std::exception& e) {
    return e.what();
  }
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> owned(raw, &SSL_CTX_free);
  if (t.verify_peer) {
    const std::string& name = t.server_name.empty() ? opts_.host : t.server_name;
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(raw);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
    SSL_CTX_set_cert_verify_callback(
        raw, [](X509_STORE_CTX* store, void* self) { return verify_peer_cb(store, self); }, this);
  }
  // The library sends the address it dials as the name (SNI); `server_name`, else the host,
  // when it is a name (an address is never sent), replaces it as the handshake starts, before
  // the hello is written.
  in6_addr any_address;
  sni_ = t.server_name.empty() ? opts_.host : t.server_name;
  if (::inet_pton(AF_INET, sni_.c_str(), &any_address) != 1 &&
      ::inet_pton(AF_INET6, sni_.c_str(), &any_address) != 1) {
    SSL_CTX_set_app_data(raw, this);
    SSL_CTX_set_info_callback(raw, [](const SSL* ssl, int where, int) {
      if (!(where & SSL_CB_HANDSHAKE_START)) return;
      auto* self = static_cast<session*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
      // The callback is given the session as const; naming the server changes what it sends.
      SSL_set_tlsext_host_name(const_cast<SSL*>(ssl), self->sni_.c_str());
    });
  }
  int rc = mosquitto_int_option(mosq_, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  // The library takes a reference of its own.
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_void_option(mosq_, MOSQ_OPT_SSL_CTX, raw);
  if (rc != MOSQ_ERR_SUCCESS) return "TLS: " + error_text(rc);
  tls_ = true;
  return {};
}

session::~session() {
  if (mosq_) mosquitto_destroy(mosq_);
}

// ---- the library's callbacks: they record, under mutex_ (held by whoever called the library)

void session::on_connect(mosquitto*, void* self, int rc, int, const mqtt5__property*) {
  static_cast<session*>(self)->happened_.connack = rc;
}

void session::on_disconnect(mosquitto*, void* self, int rc, const mqtt5__property*) {
  static_cast<session*>(self)->happened_.disconnected = rc;
}

void session::on_message(mosquitto*, void* self, const ::mosquitto_message* m,
                         const mqtt5__property* props) {
  message msg;
  msg.topic = m->topic ? m->topic : "";
  if (m->payloadlen > 0) msg.payload.assign(static_cast<const char*>(m->payload), m->payloadlen);
  msg.info.qos = m->qos;
  msg.info.retain = m->retain;
  msg.info.mid = m->mid;
  read_properties(props, msg);
  static_cast<session*>(self)->happened_.messages.push_back(std::move(msg));
}

void session::on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                           const mqtt5__property*) {
  std::string failed;
  // 0x80 and above: the broker refused (MQTT 3.1.1's 0x80, MQTT 5's reason codes).
  if (count < 1 || granted[0] >= 0x80) {
    failed =
        "the broker refused the subscription (" + std::to_string(count < 1 ? -1 : granted[0]) + ")";
  }
  static_cast<session*>(self)->happened_.acks.emplace_back(mid, std::move(failed));
}

void session::on_unsubscribe(mosquitto*, void* self, int mid, const mqtt5__property*) {
  static_cast<session*>(self)->happened_.acks.emplace_back(mid, std::string());
}

void session::on_publish(mosquitto*, void* self, int mid, int reason, const mqtt5__property*) {
  auto* s = static_cast<session*>(self);
  // Most messages (QoS 0, replies) have nobody waiting: nothing to record.
  if (!s->waiters_.contains(mid)) return;
  std::string failed;
  if (reason >= 0x80) failed = "the broker refused the message (" + std::to_string(reason) + ")";
  s->happened_.acks.emplace_back(mid, std::move(failed));
}

void session::on_log(mosquitto*, void* self, int level, const char* text) {
  if (level != MOSQ_LOG_ERR || !text) return;
  auto* s = static_cast<session*>(self);
  // OpenSSL's errors come as "OpenSSL Error[0]: error:0A000086:SSL routines::<reason>".
  std::string_view t = text;
  if (t.starts_with("OpenSSL Error[")) {
    if (const auto colon = t.rfind(':'); colon != std::string_view::npos)
      t.remove_prefix(colon + 1);
  }
  if (s->logged_errors_.size() > 512 || s->logged_errors_.find(t) != std::string::npos) return;
  if (!s->logged_errors_.empty()) s->logged_errors_ += "; ";
  s->logged_errors_ += t;
}

session::happened session::take_locked(int rc) {
  happened h;
  std::swap(h, happened_);
  if (rc != MOSQ_ERR_SUCCESS && !h.disconnected) h.disconnected = rc;
  if (h.disconnected) h.why = failure_locked(*h.disconnected);
  return h;
}

std::string session::failure_locked(int rc) {
  std::string why = rc == MOSQ_ERR_SUCCESS ? "closed by the broker" : error_text(rc);
  if (!tls_) return why;
  std::string tls;
  if (verify_error_ != X509_V_OK) {
    tls = std::string("the broker's certificate is not accepted: ") +
          X509_verify_cert_error_string(verify_error_);
  }
  if (tls.empty()) tls = logged_errors_;
  // OpenSSL gave no reason: the connection went under the TLS session (the broker closed it
  // after its alert, before that could be read: a write failed first).
  if (tls.empty() && rc == MOSQ_ERR_ERRNO && errno == EPROTO) {
    tls = opts_.tls->cert_file.empty() && opts_.tls->cert_pem.empty()
              ? "the broker closed the TLS connection (no client certificate was given: does it "
                "require one?)"
              : "the broker closed the TLS connection";
  }
  logged_errors_.clear();
  verify_error_ = X509_V_OK;
  return tls.empty() ? why : "TLS: " + tls;
}

void* session::handshaking_locked() {
  if (!tls_ || !mosq_) return nullptr;
  auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(mosq_));
  return ssl && !SSL_is_init_finished(ssl) ? ssl : nullptr;
}

bool session::want_write_locked() {
  if (auto* ssl = handshaking_locked()) return SSL_want_write(static_cast<SSL*>(ssl));
  return mosquitto_want_write(mosq_);
}

bool session::readable_now_locked(int fd) {
  // Records the TLS session decrypted already are no longer on the socket.
  if (auto* ssl = tls_ ? static_cast<SSL*>(mosquitto_ssl_get(mosq_)) : nullptr;
      ssl && SSL_pending(ssl) > 0) {
    return true;
  }
  pollfd p{fd, POLLIN, 0};
  return fd >= 0 && ::poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

// OpenSSL's verification of the broker's certificate, whose error is kept to say why (the
// library frees the TLS session, and its result, when the handshake fails). With no
// per-certificate callback: the library's (which, with its host name check off, would only pass
// `ok` on) finds its connection through an index it makes along with its own TLS context, which
// it does not make when given ours.
int session::verify_peer_cb(void* store, void* self) {
  auto* ctx = static_cast<X509_STORE_CTX*>(store);
  X509_STORE_CTX_set_verify_cb(ctx, [](int ok, X509_STORE_CTX*) { return ok; });
  const int ok = X509_verify_cert(ctx);
  if (ok <= 0) static_cast<session*>(self)->verify_error_ = X509_STORE_CTX_get_error(ctx);
  return ok;
}

// ---- any thread ---------------------------------------------------------------------------

bool session::subscribe(const std::string& topic, int qos, done_fn done) {
  std::vector<std::pair<int, std::string>> acks;
  {
    std::lock_guard lock(mutex_);
    if (!mosq_ || !connected_.load()) return false;
    int mid = 0;
    if (mosquitto_subscribe_v5(mosq_, &mid, topic.c_str(), qos, 0, nullptr) != MOSQ_ERR_SUCCESS) {
      return false;
    }
    if (done) waiters_.emplace(mid, std::move(done));
    acks = std::move(happened_.acks);
    happened_.acks.clear();
  }
  settle(acks);
  want_write_check();
  return true;
}

bool session::unsubscribe(const std::string& topic, done_fn done) {
  std::vector<std::pair<int, std::string>> acks;
  {
    std::lock_guard lock(mutex_);
    if (!mosq_ || !connected_.load()) return false;
    int mid = 0;
    if (mosquitto_unsubscribe_v5(mosq_, &mid, topic.c_str(), nullptr) != MOSQ_ERR_SUCCESS) {
      return false;
    }
    if (done) waiters_.emplace(mid, std::move(done));
    acks = std::move(happened_.acks);
    happened_.acks.clear();
  }
  settle(acks);
  want_write_check();
  return true;
}

std::string session::publish(const std::string& topic, std::string_view payload,
                             const publish_options& o, done_fn done) {
  property_list props;
  if (v5()) {
    if (o.user_properties) {
      for (const auto& [k, v] : *o.user_properties) {
        mosquitto_property_add_string_pair(&props.head, MQTT_PROP_USER_PROPERTY, k.c_str(),
                                           v.c_str());
      }
    }
    if (!o.content_type.empty()) {
      const std::string type(o.content_type);
      mosquitto_property_add_string(&props.head, MQTT_PROP_CONTENT_TYPE, type.c_str());
    }
    if (o.message_expiry_interval) {
      mosquitto_property_add_int32(&props.head, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                   *o.message_expiry_interval);
    }
  }
  std::vector<std::pair<int, std::string>> acks;
  {
    std::lock_guard lock(mutex_);
    if (!mosq_ || !connected_.load()) return "not connected";
    int mid = 0;
    const int rc =
        mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), o.qos, o.retain, props.head);
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
      // The connection went (the library saw it first, or writing failed: broken pipe): said
      // as for the calls in flight, which its loss fails.
      return "Connection closed: " + error_text(rc);
    }
    if (rc != MOSQ_ERR_SUCCESS) return error_text(rc);
    if (done && o.qos > 0) waiters_.emplace(mid, std::move(done));
    // A QoS 0 message reports itself sent as soon as it is written: nothing waits for it.
    acks = std::move(happened_.acks);
    happened_.acks.clear();
  }
  settle(acks);
  want_write_check();
  return {};
}

void session::settle(std::vector<std::pair<int, std::string>>& acks) {
  for (auto& [mid, failed] : acks) {
    done_fn f;
    {
      std::lock_guard lock(mutex_);
      auto it = waiters_.find(mid);
      if (it == waiters_.end()) continue;
      f = std::move(it->second);
      waiters_.erase(it);
    }
    f(failed);
  }
}

void session::fail_waiters(const std::string& why) {
  std::map<int, done_fn> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(waiters_);
  }
  for (auto& [mid, f] : failed) f(why);
}

void session::want_write_check() {
  bool want;
  {
    std::lock_guard lock(mutex_);
    want = mosq_ && want_write_locked();
  }
  if (want && !write_posted_.exchange(true)) {
    asio::post(strand_, [self = shared_from_this()] {
      self->write_posted_ = false;
      self->arm_write();
    });
  }
}

void session::close() {
  if (closing_.exchange(true)) return;
  {
    std::lock_guard lock(mutex_);
    if (mosq_ && connected_.load()) {
      // What is still queued (replies of the messages served last) goes first, for a while.
      const int fd = mosquitto_socket(mosq_);
      // (Nothing during a TLS handshake: the library writes none of it then.)
      for (int i = 0; i < 50 && fd >= 0 && !handshaking_locked() && mosquitto_want_write(mosq_);
           ++i) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 10) == 1 && mosquitto_loop_write(mosq_, 1) != MOSQ_ERR_SUCCESS) break;
      }
      mosquitto_disconnect(mosq_);
    }
    connected_ = false;
  }
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->ticker_.cancel();
    self->retry_.cancel();
    self->deadline_.cancel();
    if (self->socket_) {
      ++self->generation_;
      self->socket_->close();
      self->socket_.reset();
    }
    self->connect_failed("Connection closed");
    self->fail_waiters("Connection closed");
  });
}

// ---- the strand ---------------------------------------------------------------------------

awaitable<void> session::open() {
  auto init = [self = shared_from_this()](auto handler) {
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    asio::dispatch(self->strand_, [self, h, ex] {
      self->open_done_ = [h, ex](const std::string& failed) {
        asio::post(ex, asio::append(std::move(*h), failed));
      };
      self->start_connect(true);
    });
  };
  std::string failed =
      co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::string)>(
          init, asio::use_awaitable);
  if (!failed.empty()) {
    throw connection_error(make_error_code(error::not_connected),
                           std::string(side_) + ": cannot connect to " + opts_.host + ":" +
                               std::to_string(opts_.port) + ": " + failed);
  }
}

void session::start_connect(bool first) {
  if (closing_.load()) {
    connect_failed("Connection closed");
    return;
  }
  if (!mosq_) {
    connect_failed("out of memory");
    return;
  }
  if (!setup_error_.empty()) {
    connect_failed(setup_error_);
    return;
  }
  if (first && address_.empty()) {
    // The library would look a name up itself, blocking the executor's thread: it is given an
    // address, looked up here first (once: reconnections dial the same address).
    boost::system::error_code not_numeric;
    asio::ip::make_address(opts_.host, not_numeric);
    if (not_numeric) {
      arm_deadline();
      asio::co_spawn(strand_, look_up_then_connect(shared_from_this()), asio::detached);
      return;
    }
    address_ = opts_.host;
  }
  int rc;
  std::string why;
  {
    std::lock_guard lock(mutex_);
    verify_error_ = X509_V_OK;
    logged_errors_.clear();
    // The library's log says why TLS failed (OpenSSL's reasons), which only a connection being
    // made needs: with a log callback set, the library formats a line for every packet sent
    // and received (a third of a plain request's instructions), so it is set only then.
    mosquitto_log_callback_set(mosq_, tls_ ? &session::on_log : nullptr);
    rc = first ? mosquitto_connect_bind_async(mosq_, address_.c_str(), opts_.port, opts_.keepalive,
                                              nullptr)
               : mosquitto_reconnect_async(mosq_);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_PENDING) why = failure_locked(rc);
  }
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_PENDING) {
    if (first && try_next_address()) return;
    if (first || !reconnect_) {
      connect_failed(why);
    } else {
      opts_.log.warn(side_, "reconnecting failed: " + why);
      schedule_reconnect();
    }
    return;
  }
  adopt_socket();
  if (first) arm_deadline();
}

void session::arm_deadline() {
  deadline_.expires_after(opts_.connect_timeout);
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || !self->open_done_) return;
    self->lost("timed out");
  });
}

awaitable<void> session::look_up_then_connect(std::shared_ptr<session> self) {
  auto [ec, found] = co_await net::resolve(self->opts_.host, self->opts_.port);
  if (!self->open_done_) co_return;  // timed out, or closed, meanwhile
  if (ec || found.empty()) {
    self->deadline_.cancel();
    self->connect_failed("cannot look up the host: " +
                         (ec ? ec.message() : std::string("no address")));
    co_return;
  }
  for (const auto& e : found) self->addresses_.push_back(e.address().to_string());
  self->address_ = self->addresses_.front();
  self->next_address_ = 1;
  self->start_connect(true);
}

bool session::try_next_address() {
  // A name with several addresses (IPv6 and IPv4, say): the next one, as the library would.
  if (!open_done_ || next_address_ >= addresses_.size()) return false;
  address_ = addresses_[next_address_++];
  start_connect(true);
  return true;
}

void session::adopt_socket() {
  int fd;
  {
    std::lock_guard lock(mutex_);
    fd = mosquitto_socket(mosq_);
  }
  if (socket_) socket_->close();
  socket_.reset();
  ++generation_;
  read_armed_ = write_armed_ = false;
  // A duplicate, ours to watch and close: the library closes its own when the connection
  // drops, and the number may be reused at once by another socket of the process.
  const int mine = fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (mine < 0) {
    lost("no socket");
    return;
  }
  // Small requests and replies go out at once instead of waiting for the peer's delayed
  // acknowledgement of the previous one (libmosquitto's own TCP_NODELAY option is not applied
  // to a connection made without blocking). The duplicate is the same socket.
  const int on = 1;
  ::setsockopt(mine, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  socket_ = std::make_unique<asio::posix::stream_descriptor>(strand_, mine);
  arm_read();
  arm_write();  // the TCP connection completes with the socket writable
  if (!ticking_) {
    ticking_ = true;
    tick();
  }
}

void session::arm_read() {
  if (read_armed_ || !socket_) return;
  read_armed_ = true;
  socket_->async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this(), g = generation_](boost::system::error_code ec) {
                        if (ec) return;
                        self->on_readable(g);
                      });
}

void session::arm_write() {
  if (write_armed_ || !socket_) return;
  write_armed_ = true;
  socket_->async_wait(asio::posix::stream_descriptor::wait_write,
                      [self = shared_from_this(), g = generation_](boost::system::error_code ec) {
                        if (ec) return;
                        self->on_writable(g);
                      });
}

void session::on_readable(unsigned generation) {
  if (generation != generation_) return;
  read_armed_ = false;
  const int fd = socket_ ? socket_->native_handle() : -1;
  int rc = MOSQ_ERR_SUCCESS;
  happened h;
  bool more = false;
  {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < reads_per_turn; ++i) {
      rc = mosquitto_loop_read(mosq_, 1);
      if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0) break;
      if (!readable_now_locked(fd)) break;
      more = i + 1 == reads_per_turn;
    }
    h = take_locked(rc);
  }
  hand_on(h);
  if (generation != generation_ || !socket_) return;  // lost, or closed, meanwhile
  want_write_check();
  if (more) {
    asio::post(strand_, [self = shared_from_this(), generation] { self->on_readable(generation); });
  } else {
    arm_read();
  }
}

void session::on_writable(unsigned generation) {
  if (generation != generation_) return;
  write_armed_ = false;
  happened h;
  bool want = false;
  {
    std::lock_guard lock(mutex_);
    // During a TLS handshake the library writes nothing: its reading side advances the
    // handshake (which may be waiting to write).
    const int rc =
        handshaking_locked() ? mosquitto_loop_read(mosq_, 1) : mosquitto_loop_write(mosq_, 1);
    want = mosquitto_socket(mosq_) >= 0 && want_write_locked();
    h = take_locked(rc);
  }
  hand_on(h);
  if (generation == generation_ && want) arm_write();
}

void session::tick() {
  ticker_.expires_after(std::chrono::seconds(1));
  ticker_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closing_.load()) return;
    if (self->socket_ && self->connected_.load()) {
      happened h;
      {
        std::lock_guard lock(self->mutex_);
        // Keep-alive: a PINGREQ when due, and the connection dropped when its answer is late.
        h = self->take_locked(mosquitto_loop_misc(self->mosq_));
      }
      self->hand_on(h);
      self->want_write_check();
    }
    self->tick();
  });
}

void session::hand_on(happened& h) {
  settle(h.acks);
  if (h.connack) {
    if (*h.connack == 0) {
      deadline_.cancel();
      {
        std::lock_guard lock(mutex_);
        mosquitto_log_callback_set(mosq_, nullptr);  // connected: no line per packet (above)
      }
      connected_ = true;
      const bool again = ever_connected_;
      ever_connected_ = true;
      if (open_done_) {
        auto done = std::move(open_done_);
        open_done_ = nullptr;
        done({});
      } else if (again && events_.up) {
        opts_.log.info(side_, "reconnected to " + opts_.host + ":" + std::to_string(opts_.port));
        events_.up();
      }
    } else {
      const char* why =
          v5() ? mosquitto_reason_string(*h.connack) : mosquitto_connack_string(*h.connack);
      h.disconnected.reset();
      lost(std::string("the broker refused the connection: ") + (why ? why : "?"));
      return;
    }
  }
  if (!h.messages.empty() && events_.messages) events_.messages(h.messages);
  if (h.disconnected) lost(h.why);
}

void session::connect_failed(const std::string& why) {
  if (!open_done_) return;
  auto done = std::move(open_done_);
  open_done_ = nullptr;
  done(why);
}

void session::lost(const std::string& why) {
  const bool was_up = connected_.exchange(false);
  if (socket_) {
    ++generation_;
    socket_->close();
    socket_.reset();
  }
  // The library's own socket, when it has not closed it itself (a connection that timed out),
  // is closed by the next reconnection, or when the session goes.
  fail_waiters("Connection closed: " + why);
  if (open_done_) {
    if (why != "timed out" && try_next_address()) return;
    deadline_.cancel();
    connect_failed(why);
    return;
  }
  if (closing_.load()) return;
  if (was_up) {
    opts_.log.error(
        side_, "connection to " + opts_.host + ":" + std::to_string(opts_.port) + " lost: " + why);
    if (events_.down) events_.down(why);
  }
  if (reconnect_) schedule_reconnect();
}

void session::schedule_reconnect() {
  if (closing_.load()) return;
  retry_.expires_after(opts_.reconnect_period);
  retry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closing_.load()) return;
    self->start_connect(false);
  });
}

}  // namespace roost::mqtt::detail
