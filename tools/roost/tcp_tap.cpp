#include "tcp_tap.hpp"

#include <roost/tcp/detail/frame_codec.hpp>

#include <roost/detail/json_writer.hpp>
#include <roost/packet.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace roost::cli {

namespace asio = boost::asio;
using asio::ip::tcp;
using tcp_frames = roost::tcp::detail::frame_decoder;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The start of a frame's text for a note, as a JSON string (the text may be anything).
std::string excerpt(std::string_view text) {
  constexpr std::size_t most = 60;
  std::string head(text.substr(0, most));
  if (text.size() > most) head += "...";
  return detail::to_json(json::string(head));
}

struct session;

}  // namespace

struct tcp_tap::state {
  asio::any_io_executor ex;
  tap_options opt;
  tap_handlers handlers;
  tcp::acceptor acceptor;
  std::uint64_t connections = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions;
  bool stopped = false;

  state(asio::any_io_executor e, tap_options o, tap_handlers h)
      : ex(e), opt(std::move(o)), handlers(std::move(h)), acceptor(e) {}
  void note(const std::string& what) const {
    if (handlers.on_note) handlers.on_note(what);
  }
};

namespace {

// One client connection and the one the proxy opened to the target for it.
struct session : std::enable_shared_from_this<session> {
  std::shared_ptr<tcp_tap::state> tap;
  std::uint64_t number;
  tcp::socket client, server;
  tcp_frames from_client, from_server;
  bool client_undecodable = false, server_undecodable = false;
  std::unordered_map<std::string, exchange> pending;  // by the id's JSON text
  bool closed = false;

  session(std::shared_ptr<tcp_tap::state> t, std::uint64_t n, tcp::socket c)
      : tap(std::move(t)), number(n), client(std::move(c)), server(client.get_executor()) {}

  std::string who() const { return "connection " + std::to_string(number); }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    client.close(ignored);
    server.close(ignored);
    auto left = std::move(pending);
    pending.clear();
    for (auto& [key, x] : left) {
      x.done = std::chrono::steady_clock::now();
      if (tap->handlers.on_done) tap->handlers.on_done(std::move(x));
    }
    tap->sessions.erase(number);
  }

  void client_frame(std::string_view text) {
    auto p = decode_inbound(text);
    if (!p) {
      tap->note(who() + ": the client sent a frame that is not a NestJS packet (" +
                p.error().message() + "): " + excerpt(text) + ", forwarded as it was");
      return;
    }
    exchange x;
    x.connection = number;
    x.pattern = std::move(p->pattern);
    x.data = std::move(p->data);
    x.metadata = std::move(p->metadata);
    x.id = std::move(p->id);
    x.wall = std::chrono::system_clock::now();
    x.sent = std::chrono::steady_clock::now();
    if (tap->handlers.on_sent) tap->handlers.on_sent(x);
    if (x.is_event()) {
      x.answered = true;
      x.done = x.sent;
      if (tap->handlers.on_done) tap->handlers.on_done(std::move(x));
      return;
    }
    auto key = detail::to_json(*x.id);
    if (pending.contains(key)) {
      tap->note(who() + ": the client reused the id " + key + " of a request still pending");
    }
    pending.insert_or_assign(std::move(key), std::move(x));
  }

  void server_frame(std::string_view text) {
    auto r = decode_reply(text);
    if (!r) {
      tap->note(who() + ": the service sent a frame that is not a NestJS reply (" +
                r.error().message() + "): " + excerpt(text) + ", forwarded as it was");
      return;
    }
    auto it = pending.find(detail::to_json(r->id));
    if (it == pending.end()) {
      tap->note(who() + ": a reply for no pending request, id " + detail::to_json(r->id));
      return;
    }
    auto& x = it->second;
    const auto now = std::chrono::steady_clock::now();
    if (x.replies.empty() && !x.error) x.first_reply = now;
    if (r->response) x.replies.push_back(std::move(*r->response));
    if (r->err) x.error = std::move(*r->err);
    if (!r->err && !r->disposed) return;
    x.answered = true;
    x.done = now;
    auto done = std::move(x);
    pending.erase(it);
    if (tap->handlers.on_done) tap->handlers.on_done(std::move(done));
  }

  // Decodes what was forwarded; a stream that breaks the framing is noted once and then only
  // forwarded (the service or the client closes it, as NestJS does).
  void decode(bool from_the_client, std::string_view bytes) {
    bool& undecodable = from_the_client ? client_undecodable : server_undecodable;
    if (undecodable) return;
    auto& frames = from_the_client ? from_client : from_server;
    frames.feed(bytes);
    for (;;) {
      auto f = frames.next();
      if (!f) {
        undecodable = true;
        tap->note(who() + ": the " + (from_the_client ? "client" : "service") +
                  " broke the framing (" + frames.error_message() +
                  "); its bytes are forwarded, not recorded");
        return;
      }
      if (!*f) return;
      if (from_the_client) {
        client_frame(**f);
      } else {
        server_frame(**f);
      }
    }
  }
};

asio::awaitable<void> pump(std::shared_ptr<session> s, bool from_the_client) {
  auto& in = from_the_client ? s->client : s->server;
  auto& out = from_the_client ? s->server : s->client;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    auto [rec, n] = co_await in.async_read_some(asio::buffer(buf), use_tuple);
    if (rec) break;
    auto [wec, w] = co_await asio::async_write(out, asio::buffer(buf.data(), n), use_tuple);
    if (wec) break;
    if (s->closed) break;
    s->decode(from_the_client, std::string_view(buf.data(), n));
  }
  s->close();
}

asio::awaitable<void> start_session(std::shared_ptr<session> s) {
  const auto& o = s->tap->opt;
  tcp::resolver resolver(s->client.get_executor());
  auto [rec, eps] =
      co_await resolver.async_resolve(o.target_host, std::to_string(o.target_port), use_tuple);
  boost::system::error_code cec = rec;
  if (!rec) {
    auto [ec, ep] = co_await asio::async_connect(s->server, eps, use_tuple);
    cec = ec;
  }
  if (cec) {
    s->tap->note(s->who() + ": cannot connect to " + o.target_host + ":" +
                 std::to_string(o.target_port) + " (" + cec.message() +
                 "), the client's connection is closed");
    s->close();
    co_return;
  }
  if (s->closed) co_return;
  boost::system::error_code ignored;
  s->client.set_option(tcp::no_delay(true), ignored);
  s->server.set_option(tcp::no_delay(true), ignored);
  asio::co_spawn(s->client.get_executor(), pump(s, true), asio::detached);
  asio::co_spawn(s->client.get_executor(), pump(s, false), asio::detached);
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp_tap::state> st) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
    if (st->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      st->note(std::string("accept: ") + ec.message());
      continue;
    }
    auto s = std::make_shared<session>(st, ++st->connections, std::move(socket));
    st->sessions.emplace(s->number, s);
    asio::co_spawn(st->ex, start_session(s), asio::detached);
  }
}

}  // namespace

tcp_tap::tcp_tap(asio::any_io_executor ex, tap_options options, tap_handlers handlers)
    : state_(std::make_shared<state>(ex, std::move(options), std::move(handlers))) {
  try {
    // A name (localhost) as well as an address; its first address is the one listened on.
    tcp::resolver resolver(ex);
    const tcp::endpoint at =
        resolver.resolve(state_->opt.listen_host, std::to_string(state_->opt.listen_port))
            .begin()
            ->endpoint();
    state_->acceptor.open(at.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(at);
    state_->acceptor.listen();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(e.code().message());  // without the library's source location
  }
  asio::co_spawn(ex, accept_loop(state_), asio::detached);
}

tcp_tap::~tcp_tap() {
  stop();
}

std::uint16_t tcp_tap::port() const {
  return state_->acceptor.local_endpoint().port();
}

void tcp_tap::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  std::vector<std::shared_ptr<session>> open;
  for (auto& [n, w] : state_->sessions) {
    if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->close();
}

}  // namespace roost::cli
