#include "connection.hpp"

#include "frames.hpp"
#include "tls.hpp"

#include <roost/errors.hpp>

#include <amqp_tcp_socket.h>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace roost::rmq::detail {

namespace {

constexpr std::string_view source = "rmq";
constexpr amqp_channel_t channel = 1;
// The largest frame we ask for (the broker's default, 128 KiB); bigger bodies go in several.
constexpr int frame_max = 131072;

amqp_bytes_t bytes_of(std::string_view s) noexcept {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

timeval timeval_of(std::chrono::milliseconds d) noexcept {
  const auto ms = d.count() < 1 ? 1 : d.count();
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// The broker's reason for a failed RPC, or the library's.
std::string reason(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply from the broker";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
        return "the broker closed the connection: " + std::string(text_of(m->reply_text));
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
        return "the broker closed the channel: " + std::string(text_of(m->reply_text));
      }
      return "unexpected reply from the broker (" + std::string(amqp_method_name(r.reply.id)) + ")";
  }
  return "unknown error";
}

}  // namespace

connection::connection(connection_options opts, setup s, connection_events events, bool reconnect)
    : opts_(std::move(opts)),
      setup_(s),
      events_(std::move(events)),
      reconnect_(reconnect),
      queue_(opts_.queue),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  brokers_.push_back({opts_.host, opts_.port});
  brokers_.insert(brokers_.end(), opts_.failover.begin(), opts_.failover.end());
}

connection::~connection() {
  close();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

template <class Handler>
void connection::start(Handler h) {
  thread_ = std::thread([this, h = std::move(h)]() mutable {
    std::string failed = connect_and_set_up();
    const bool ok = failed.empty();
    if (ok) {
      ++generation_;
      // connect_and_set_up() waited for each consume-ok: the broker delivers from now on.
      consuming_ = !cancel_wanted_.load();
    }
    auto ex = boost::asio::get_associated_executor(h);
    boost::asio::post(ex, boost::asio::append(std::move(h), std::move(failed)));
    if (ok) run();
    finish();
  });
}

awaitable<void> connection::open() {
  auto init = [this](auto handler) { start(std::move(handler)); };
  std::string failed =
      co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::string)>(
          init, boost::asio::use_awaitable);
  if (!failed.empty()) {
    throw connection_error(make_error_code(error::not_connected), "rmq: " + failed);
  }
}

bool connection::send(outgoing op) {
  bool was_empty = false;
  {
    // Under the lock: once the thread has ended (and failed what was queued), nothing more
    // is taken, so nothing waits for a confirmation that cannot come.
    std::lock_guard lock(mutex_);
    if (closing_.load() || ended_.load()) return false;
    was_empty = queued_.empty();
    queued_.push_back(std::move(op));
  }
  // One wake-up per batch: the thread takes everything queued when it wakes.
  if (was_empty) wake();
  return true;
}

std::string connection::settle_refusal(std::uint64_t generation) const {
  if (generation != generation_.load() || generation == lost_.load()) {
    return "the connection that delivered it was lost (the broker delivers it again)";
  }
  if (closing_.load() || ended_.load()) return "the connection is closed";
  return {};
}

void connection::cancel_consumer() {
  cancel_wanted_ = true;
  consuming_ = false;
  wake();
}

void connection::close() {
  closing_ = true;
  consuming_ = false;
  wake();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // our own thread dropped the last reference: it ends by itself
    } else {
      thread_.join();
    }
  }
}

void connection::wake() noexcept {
  if (wake_fd_ < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

// True when `for_socket` (else the wake-up descriptor) is readable; waits at most timeout_ms
// (-1: for ever). The wake-up descriptor is drained when it fired.
bool connection::wait_readable(bool for_socket, int timeout_ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
  if (for_socket && state_) fds[1].fd = amqp_get_sockfd(state_);
  const int n = ::poll(fds, fds[1].fd >= 0 ? 2 : 1, timeout_ms);
  if (n <= 0) return false;
  if (fds[0].revents) {
    std::uint64_t count;
    [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
  }
  return fds[1].fd >= 0 && fds[1].revents != 0;
}

bool connection::heartbeat_due() {
  if (heartbeat_tick_.count() == 0) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_tick_) return false;
  next_tick_ = now + heartbeat_tick_;
  return true;
}

std::string connection::connect_and_set_up() {
  std::string failed;
  for (std::size_t i = 0; i < brokers_.size(); ++i) {
    const std::size_t at = (current_ + i) % brokers_.size();
    std::string why = connect_to(brokers_[at]);
    if (why.empty()) {
      current_ = at;
      return {};
    }
    disconnect(false);
    failed += (failed.empty() ? "" : "; ") + why;
  }
  return failed;
}

std::string connection::connect_to(const broker_address& broker) {
  state_ = amqp_new_connection();
  if (!state_) return "out of memory";
  std::string failed;
  amqp_socket_t* socket = opts_.tls ? make_tls_socket(state_, *opts_.tls, broker.host, failed)
                                    : amqp_tcp_socket_new(state_);
  if (!socket) return failed.empty() ? "cannot make a socket" : failed;
  const timeval limit = timeval_of(opts_.connect_timeout);
  const std::string where = broker.host + ":" + std::to_string(broker.port);
  if (int s = amqp_socket_open_noblock(socket, broker.host.c_str(), broker.port, &limit); s < 0) {
    std::string why = amqp_error_string2(s);
    if (opts_.tls) {
      // The library says only that the handshake failed; OpenSSL says why.
      if (auto tls = tls_failure(); !tls.empty()) why += " (" + tls + ")";
    }
    return "cannot connect to " + where + ": " + why;
  }
  amqp_set_handshake_timeout(state_, &limit);
  amqp_set_rpc_timeout(state_, &limit);
  // The broker tells a consumer it cancelled (its queue was deleted), and a connection that
  // it blocks publishing (connection.blocked), only to a client that says it understands;
  // rabbitmq-c adds these to its own capabilities.
  amqp_table_entry_t capabilities[2] = {};
  capabilities[0].key = amqp_cstring_bytes("consumer_cancel_notify");
  capabilities[1].key = amqp_cstring_bytes("connection.blocked");
  for (auto& c : capabilities) {
    c.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    c.value.value.boolean = 1;
  }
  amqp_table_entry_t property{};
  property.key = amqp_cstring_bytes("capabilities");
  property.value.kind = AMQP_FIELD_KIND_TABLE;
  property.value.value.table = amqp_table_t{2, capabilities};
  const amqp_table_t properties{1, &property};
  const int heartbeat = static_cast<int>(std::min<std::int64_t>(opts_.heartbeat.count(), 65535));
  auto login = amqp_login_with_properties(state_, opts_.vhost.c_str(), 0, frame_max, heartbeat,
                                          &properties, AMQP_SASL_METHOD_PLAIN, opts_.user.c_str(),
                                          opts_.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    return "cannot log in to " + where + " (vhost " + opts_.vhost + ") as " + opts_.user + ": " +
           reason(login);
  }
  // The interval both agreed on (the smaller non-zero one). rabbitmq-c sends a heartbeat and
  // notices a silent broker only inside its own calls: the loop wakes every quarter interval.
  heartbeat_tick_ = std::chrono::milliseconds(amqp_get_heartbeat(state_) * 1000 / 4);
  blocked_ = false;  // a broker still in alarm says so again
  next_tick_ = std::chrono::steady_clock::now() + heartbeat_tick_;
  amqp_channel_open(state_, channel);
  if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return "cannot open a channel: " + reason(r);
  }
  if (setup_.confirms) {
    amqp_confirm_select(state_, channel);
    if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return "cannot turn publisher confirms on: " + reason(r);
    }
    next_sequence_ = 1;
  }
  // NestJS's client asserts the queue only when it publishes to it (no wildcards, no fanout).
  const bool to_exchange =
      setup_.consume_replies && (opts_.wildcards || opts_.exchange_type == "fanout");
  // The options' queue is asserted unless `noAssert` (a server's broker-named one always).
  const bool assert_more = setup_.assert_queue && !to_exchange && !opts_.no_assert;
  const bool assert_main =
      assert_more || (setup_.assert_queue && !to_exchange && opts_.queue.empty());
  consumed_.clear();
  for (std::size_t i = 0; i <= setup_.more_queues.size(); ++i) {
    const std::string& name = i == 0 ? opts_.queue : setup_.more_queues[i - 1];
    if (!(i == 0 ? assert_main : assert_more)) {
      consumed_.push_back(name);
    } else if (auto failed = declare_queue(name); !failed.empty()) {
      return failed;
    }
  }
  // queue() is read by other threads once open() completed: it is written before only.
  if (generation_.load() == 0) queue_ = consumed_.front();
  if (std::string failed = set_up_exchange(); !failed.empty()) return failed;
  if (setup_.consume_queue) {
    if (setup_.prefetch_count > 0) {
      amqp_basic_qos(state_, channel, 0, setup_.prefetch_count, setup_.global_prefetch);
      if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
        return "cannot set the prefetch count: " + reason(r);
      }
    }
    consumer_tags_.clear();
    for (const auto& queue : consumed_) {
      const auto* ok = amqp_basic_consume(state_, channel, bytes_of(queue), amqp_empty_bytes, 0,
                                          setup_.no_ack, 0, amqp_empty_table);
      if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL || !ok) {
        return "cannot consume queue \"" + queue + "\": " + reason(r);
      }
      consumer_tags_.emplace_back(text_of(ok->consumer_tag));
    }
  }
  if (setup_.consume_replies) {
    // Direct reply-to (or the application's reply queue, which NestJS's client does not
    // assert either): consumed without acks, on the channel requests are published on.
    amqp_basic_consume(state_, channel, bytes_of(setup_.reply_queue), amqp_empty_bytes, 0, 1, 0,
                       amqp_empty_table);
    if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return "cannot consume the reply queue \"" + setup_.reply_queue + "\": " + reason(r);
    }
  }
  // From here on a message is read whole however long its frames take to come.
  amqp_set_rpc_timeout(state_, nullptr);
  return {};
}

// queue.declare with the options' queueOptions; the queue's name as the broker confirmed it
// (its own name for one asked for without one: a new one at each reconnection) goes to
// consumed_.
std::string connection::declare_queue(const std::string& name) {
  // queueOptions' arguments that roost reads, as amqplib names them. The broker compares
  // numbers by value whatever their width: a 64-bit one matches amqplib's smaller ones.
  std::vector<amqp_table_entry_t> arguments(8 + opts_.queue_arguments.size());
  int count = 0;
  auto argument = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    arguments[count] = amqp_table_entry_t{};
    arguments[count].key = amqp_cstring_bytes(key);
    arguments[count].value.kind = AMQP_FIELD_KIND_UTF8;
    arguments[count].value.value.bytes = bytes_of(value);
    ++count;
  };
  auto number = [&](const char* key, std::optional<std::int64_t> value) {
    if (!value) return;
    arguments[count] = amqp_table_entry_t{};
    arguments[count].key = amqp_cstring_bytes(key);
    arguments[count].value.kind = AMQP_FIELD_KIND_I64;
    arguments[count].value.value.i64 = *value;
    ++count;
  };
  auto millis = [](const std::optional<std::chrono::milliseconds>& d) {
    return d ? std::optional<std::int64_t>(d->count()) : std::nullopt;
  };
  argument("x-dead-letter-exchange", opts_.dead_letter_exchange);
  argument("x-dead-letter-routing-key", opts_.dead_letter_routing_key);
  number("x-message-ttl", millis(opts_.message_ttl));
  number("x-expires", millis(opts_.expires));
  number("x-max-length", opts_.max_length ? std::optional<std::int64_t>(
                                                static_cast<std::int64_t>(*opts_.max_length))
                                          : std::nullopt);
  number("x-max-priority", opts_.max_priority);
  argument("x-overflow", opts_.overflow);
  argument("x-queue-mode", opts_.queue_mode);
  // `queueOptions.arguments`, typed as a URL gives them: integers and booleans as such. The
  // options above win over an argument of the same name, as amqplib's do.
  const int named = count;
  for (const auto& [key, value] : opts_.queue_arguments) {
    // by name: clang 14 cannot capture a structured binding
    if (std::any_of(
            arguments.begin(), arguments.begin() + named,
            [&wanted = key](const amqp_table_entry_t& e) { return text_of(e.key) == wanted; })) {
      continue;
    }
    auto& e = arguments[count++] = amqp_table_entry_t{};
    e.key = bytes_of(key);
    std::int64_t n = 0;
    const char* end = value.data() + value.size();
    if (auto [at, ec] = std::from_chars(value.data(), end, n);
        !value.empty() && ec == std::errc{} && at == end) {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = n;
    } else if (value == "true" || value == "false") {
      e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
      e.value.value.boolean = value == "true";
    } else {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = bytes_of(value);
    }
  }
  const amqp_table_t table{count, arguments.data()};
  const auto* ok = amqp_queue_declare(state_, channel, bytes_of(name), 0, opts_.durable,
                                      opts_.exclusive, opts_.auto_delete, table);
  if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL || !ok) {
    return "cannot assert queue \"" + name + "\": " + reason(r);
  }
  consumed_.emplace_back(text_of(ok->queue));
  return {};
}

std::string connection::bind(const std::string& queue, const std::string& exchange,
                             const std::string& key) {
  amqp_queue_bind(state_, channel, bytes_of(queue), bytes_of(exchange), bytes_of(key),
                  amqp_empty_table);
  if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return "cannot bind queue \"" + queue + "\" to exchange \"" + exchange + "\" with key \"" +
           key + "\": " + reason(r);
  }
  return {};
}

// The exchange, as NestJS sets it up: a server (or a wildcards or fanout client) asserts it
// durable, with `exchangeArguments`; a server binds each of its queues with the routing key
// (fanout: '') and, with wildcards, with each handler's route; a client that publishes to its
// queue binds it only when given both an exchange and a routing key.
std::string connection::set_up_exchange() {
  const bool fanout = opts_.exchange_type == "fanout";
  const std::string exchange = opts_.exchange.empty() ? opts_.queue : opts_.exchange;
  const bool server = setup_.consume_queue;
  if (!server && !opts_.wildcards && !fanout) {
    if (opts_.exchange.empty() || opts_.routing_key.empty()) return {};
    return bind(consumed_.front(), opts_.exchange, opts_.routing_key);
  }
  if (server && opts_.exchange.empty() && !opts_.wildcards) return {};
  std::vector<amqp_table_entry_t> arguments(opts_.exchange_arguments.size());
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    arguments[i].key = bytes_of(opts_.exchange_arguments[i].first);
    arguments[i].value.kind = AMQP_FIELD_KIND_UTF8;
    arguments[i].value.value.bytes = bytes_of(opts_.exchange_arguments[i].second);
  }
  const amqp_table_t table{static_cast<int>(arguments.size()), arguments.data()};
  amqp_exchange_declare(state_, channel, bytes_of(exchange), bytes_of(opts_.exchange_type), 0, 1, 0,
                        0, table);
  if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return "cannot assert exchange \"" + exchange + "\" (" + opts_.exchange_type +
           "): " + reason(r);
  }
  if (!server) return {};
  for (const auto& queue : consumed_) {
    if (!opts_.routing_key.empty() || fanout) {
      if (auto failed = bind(queue, exchange, fanout ? std::string() : opts_.routing_key);
          !failed.empty()) {
        return failed;
      }
    }
    if (opts_.wildcards) {
      for (const auto& key : setup_.bind_keys) {
        if (auto failed = bind(queue, exchange, key); !failed.empty()) return failed;
      }
    }
  }
  return {};
}

void connection::run() {
  for (;;) {
    if (serve()) return;  // closing
    if (!reconnect_ || closing_.load()) return;
    if (!wait_to_reconnect()) return;
    if (events_.reconnected) events_.reconnected();
  }
}

bool connection::wait_to_reconnect() {
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + opts_.reconnect_time;
    while (!closing_.load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      wait_readable(false, static_cast<int>(left.count()));
    }
    if (closing_.load()) return false;
    // What was queued for the lost connection (replies, acks) has nowhere to go.
    fail_unconfirmed("Connection closed");
    std::string failed = connect_and_set_up();
    if (failed.empty()) {
      ++generation_;
      consuming_ = !cancel_wanted_.load() && !closing_.load();
      return true;
    }
    disconnect(false);
    opts_.log.warn(source, "reconnecting failed: " + failed);
  }
}

bool connection::write_queued(std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (writing_.empty()) {
      writing_.swap(queued_);
    } else {
      // What a block held back goes first, in order.
      std::move(queued_.begin(), queued_.end(), std::back_inserter(writing_));
      queued_.clear();
    }
  }
  const auto current = generation_.load();
  std::vector<amqp_table_entry_t> entries;
  // Over plain TCP the batch's frames are encoded here and written together, with one system
  // call (rabbitmq-c would make one per frame, three a message); rabbitmq-c's TLS socket
  // writes them itself, as it is not ours to write to.
  const bool batched = !opts_.tls;
  const auto max_frame = static_cast<std::size_t>(amqp_get_frame_max(state_));
  out_.clear();
  std::size_t written = 0;
  for (; written < writing_.size(); ++written) {
    auto& op = writing_[written];
    // While the broker blocks publishing it stops reading a connection that publishes, acks
    // included: hold this publish and what follows it (in order: a retry's copy goes before
    // the ack of its original) until it unblocks.
    if (blocked_ && op.what == outgoing::kind::publish) break;
    int status = AMQP_STATUS_OK;
    switch (op.what) {
      case outgoing::kind::publish: {
        amqp_basic_properties_t p{};
        if (op.delivery_mode) {
          p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
          p.delivery_mode = *op.delivery_mode;
        }
        if (op.priority) {
          p._flags |= AMQP_BASIC_PRIORITY_FLAG;
          p.priority = *op.priority;
        }
        if (!op.expiration.empty()) {
          p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
          p.expiration = bytes_of(op.expiration);
        }
        if (!op.message_id.empty()) {
          p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
          p.message_id = bytes_of(op.message_id);
        }
        if (!op.content_type.empty()) {
          p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
          p.content_type = bytes_of(op.content_type);
        }
        if (!op.reply_to.empty()) {
          p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
          p.reply_to = bytes_of(op.reply_to);
        }
        if (!op.correlation_id.empty()) {
          p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
          p.correlation_id = bytes_of(op.correlation_id);
        }
        if (!op.headers.empty()) {
          entries.clear();
          for (const auto& [k, v] : op.headers) {
            amqp_table_entry_t e{};
            e.key = bytes_of(k);
            e.value.kind = AMQP_FIELD_KIND_UTF8;
            e.value.value.bytes = bytes_of(v);
            entries.push_back(e);
          }
          p._flags |= AMQP_BASIC_HEADERS_FLAG;
          p.headers.num_entries = static_cast<int>(entries.size());
          p.headers.entries = entries.data();
        }
        if (batched) {
          amqp_basic_publish_t m{};
          m.exchange = bytes_of(op.exchange);
          m.routing_key = bytes_of(op.routing_key);
          status = append_publish(out_, channel, max_frame, m, p, op.body)
                       ? AMQP_STATUS_OK
                       : AMQP_STATUS_BAD_AMQP_DATA;
        } else {
          status = amqp_basic_publish(state_, channel, bytes_of(op.exchange),
                                      bytes_of(op.routing_key), 0, 0, &p, bytes_of(op.body));
        }
        if (status == AMQP_STATUS_OK && setup_.confirms) {
          // Every publish of a confirm channel is numbered, awaited or not.
          const auto sequence = next_sequence_++;
          if (op.confirmed) unconfirmed_.emplace_back(sequence, std::move(op.confirmed));
        }
        break;
      }
      case outgoing::kind::ack:
      case outgoing::kind::requeue:
      case outgoing::kind::reject:
        // A tag of an earlier connection means nothing on this one (the broker delivers
        // that message again anyway).
        if (op.generation != current) break;
        if (batched) {
          status = append_settlement(op);
        } else if (op.what == outgoing::kind::ack) {
          status = amqp_basic_ack(state_, channel, op.delivery_tag, 0);
        } else {
          status = amqp_basic_nack(state_, channel, op.delivery_tag, 0,
                                   op.what == outgoing::kind::requeue);
        }
        break;
    }
    if (status == AMQP_STATUS_OK && out_.size() >= flush_at) status = write_out();
    if (status != AMQP_STATUS_OK) {
      why = std::string("cannot write to the broker: ") + amqp_error_string2(status);
      return false;  // what was not written fails with the connection (fail_unconfirmed)
    }
  }
  if (int status = write_out(); status != AMQP_STATUS_OK) {
    why = std::string("cannot write to the broker: ") + amqp_error_string2(status);
    return false;
  }
  writing_.erase(writing_.begin(), writing_.begin() + static_cast<std::ptrdiff_t>(written));
  if (blocked_) fail_held_past_bound();
  return true;
}

std::optional<std::chrono::milliseconds> connection::until_held_fail() const {
  const bool waiting = std::any_of(writing_.begin(), writing_.end(),
                                   [](const outgoing& op) { return op.confirmed != nullptr; });
  if (!blocked_ || !waiting) return std::nullopt;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      blocked_since_ + opts_.blocked_timeout - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

void connection::fail_held_past_bound() {
  if (std::chrono::steady_clock::now() - blocked_since_ < opts_.blocked_timeout) return;
  // The client's publishes fail (each caller learns why); the server's replies and retries,
  // whose senders wait for nothing, stay held until the broker unblocks.
  std::vector<std::function<void(const std::string&)>> failed;
  std::erase_if(writing_, [&](outgoing& op) {
    if (!op.confirmed) return false;
    failed.push_back(std::move(op.confirmed));
    return true;
  });
  const std::string why = std::string(blocked_by_broker) + " (" + blocked_reason_ + ")";
  for (auto& f : failed) f(why);
}

int connection::append_settlement(const outgoing& op) {
  const auto max_frame = static_cast<std::size_t>(amqp_get_frame_max(state_));
  bool ok = false;
  if (op.what == outgoing::kind::ack) {
    amqp_basic_ack_t m{op.delivery_tag, 0};
    ok = append_method(out_, channel, max_frame, AMQP_BASIC_ACK_METHOD, &m);
  } else {
    amqp_basic_nack_t m{op.delivery_tag, 0, op.what == outgoing::kind::requeue};
    ok = append_method(out_, channel, max_frame, AMQP_BASIC_NACK_METHOD, &m);
  }
  return ok ? AMQP_STATUS_OK : AMQP_STATUS_BAD_AMQP_DATA;
}

int connection::write_out() {
  const int fd = amqp_get_sockfd(state_);
  std::size_t done = 0;
  while (done < out_.size()) {
    const auto n = ::send(fd, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return AMQP_STATUS_SOCKET_ERROR;
    // rabbitmq-c's socket does not block: wait until the broker takes more. A broker that
    // stopped reading (one that blocked publishing before we heard) does not hold close()
    // up: closing gives up on the write.
    if (closing_.load()) return AMQP_STATUS_SOCKET_ERROR;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) < 0 && errno != EINTR) return AMQP_STATUS_SOCKET_ERROR;
  }
  // A batch of large messages does not keep its memory.
  if (out_.capacity() > 4 * flush_at) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  return AMQP_STATUS_OK;
}

void connection::settle_confirms(std::uint64_t tag, bool multiple, const std::string& failed) {
  auto done = [&](const auto& entry) { return multiple ? entry.first <= tag : entry.first == tag; };
  std::vector<std::function<void(const std::string&)>> settled;
  std::erase_if(unconfirmed_, [&](auto& entry) {
    if (!done(entry)) return false;
    settled.push_back(std::move(entry.second));
    return true;
  });
  for (auto& f : settled) f(failed);
}

void connection::fail_unconfirmed(const std::string& why) {
  std::vector<std::function<void(const std::string&)>> failed;
  for (auto& [sequence, f] : unconfirmed_) failed.push_back(std::move(f));
  unconfirmed_.clear();
  for (auto& op : writing_) {
    if (op.confirmed) failed.push_back(std::move(op.confirmed));
  }
  writing_.clear();
  {
    std::lock_guard lock(mutex_);
    for (auto& op : queued_) {
      if (op.confirmed) failed.push_back(std::move(op.confirmed));
    }
    queued_.clear();
  }
  for (auto& f : failed) f(why);
}

// A frame other than a delivery (amqp_consume_message left it for us). False when it ends
// the connection.
bool connection::handle_other_frame(std::string& why) {
  amqp_frame_t frame;
  if (int s = amqp_simple_wait_frame(state_, &frame); s != AMQP_STATUS_OK) {
    why = amqp_error_string2(s);
    return false;
  }
  if (frame.frame_type != AMQP_FRAME_METHOD) return true;  // a stray header or body: skipped
  switch (frame.payload.method.id) {
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
      why = "the broker closed the channel: " + std::string(text_of(m->reply_text));
      amqp_channel_close_ok_t ok{};
      amqp_send_method(state_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      return false;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
      why = "the broker closed the connection: " + std::string(text_of(m->reply_text));
      amqp_connection_close_ok_t ok{};
      amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      return false;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD: {
      const auto* m = static_cast<const amqp_connection_blocked_t*>(frame.payload.method.decoded);
      blocked_ = true;
      blocked_reason_ = std::string(text_of(m->reason));
      blocked_since_ = std::chrono::steady_clock::now();
      opts_.log.warn(source, "the broker blocks publishing (" + blocked_reason_ +
                                 "): publishes wait for it to unblock");
      return true;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
      if (blocked_) opts_.log.info(source, "the broker unblocked publishing");
      blocked_ = false;
      return true;
    case AMQP_BASIC_ACK_METHOD: {
      const auto* m = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
      settle_confirms(m->delivery_tag, m->multiple != 0, {});
      return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* m = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
      settle_confirms(m->delivery_tag, m->multiple != 0, std::string(refused_by_broker));
      return true;
    }
    case AMQP_BASIC_CANCEL_METHOD: {
      // The broker cancelled a consumer (its queue was deleted).
      const auto* m = static_cast<const amqp_basic_cancel_t*>(frame.payload.method.decoded);
      why = "the broker cancelled the consumer (was queue \"" + queue_of(m->consumer_tag) +
            "\" deleted?)";
      return false;
    }
    default:
      return true;  // cancel-ok and the like
  }
}

bool connection::serve() {
  std::string why;
  bool poll_first = false;
  for (;;) {
    if (closing_.load()) {
      write_queued(why);  // the replies of what was served still go
      if (blocked_ && !writing_.empty()) {
        opts_.log.warn(source, std::to_string(writing_.size()) +
                                   " messages not published at close: the broker blocks "
                                   "publishing (" +
                                   blocked_reason_ + ")");
      }
      disconnect(true);
      fail_unconfirmed("Connection closed");
      return true;
    }
    if (!write_queued(why)) break;
    if (cancel_wanted_.exchange(false)) {
      if (!cancel_consumers(why)) break;
      cancel_confirmed_ = true;
    }
    bool tick = false;
    const bool nothing_read = !amqp_frames_enqueued(state_) && !amqp_data_in_buffer(state_);
    // Deliveries the broker sent before its cancel-ok were read with it (frames of a channel
    // come in order), and were delivered once nothing read is left.
    if (cancel_confirmed_ && nothing_read) cancelled_ = true;
    if (poll_first || nothing_read) {
      poll_first = false;
      // Wake for the next heartbeat tick, and for the bound of publishes a block holds.
      int timeout = heartbeat_tick_.count() ? static_cast<int>(heartbeat_tick_.count()) : -1;
      if (auto held = until_held_fail()) {
        const int ms = static_cast<int>(held->count());
        if (timeout < 0 || ms < timeout) timeout = ms;
      }
      const bool readable = wait_readable(true, timeout);
      tick = heartbeat_due();
      if (!readable && !tick) continue;  // woken: write, cancel or close
    }
    amqp_envelope_t envelope{};
    // On a heartbeat tick, rabbitmq-c sends one if we have been silent for an interval, and
    // fails with AMQP_STATUS_HEARTBEAT_TIMEOUT if the broker has been for two; it checks the
    // latter only when given a wait, hence the millisecond.
    const timeval wait{0, tick ? 1000 : 0};
    auto r = amqp_consume_message(state_, &envelope, &wait, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      auto owned = envelope_ptr(new amqp_envelope_t(envelope));
      std::string queue = queue_of(envelope.consumer_tag);
      if (events_.delivered) {
        events_.delivered({std::move(owned), generation_.load(), std::move(queue)});
      }
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
               r.library_error == AMQP_STATUS_TIMEOUT) {
      poll_first = true;  // only part of a frame was there
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
               r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      if (!handle_other_frame(why)) break;
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
               r.library_error == AMQP_STATUS_HEARTBEAT_TIMEOUT) {
      why = "no heartbeat from the broker for two intervals (" +
            std::to_string(amqp_get_heartbeat(state_)) + " s each)";
      break;
    } else {
      why = reason(r);
      break;
    }
    amqp_maybe_release_buffers(state_);
  }
  const auto& broker = brokers_[current_];
  opts_.log.error(
      source, "connection to " + broker.host + ":" + std::to_string(broker.port) + " lost: " + why);
  consuming_ = false;
  lost_ = generation_.load();
  disconnect(false);
  fail_unconfirmed("Connection closed: " + why);
  if (events_.lost) events_.lost(why);
  return false;
}

std::string connection::queue_of(const amqp_bytes_t& consumer_tag) const {
  for (std::size_t i = 0; i < consumer_tags_.size(); ++i) {
    if (consumer_tags_[i] == text_of(consumer_tag)) return consumed_[i];
  }
  return {};  // the client's reply consumer
}

bool connection::cancel_consumers(std::string& why) {
  for (const auto& tag : consumer_tags_) {
    amqp_basic_cancel(state_, channel, bytes_of(tag));
    if (auto r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
      why = "cannot cancel the consumer of a queue: " + reason(r);
      return false;
    }
  }
  consumer_tags_.clear();
  return true;
}

void connection::disconnect(bool graceful) {
  if (!state_) return;
  if (graceful) {
    // Bounded: a broker that does not answer does not hold close() up.
    const timeval limit = timeval_of(std::chrono::seconds(2));
    amqp_set_rpc_timeout(state_, &limit);
    amqp_channel_close(state_, channel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(state_);
  state_ = nullptr;
  consumer_tags_.clear();
}

void connection::finish() {
  disconnect(false);
  {
    std::lock_guard lock(mutex_);
    ended_ = true;
  }
  fail_unconfirmed("Connection closed");
}

}  // namespace roost::rmq::detail
