#include "connection.hpp"

#include <roost/errors.hpp>
#include <roost/net/connect_attempt.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hiredis/hiredis.h>

namespace roost::redis::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::use_awaitable;

namespace {

[[noreturn]] void fail(error e, const std::string& what) {
  throw connection_error(make_error_code(e), what);
}

}  // namespace

asio::awaitable<std::shared_ptr<connection>> connection::open(const connection_options& o,
                                                              ssl::context* tls, strand_type strand,
                                                              logger log, std::string_view side,
                                                              bool replies) {
  // The deadline covers the whole greeting: AUTH and SELECT too.
  net::connect_attempt a(strand, o.connect_timeout);
  // In a statement of its own: GCC 12 destroys by-value arguments of a coroutine called inside
  // a co_await expression twice.
  auto connect = a.connect(o.host, o.port, tls, o.tls.value_or(tls_options{}));
  co_await std::move(connect);
  const std::string& where = a.where();
  net::stream& s = a.stream();
  // Writing or reading the first commands failed. Under TLS that is most often the server
  // ending the session over the client's certificate (see the PING below): say so.
  auto lost = [&](const std::string& what, const boost::system::error_code& ec) {
    std::string why = what + where + ": " + a.why(ec);
    if (s.is_tls() && !a.timed_out()) {
      why += o.tls && (!o.tls->cert_file.empty() || !o.tls->cert_pem.empty())
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
  if (s.is_tls() && expected == 0) {
    append_command(hello, {"PING"});
    ++expected;
  }
  // No reply comes for CLIENT REPLY OFF itself.
  if (!replies) append_command(hello, {"CLIENT", "REPLY", "OFF"});
  reader rd;
  if (!hello.empty()) {
    boost::system::error_code wec;
    co_await s.async_write(asio::buffer(hello), asio::redirect_error(use_awaitable, wec));
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
        n = co_await s.async_read_some(asio::buffer(buf, sizeof buf), use_awaitable);
      } catch (const boost::system::system_error& e) {
        lost("cannot read from ", e.code());
      }
      rd.feed(std::string_view(buf, n));
    }
  }
  auto c = std::make_shared<connection>(tag{}, a.finish(), strand, std::move(rd),
                                        o.max_send_buffer_size, std::move(log), side);
  c->replies_ = replies;
  co_return c;
}

connection::connection(tag, net::stream stream, strand_type strand, reader rd, std::size_t max_send,
                       logger log, std::string_view side)
    : stream_(std::move(stream)),
      strand_(std::move(strand)),
      reader_(std::move(rd)),
      log_(std::move(log)),
      side_(side),
      outbox_(stream_, strand_, {max_send, net::outbox::overflow::refuse}),
      close_timer_(strand_) {}

connection::~connection() = default;

void connection::start(bool subscriber, push_handler on_push, close_handler on_close,
                       served_handler on_served) {
  subscriber_ = subscriber;
  on_push_ = std::move(on_push);
  on_close_ = std::move(on_close);
  on_served_ = std::move(on_served);
  // flush_now() writes on another connection's turn and must never block.
  stream_.set_non_blocking();
  auto self = shared_from_this();
  asio::co_spawn(
      strand_, [self]() { return self->reader_loop(); }, asio::detached);
  outbox_.start_writer(self, [this](std::string_view why) { shut(why); });
}

template <class Build>
bool connection::enqueue(Build&& build, reply_handler&& h) {
  const auto r = outbox_.push([&](std::string& q) {
    build(q);
    if (!subscriber_ && replies_) handlers_.push_back(std::move(h));
  });
  return r == net::outbox::pushed::ok;
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
          outbox_.locked([&] {
            if (!handlers_.empty()) {
              h = std::move(handlers_.front());
              handlers_.pop_front();
            }
          });
          if (h) h(r->get());
        }
        if (!outbox_.is_open()) co_return;
      }
      if (pushes % roost::detail::replies_per_part != 0 && on_served_) on_served_();
      pushes = 0;
      const std::size_t n =
          co_await stream_.async_read_some(asio::buffer(buffer.get(), buffer_size), use_awaitable);
      reader_.feed(std::string_view(buffer.get(), n));
    }
  } catch (const boost::system::system_error& e) {
    shut(e.code() == asio::error::eof ? "closed by the server" : e.code().message());
  }
}

void connection::flush_now() {
  outbox_.flush_now();
}

void connection::close() {
  asio::post(strand_, [self = shared_from_this()] { self->shut({}); });
}

void connection::close_when_flushed(std::chrono::milliseconds deadline) {
  asio::post(strand_, [self = shared_from_this(), deadline] {
    if (self->outbox_.close_when_flushed()) {
      self->shut({});
      return;
    }
    // A server that stops reading must not keep the connection for ever.
    self->close_timer_.expires_after(deadline);
    self->close_timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->shut({});
    });
  });
}

void connection::shut(std::string_view why) {
  std::deque<reply_handler> orphans;
  if (!outbox_.close([&] { orphans.swap(handlers_); })) return;
  close_timer_.cancel();
  for (auto& h : orphans) {
    if (h) h(nullptr);
  }
  if (on_close_) on_close_(why);
  on_push_ = nullptr;
  on_close_ = nullptr;
}

}  // namespace roost::redis::detail
