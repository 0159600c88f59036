// The WebSocket benchmark's raw programs (bench/ws.sh), on Boost.Beast and one thread:
//
// - the load generator opens K sockets to a gateway and keeps one message in flight on each for a
//   fixed time, as K browsers do: `{"event":"sum","data":[1,2,3]}` (or --pattern with --data,
//   answered by --expect), the next one sent when its answer came. A gateway's answer carries no
//   id: on one socket, answers come in the order of the messages. Every answer is checked,
//   warm-up included (bench/reply_check.hpp): it must be the expected number, not the event
//   `exception`. An error, a wrong value, a failed connection or a message not answered 2 s after
//   the end fails the run (exit 1). The window opens once every socket is connected (10 s at
//   most).
//     ws_loadgen --url ws://127.0.0.1:PORT/PATH [--inflight K] [--seconds S] [--warmup W]
//
// - with --limit, what a WebSocket server on one thread can reach here: Beast's server, each
//   message parsed as JSON and `sum` answered with the JSON number (what a NestJS gateway sends),
//   nothing else (no routing, no hooks, no limits). Prints READY <port>; stops on SIGTERM.
//     ws_loadgen --limit [--port 0]

#include "load_run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <cstdio>
#include <list>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using bench::clock_type;
using tcp = asio::ip::tcp;
using ws_stream = websocket::stream<beast::tcp_stream>;
constexpr auto tuple = asio::as_tuple(use_awaitable);

struct options : bench::load_options {
  std::string host = "127.0.0.1", port = "80", path = "/";
  bool limit = false;
};

// ws://host:port/path (the benchmark's server: no TLS).
bool parse_url(const std::string& url, options& o) {
  if (!url.starts_with("ws://")) return false;
  std::string rest = url.substr(5);
  const auto slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = hostport.rfind(':');
  o.host = hostport.substr(0, colon);
  if (colon != std::string::npos) o.port = hostport.substr(colon + 1);
  return !o.host.empty() && !o.port.empty();
}

// What a gateway answer says: the bare JSON value the handler returned, or the event
// `exception` (NestJS 12, roost) for a failed handler.
bench::reply read_answer(std::string_view text) {
  bench::reply r;
  r.error = text.find("\"exception\"") != std::string_view::npos;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, r.value);
  r.has_value = ec == std::errc() && p == end;
  return r;
}

// ---- the load generator -------------------------------------------------------------------

struct load {
  const options& o;
  bench::load_run run{"ws_loadgen"};
  std::string message;
  int connected = 0, failed_connections = 0, finished = 0;
  std::list<ws_stream> sockets;  // stable addresses
  asio::steady_timer all_connected, drain;

  load(asio::io_context& ioc, const options& opts)
      : o(opts),
        message("{\"event\":\"" + o.pattern + "\",\"data\":" + o.data + "}"),
        all_connected(ioc),
        drain(ioc) {}

  awaitable<void> socket(ws_stream& ws, const tcp::resolver::results_type& at) {
    auto [cec, ep] = co_await beast::get_lowest_layer(ws).async_connect(at, tuple);
    boost::system::error_code ec = cec;
    if (!ec) {
      beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true));
      std::tie(ec) = co_await ws.async_handshake(o.host + ":" + o.port, o.path, tuple);
    }
    if (ec) {
      ++failed_connections;
      std::fprintf(stderr, "ws_loadgen: cannot connect: %s\n", ec.message().c_str());
    } else {
      ws.text(true);
    }
    // Every socket waits for the others: the window opens with all of them connected.
    if (++connected == o.inflight) {
      run.start(o);
      all_connected.cancel();
      // Answers not in 2 s after the end are lost: the sockets are closed under their reads.
      drain.expires_at(run.stop() + std::chrono::seconds(2));
      drain.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        for (auto& s : sockets) beast::get_lowest_layer(s).close();
      });
    } else {
      co_await all_connected.async_wait(tuple);
    }
    if (ec) co_return finish();
    beast::flat_buffer buffer;
    for (;;) {
      const auto sent = clock_type::now();
      if (!run.running(sent)) break;
      auto [wec, wn] = co_await ws.async_write(asio::buffer(message), tuple);
      if (!wec) std::tie(wec, wn) = co_await ws.async_read(buffer, tuple);
      if (wec) {
        ++run.failed.lost;
        run.failed.complain("a message not answered", wec.message());
        break;
      }
      const auto now = clock_type::now();
      const std::string_view text(static_cast<const char*>(buffer.cdata().data()), buffer.size());
      if (run.failed.check(read_answer(text), o.expect, text)) run.served(sent, now);
      buffer.consume(buffer.size());
    }
    if (beast::get_lowest_layer(ws).socket().is_open()) {
      auto [cec2] = co_await ws.async_close(websocket::close_code::normal, tuple);
      (void)cec2;
    }
    finish();
  }
  void finish() {
    if (++finished == o.inflight) drain.cancel();
  }
};

int run_load(const options& o) {
  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  const auto at = resolver.resolve(o.host, o.port, ec);
  if (ec) {
    std::fprintf(stderr, "ws_loadgen: cannot resolve %s: %s\n", o.host.c_str(),
                 ec.message().c_str());
    return 1;
  }
  load l(ioc, o);
  l.all_connected.expires_at(clock_type::time_point::max());
  // A server that never finishes the upgrades: the sockets are closed after this long (their
  // connections fail), and the run with them.
  l.drain.expires_after(std::chrono::seconds(10));
  l.drain.async_wait([&l](boost::system::error_code ec) {
    if (ec) return;
    for (auto& s : l.sockets) beast::get_lowest_layer(s).close();
  });
  for (int i = 0; i < o.inflight; ++i) {
    auto& ws = l.sockets.emplace_back(ioc);
    asio::co_spawn(ioc, l.socket(ws, at), asio::detached);
  }
  ioc.run();
  return l.run.finish(o, o.inflight - l.failed_connections, l.failed_connections);
}

// ---- the limit server ---------------------------------------------------------------------

awaitable<void> serve(tcp::socket socket) {
  ws_stream ws(std::move(socket));
  auto [aec] = co_await ws.async_accept(tuple);
  if (aec) co_return;
  ws.text(true);
  beast::flat_buffer buffer;
  std::string answer;
  for (;;) {
    auto [rec, rn] = co_await ws.async_read(buffer, tuple);
    if (rec) co_return;
    const std::string_view text(static_cast<const char*>(buffer.cdata().data()), buffer.size());
    boost::system::error_code pec;
    const auto v = boost::json::parse(text, pec);
    buffer.consume(buffer.size());
    const auto* m = v.if_object();
    const auto* event = m ? m->if_contains("event") : nullptr;
    const auto* data = m ? m->if_contains("data") : nullptr;
    if (pec || !event || !data || *event != "sum" || !data->is_array()) continue;
    // Integers sum as integers (`6`, as JavaScript prints it), anything else as a double.
    std::int64_t whole = 0;
    double sum = 0;
    bool integral = true;
    for (const auto& x : data->get_array()) {
      integral = integral && x.is_int64();
      if (x.is_int64()) whole += x.get_int64();
      if (x.is_number()) sum += x.to_number<double>();
    }
    answer = integral ? std::to_string(whole) : boost::json::serialize(boost::json::value(sum));
    auto [wec, wn] = co_await ws.async_write(asio::buffer(answer), tuple);
    if (wec) co_return;
  }
}

awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(tuple);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

int run_limit(const options& o) {
  asio::io_context ioc(1);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                            static_cast<unsigned short>(std::stoi(o.port))));
  std::printf("READY %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code, int) { ioc.stop(); });
  asio::co_spawn(ioc, accept_loop(acceptor), asio::detached);
  ioc.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  o.port = "0";
  std::string url;
  const bool ok = bench::read_command_line(argc, argv, "ws_loadgen", o,
                                           [&](std::string_view k, const std::string& v) {
                                             if (k == "--url")
                                               url = v;
                                             else if (k == "--port")
                                               o.port = v;
                                             else if (k == "--limit")
                                               o.limit = true;
                                             else
                                               return false;
                                             return true;
                                           },
                                           {"--limit"});
  if (!ok || (!o.limit && (!parse_url(url, o) || o.inflight < 1))) {
    std::fprintf(stderr,
                 "usage: ws_loadgen --url ws://HOST:PORT/PATH [--inflight K] [--seconds S] "
                 "[--warmup W]\n       ws_loadgen --limit [--port P]\n");
    return 2;
  }
  return o.limit ? run_limit(o) : run_load(o);
}
