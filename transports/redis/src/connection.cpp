#include "connection.hpp"

#include <roost/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>

namespace roost::redis::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::use_awaitable;

namespace {

[[noreturn]] void fail(error e, const std::string& what) {
  throw connection_error(make_error_code(e), what);
}

// What one connection attempt owns; shared with the deadline's handler.
struct attempt {
  socket_type plain;
  std::unique_ptr<tls_stream> tls;
  bool timed_out = false;
  socket_type& socket() { return tls ? tls->next_layer() : plain; }
};

template <class Stream>
asio::awaitable<std::size_t> read_into(Stream& s, char* data, std::size_t size) {
  co_return co_await s.async_read_some(asio::buffer(data, size), use_awaitable);
}

}  // namespace

ssl::context make_tls_context(const tls_options& o) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  auto check = [&](const std::string& what) {
    if (ec) fail(error::invalid_argument, "TLS: cannot load " + what + ": " + ec.message());
  };
  if (!o.cert_file.empty()) {
    ctx.use_certificate_chain_file(o.cert_file, ec);
    check("certificate " + o.cert_file);
  }
  if (!o.key_file.empty()) {
    ctx.use_private_key_file(o.key_file, ssl::context::pem, ec);
    check("private key " + o.key_file);
  }
  if (!o.ca_file.empty()) {
    ctx.load_verify_file(o.ca_file, ec);
    check("CA " + o.ca_file);
  } else {
    ctx.set_default_verify_paths(ec);
  }
  ctx.set_verify_mode(o.verify_peer ? ssl::verify_peer : ssl::verify_none);
  return ctx;
}

asio::awaitable<std::shared_ptr<connection>> connection::open(const connection_options& o,
                                                              ssl::context* tls, strand_type strand,
                                                              logger log, std::string_view side,
                                                              bool replies) {
  const std::string where = o.host + ":" + std::to_string(o.port);
  asio::ip::tcp::resolver resolver(strand);
  auto [rec, endpoints] = co_await resolver.async_resolve(o.host, std::to_string(o.port),
                                                          asio::as_tuple(use_awaitable));
  if (rec) fail(error::not_connected, "cannot resolve " + o.host + ": " + rec.message());
  auto a = std::make_shared<attempt>(attempt{socket_type(strand), nullptr});
  // The deadline covers the whole handshake: it closes the socket, failing the current step.
  asio::steady_timer deadline(strand, o.connect_timeout);
  deadline.async_wait([a](boost::system::error_code ec) {
    if (ec) return;
    a->timed_out = true;
    a->socket().close(ec);
  });
  auto timed_out = [&](const boost::system::error_code& ec) {
    return a->timed_out ? std::string("timed out") : ec.message();
  };
  auto [cec, ep] = co_await asio::async_connect(a->plain, endpoints, asio::as_tuple(use_awaitable));
  if (cec) {
    fail(a->timed_out ? error::timeout : error::not_connected,
         "cannot connect to " + where + ": " + timed_out(cec));
  }
  boost::system::error_code ignored;
  a->plain.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (tls) {
    a->tls = std::make_unique<tls_stream>(std::move(a->plain), *tls);
    const std::string name = o.tls && !o.tls->server_name.empty() ? o.tls->server_name : o.host;
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(a->tls->native_handle(), name.c_str());
    if (!o.tls || o.tls->verify_peer)
      a->tls->set_verify_callback(ssl::host_name_verification(name));
    auto [hec] =
        co_await a->tls->async_handshake(ssl::stream_base::client, asio::as_tuple(use_awaitable));
    if (hec) {
      fail(error::not_connected, "TLS handshake with " + where + " failed: " + timed_out(hec));
    }
  }
  // Writing or reading the first commands failed. Under TLS that is most often the server
  // ending the session over the client's certificate (see the PING below): say so.
  auto lost = [&](const std::string& what, const boost::system::error_code& ec) {
    std::string why = what + where + ": " + timed_out(ec);
    if (a->tls && !a->timed_out) {
      why += o.tls && !o.tls->cert_file.empty()
                 ? " (the server may have refused the client certificate)"
                 : " (the server may require a client certificate: cert=, key=)";
    }
    fail(error::not_connected, why);
  };
  // AUTH and SELECT, pipelined; their replies are read here before the loops start.
  std::string hello;
  std::size_t expected = 0;
  if (!o.password.empty()) {
    if (o.username.empty()) {
      append_command(hello, {"AUTH", o.password});
    } else {
      append_command(hello, {"AUTH", o.username, o.password});
    }
    ++expected;
  }
  if (o.db != 0) {
    append_command(hello, {"SELECT", std::to_string(o.db)});
    ++expected;
  }
  // Under TLS 1.3 the server judges the client's certificate (or its lack of one) after the
  // client's side of the handshake is done: a refusal comes with the first reply. Some reply
  // must come before the connection is called up, or a broker requiring client certificates
  // would look reachable and drop every connection at once.
  if (a->tls && expected == 0) {
    append_command(hello, {"PING"});
    ++expected;
  }
  // No reply comes for CLIENT REPLY OFF itself.
  if (!replies) append_command(hello, {"CLIENT", "REPLY", "OFF"});
  reader rd;
  if (!hello.empty()) {
    boost::system::error_code wec;
    if (a->tls) {
      co_await asio::async_write(*a->tls, asio::buffer(hello),
                                 asio::redirect_error(use_awaitable, wec));
    } else {
      co_await asio::async_write(a->plain, asio::buffer(hello),
                                 asio::redirect_error(use_awaitable, wec));
    }
    if (wec) lost("cannot write to ", wec);
    char buf[4096];
    while (expected > 0) {
      auto r = rd.next();
      if (!r) fail(error::protocol_error, where + " does not speak RESP");
      if (*r) {
        if (is_error(**r)) fail(error::not_connected, where + ": " + std::string(text(**r)));
        --expected;
        continue;
      }
      std::size_t n = 0;
      try {
        if (a->tls) {
          n = co_await read_into(*a->tls, buf, sizeof buf);
        } else {
          n = co_await read_into(a->plain, buf, sizeof buf);
        }
      } catch (const boost::system::system_error& e) {
        lost("cannot read from ", e.code());
      }
      rd.feed(std::string_view(buf, n));
    }
  }
  deadline.cancel();
  if (a->timed_out) fail(error::timeout, "cannot connect to " + where + ": timed out");
  auto c =
      std::make_shared<connection>(tag{}, std::move(a->plain), std::move(a->tls), strand,
                                   std::move(rd), o.max_send_buffer_size, std::move(log), side);
  c->replies_ = replies;
  co_return c;
}

connection::connection(tag, socket_type plain, std::unique_ptr<tls_stream> tls, strand_type strand,
                       reader rd, std::size_t max_send, logger log, std::string_view side)
    : plain_(std::move(plain)),
      tls_(std::move(tls)),
      strand_(std::move(strand)),
      reader_(std::move(rd)),
      max_send_(max_send),
      log_(std::move(log)),
      side_(side),
      writer_signal_(strand_) {}

connection::~connection() = default;

void connection::start(bool subscriber, push_handler on_push, close_handler on_close,
                       served_handler on_served) {
  subscriber_ = subscriber;
  on_push_ = std::move(on_push);
  on_close_ = std::move(on_close);
  on_served_ = std::move(on_served);
  // flush_now() writes on another connection's turn and must never block.
  boost::system::error_code ec;
  if (!tls_) plain_.non_blocking(true, ec);
  auto self = shared_from_this();
  asio::co_spawn(
      strand_, [self]() { return self->reader_loop(); }, asio::detached);
  asio::co_spawn(
      strand_, [self]() { return self->writer_loop(); }, asio::detached);
}

template <class Build>
bool connection::enqueue(Build&& build, reply_handler&& h) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!open_ || queue_.size() > max_send_) return false;
    build(queue_);
    if (!subscriber_ && replies_) handlers_.push_back(std::move(h));
    wake = std::exchange(writer_waiting_, false);
  }
  if (wake) asio::post(strand_, [self = shared_from_this()] { self->writer_signal_.cancel(); });
  return true;
}

bool connection::command(std::span<const std::string_view> args, reply_handler h) {
  return enqueue([&](std::string& q) { append_command(q, args); }, std::move(h));
}

bool connection::publish(std::string_view channel, std::string_view payload, reply_handler h) {
  return enqueue([&](std::string& q) { append_publish(q, channel, payload); }, std::move(h));
}

asio::awaitable<void> connection::reader_loop() {
  auto self = shared_from_this();
  constexpr std::size_t buffer_size = 64 * 1024;
  std::unique_ptr<char[]> buffer(new char[buffer_size]);
  try {
    std::size_t pushes = 0;
    for (;;) {
      // Replies already buffered by the handshake's reader come first.
      for (;;) {
        auto r = reader_.next();
        if (!r) {
          log_.error(side_, "the server sent something that is not RESP; closing the connection");
          shut("protocol error");
          co_return;
        }
        if (!*r) break;
        if (subscriber_) {
          if (on_push_) on_push_(**r);
          if (++pushes % roost::detail::replies_per_part == 0 && on_served_) on_served_();
        } else {
          reply_handler h;
          {
            std::lock_guard lock(mutex_);
            if (!handlers_.empty()) {
              h = std::move(handlers_.front());
              handlers_.pop_front();
            }
          }
          if (h) h(r->get());
        }
        if (!open_) co_return;
      }
      if (pushes % roost::detail::replies_per_part != 0 && on_served_) on_served_();
      pushes = 0;
      std::size_t n;
      if (tls_) {
        n = co_await tls_->async_read_some(asio::buffer(buffer.get(), buffer_size), use_awaitable);
      } else {
        n = co_await plain_.async_read_some(asio::buffer(buffer.get(), buffer_size), use_awaitable);
      }
      reader_.feed(std::string_view(buffer.get(), n));
    }
  } catch (const boost::system::system_error& e) {
    shut(e.code() == asio::error::eof ? "closed by the server" : e.code().message());
  }
}

asio::awaitable<void> connection::writer_loop() {
  auto self = shared_from_this();
  std::string sending;
  try {
    while (open_) {
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
          writer_waiting_ = true;
        } else {
          sending.swap(queue_);  // double buffering: both strings keep their capacity
          writer_busy_ = true;
        }
      }
      if (sending.empty()) {
        writer_signal_.expires_at(std::chrono::steady_clock::time_point::max());
        boost::system::error_code ec;
        co_await writer_signal_.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (tls_) {
        co_await asio::async_write(*tls_, asio::buffer(sending), use_awaitable);
      } else {
        co_await asio::async_write(plain_, asio::buffer(sending), use_awaitable);
      }
      {
        std::lock_guard lock(mutex_);
        writer_busy_ = false;
      }
      sending.clear();
    }
  } catch (const boost::system::system_error& e) {
    shut(e.code().message());
  }
}

void connection::flush_now() {
  if (tls_) return;
  std::lock_guard lock(mutex_);
  if (queue_.empty() || writer_busy_ || !open_) return;
  // The writer is parked or about to take the queue under this lock: the socket is free. What
  // it does not take, and any error, is left to the writer (woken when something was queued).
  boost::system::error_code ec;
  const std::size_t n = plain_.write_some(asio::buffer(queue_), ec);
  if (!ec) queue_.erase(0, n);
}

void connection::close() {
  asio::post(strand_, [self = shared_from_this()] { self->shut({}); });
}

void connection::shut(std::string_view why) {
  std::deque<reply_handler> orphans;
  {
    // Under the lock: flush_now() may be writing to the socket from another strand.
    std::lock_guard lock(mutex_);
    if (!open_.exchange(false)) return;
    boost::system::error_code ec;
    socket().shutdown(socket_type::shutdown_both, ec);
    socket().close(ec);
    orphans.swap(handlers_);
    queue_.clear();
  }
  writer_signal_.cancel();
  for (auto& h : orphans) {
    if (h) h(nullptr);
  }
  if (on_close_) on_close_(why);
  on_push_ = nullptr;
  on_close_ = nullptr;
}

}  // namespace roost::redis::detail
