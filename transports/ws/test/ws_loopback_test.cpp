// The WebSocket transport over real sockets on 127.0.0.1: a browser-like peer (Beast's
// client, as the `ws` package would speak) and roost's own client against a roost server.

#include <roost/ws.hpp>

#include <roost/roost.hpp>
#include <roost/testing/run.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace roost::ws::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace std::chrono_literals;
using asio::use_awaitable;
using std::chrono::milliseconds;

std::string str(const json::value& v) {
  return json::serialize(v);
}

awaitable<bool> eventually(std::function<bool()> pred, milliseconds timeout = 10s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  for (;;) {
    if (pred()) co_return true;
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(2ms);
    co_await t.async_wait(use_awaitable);
  }
}

awaitable<void> pause_for(milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  co_await t.async_wait(use_awaitable);
}

// A peer as a browser or the `ws` package is: text messages, no ids.
class browser {
 public:
  explicit browser(executor ex) : ws_(ex) {}

  // Connects and upgrades; `receive_buffer` > 0 makes a small socket receive buffer (a slow
  // reader's bytes pile up on the server soon).
  awaitable<void> connect(std::uint16_t port, std::string path = "/",
                          std::string authorization = {}, int receive_buffer = 0) {
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.socket().open(asio::ip::tcp::v4());
    if (receive_buffer > 0) {
      tcp.socket().set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    }
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    co_await tcp.async_connect(ep, use_awaitable);
    ws_.set_option(websocket::stream_base::decorator([authorization](websocket::request_type& r) {
      if (!authorization.empty()) r.set(beast::http::field::authorization, authorization);
      r.set("X-Client", "browser-test");
    }));
    co_await ws_.async_handshake(answer_, "127.0.0.1:" + std::to_string(port), path, use_awaitable);
  }
  // The server's answer to the upgrade (101, or the status of a refusal).
  const websocket::response_type& answer() const { return answer_; }

  awaitable<void> send(std::string text) {
    co_await ws_.async_write(asio::buffer(text), use_awaitable);
  }

  // The next message, or nullopt when the connection ends (close_code() says how).
  awaitable<std::optional<std::string>> read() {
    beast::flat_buffer b;
    auto [ec, n] = co_await ws_.async_read(b, asio::as_tuple(use_awaitable));
    if (ec) {
      error_ = ec;
      co_return std::nullopt;
    }
    co_return beast::buffers_to_string(b.data());
  }

  unsigned close_code() const { return ws_.reason().code; }
  boost::system::error_code error() const { return error_; }
  websocket::stream<beast::tcp_stream>& stream() { return ws_; }

 private:
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type answer_;
  boost::system::error_code error_;
};

struct hooks_seen {
  std::mutex mutex;
  std::vector<std::string> connected, disconnected;  // "id remote x-client"
  std::atomic<int> disconnects{0};
};

router make_router() {
  router r;
  r.message("echo", [](json::value v) { return v; });
  r.message("count", [](int n) -> stream<int> {
    for (int i = 0; i < n; ++i) co_yield i;
  });
  r.message("nothing", [](json::value) {});
  r.message("boom", []() -> int { throw rpc_exception("bad thing"); });
  r.message("whoami", [](ws::context& ctx) {
    const auto* auth = ctx.headers().get("authorization");
    json::object o;
    o["transport"] = ctx.transport();
    o["authorization"] = auth ? json::value(*auth) : json::value(nullptr);
    o["remote_is_loopback"] = ctx.remote_endpoint().rfind("127.0.0.1:", 0) == 0;
    return json::value(std::move(o));
  });
  // Rooms: join, leave, say (to a room), shout (to all), whisper (to its own peer).
  r.message("join", [](std::string room, ws::context& ctx) {
    return ctx.gateway().join(ctx.peer(), room);
  });
  r.message("leave", [](std::string room, ws::context& ctx) {
    ctx.gateway().leave(ctx.peer(), room);
    return true;
  });
  r.message("say", [](json::value v, ws::context& ctx) {
    return static_cast<std::int64_t>(
        ctx.gateway().to_room(v.at("room").as_string(), "said", v.at("text")));
  });
  r.message("shout", [](std::string text, ws::context& ctx) {
    return static_cast<std::int64_t>(ctx.gateway().broadcast("shouted", json::value(text)));
  });
  r.message("whisper", [](std::string text, ws::context& ctx) {
    ctx.peer().push("whispered", json::value(text));
    return "sent";
  });
  // One chunk of 64 KiB to every peer, then the round's number back to the caller.
  r.message("next", [](int round, ws::context& ctx) {
    ctx.gateway().broadcast("chunk", json::value(std::string(64 * 1024, 'c')));
    return round;
  });
  return r;
}

server_options server_opts() {
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.path = "/chat";
  o.log = logger::silent();
  return o;
}

client_options client_opts(std::uint16_t port) {
  client_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.path = "/chat";
  o.log = logger::silent();
  return o;
}

microservice_options app_opts() {
  microservice_options o;
  // Two threads: a push from one connection's handler reaches another connection's strand,
  // which may run on the other thread (what ThreadSanitizer is to see).
  o.threads = 2;
  o.drain_timeout = 5s;
  o.handle_signals = false;
  o.log = logger::silent();
  return o;
}

struct service {
  explicit service(const router& r, server_options o = server_opts())
      : app(r, app_opts()), srv(app.add_transport(ws::server(std::move(o)))) {}
  std::uint16_t port() const noexcept { return srv.port(); }
  microservice app;
  ws::server& srv;
};

class ws_loopback : public ::testing::Test {
 protected:
  router r = make_router();
};

// What NestJS's platform-ws sends back: each value as it is, nothing for null or for an unknown
// event, an "exception" message for an error; a bad message changes nothing.
TEST_F(ws_loopback, gateway_messages_are_answered_as_platform_ws) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    EXPECT_FALSE(svc.srv.ready());
    co_await svc.app.start();
    EXPECT_TRUE(svc.srv.ready());  // listening: a peer that connects now is served
    EXPECT_TRUE(svc.app.ready());
    auto ex = co_await asio::this_coro::executor;
    browser b(ex);
    co_await b.connect(svc.port(), "/chat");

    co_await b.send(R"({"event":"echo","data":{"a":[1,"x"]}})");
    auto echoed = co_await b.read();
    EXPECT_EQ(echoed.value_or("closed"), R"({"a":[1,"x"]})");

    co_await b.send(R"({"event":"count","data":3})");
    for (int i = 0; i < 3; ++i) {
      auto v = co_await b.read();
      EXPECT_EQ(v.value_or("closed"), std::to_string(i));
    }

    // None of these is answered: the echo's answer is the next message.
    co_await b.send(R"({"event":"nothing","data":1})");
    co_await b.send(R"({"event":"no such event","data":1})");
    co_await b.send("not json");
    co_await b.send(R"({"data":"no event"})");
    co_await b.send(R"({"event":"echo","data":"after"})");
    auto after = co_await b.read();
    EXPECT_EQ(after.value_or("closed"), R"("after")");

    co_await b.send(R"({"event":"boom","data":{"x":1}})");
    auto error = co_await b.read();
    EXPECT_EQ(error.value_or("closed"),
              R"({"event":"exception","data":{"status":"error","message":"bad thing",)"
              R"("cause":{"pattern":"boom","data":{"x":1}}}})");

    // The microservice packet shape on the same socket, with its id.
    co_await b.send(R"({"pattern":"echo","data":5,"id":"a1"})");
    auto reply = co_await b.read();
    EXPECT_EQ(reply.value_or("closed"), R"({"response":5,"isDisposed":true,"id":"a1"})");
    svc.app.stop();
    EXPECT_FALSE(svc.app.ready());
    co_await svc.app.shutdown();
    EXPECT_FALSE(svc.srv.ready());
  });
}

TEST_F(ws_loopback, roost_client_calls_streams_emits_and_receives_pushes) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;

    std::mutex mutex;
    std::vector<std::string> pushes;
    auto opts = client_opts(svc.port());
    opts.on_push = [&](std::string_view event, const json::value& data) {
      std::lock_guard lock(mutex);
      pushes.push_back(std::string(event) + " " + str(data));
    };
    client_proxy c(ex, ws::client(std::move(opts)));

    const json::value sent = {{"text", "h\xC3\xA9llo"}, {"big", std::string(200'000, 'y')}};
    const json::value got = co_await c.send("echo", sent);
    EXPECT_EQ(got, sent);

    auto counter = c.stream<int>("count", 4);
    std::vector<int> values;
    for (;;) {
      auto v = co_await counter.next();
      if (!v) break;
      values.push_back(*v);
    }
    EXPECT_EQ(values, (std::vector<int>{0, 1, 2, 3}));

    try {
      co_await c.send("boom", 0);
      ADD_FAILURE() << "no error";
    } catch (const rpc_error& e) {
      EXPECT_EQ(e.message(), "bad thing");
    }

    const std::string whispered = co_await c.send<std::string>("whisper", std::string("psst"));
    EXPECT_EQ(whispered, "sent");
    // An emit goes in the gateway shape: a message handler's answer comes back as a push.
    co_await c.emit("echo", std::string("emitted"));
    const bool both = co_await eventually([&] {
      std::lock_guard lock(mutex);
      return pushes.size() == 2;
    });
    EXPECT_TRUE(both);
    {
      std::lock_guard lock(mutex);
      EXPECT_EQ(pushes, (std::vector<std::string>{R"(whispered "psst")", R"( "emitted")"}));
    }
    EXPECT_EQ(c.pending(), 0u);
    co_await svc.app.shutdown();
  });
}

// Hooks see peers come and go with their address and upgrade headers; handlers see the same
// headers (where a JWT guard finds its token); rooms reach their members only.
TEST_F(ws_loopback, hooks_headers_and_rooms) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    hooks_seen seen;
    svc.srv.gateway().on_connect([&](const std::shared_ptr<roost::peer>& p) {
      const auto* client = p->headers().get("x-client");
      std::lock_guard lock(seen.mutex);
      seen.connected.push_back(std::to_string(p->id()) + " " +
                               (client ? *client : std::string("?")));
      p->push("welcome", json::value(p->id()));
    });
    svc.srv.gateway().on_disconnect([&](const std::shared_ptr<roost::peer>& p) {
      {
        std::lock_guard lock(seen.mutex);
        seen.disconnected.push_back(std::to_string(p->id()));
      }
      ++seen.disconnects;
    });
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    browser alice(ex), bob(ex);
    co_await alice.connect(svc.port(), "/chat", "Bearer abc");
    auto welcome = co_await alice.read();
    EXPECT_EQ(json::parse(welcome.value_or("{}")).as_object().if_contains("event") != nullptr,
              true);
    co_await bob.connect(svc.port(), "/chat?room=x");
    auto bob_welcome = co_await bob.read();
    EXPECT_TRUE(bob_welcome);
    {
      std::lock_guard lock(seen.mutex);
      EXPECT_EQ(seen.connected.size(), 2u);
      for (const auto& c : seen.connected) EXPECT_EQ(c.substr(c.find(' ')), " browser-test");
    }

    co_await alice.send(R"({"event":"whoami"})");
    auto who = co_await alice.read();
    EXPECT_EQ(who.value_or("closed"),
              R"({"transport":"ws","authorization":"Bearer abc","remote_is_loopback":true})");

    co_await alice.send(R"({"event":"join","data":"lobby"})");
    EXPECT_EQ((co_await alice.read()).value_or("closed"), "true");
    EXPECT_EQ(svc.srv.gateway().room_size("lobby"), 1u);

    // Only alice is in the lobby: she gets the room's message, then bob's answer tells 1.
    co_await bob.send(R"({"event":"say","data":{"room":"lobby","text":"hi"}})");
    EXPECT_EQ((co_await alice.read()).value_or("closed"), R"({"event":"said","data":"hi"})");
    EXPECT_EQ((co_await bob.read()).value_or("closed"), "1");

    // Everyone gets a broadcast.
    co_await bob.send(R"({"event":"shout","data":"all"})");
    EXPECT_EQ((co_await alice.read()).value_or("closed"), R"({"event":"shouted","data":"all"})");
    EXPECT_EQ((co_await bob.read()).value_or("closed"), R"({"event":"shouted","data":"all"})");
    EXPECT_EQ((co_await bob.read()).value_or("closed"), "2");

    // A peer that goes leaves its rooms; the disconnect hook runs once.
    co_await alice.stream().async_close(websocket::close_code::normal, use_awaitable);
    const bool gone = co_await eventually([&] { return seen.disconnects.load() == 1; });
    EXPECT_TRUE(gone);
    EXPECT_EQ(svc.srv.gateway().room_size("lobby"), 0u);
    EXPECT_EQ(svc.srv.gateway().size(), 1u);
    // A server that stops says so (1001, going away) to a peer that reads, as a browser does.
    co_await svc.app.shutdown();
    auto last = co_await bob.read();
    EXPECT_FALSE(last);
    EXPECT_EQ(bob.close_code(), 1001u);
    const bool both_gone = co_await eventually([&] { return seen.disconnects.load() == 2; });
    EXPECT_TRUE(both_gone);
  });
}

TEST_F(ws_loopback, a_message_over_max_payload_closes_with_1009) {
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    o.max_payload = 1024;
    service svc(r, o);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    browser b(ex), other(ex);
    co_await b.connect(svc.port(), "/chat");
    co_await other.connect(svc.port(), "/chat");
    co_await b.send(R"({"event":"echo","data":")" + std::string(2000, 'z') + "\"}");
    auto r1 = co_await b.read();
    EXPECT_FALSE(r1);
    EXPECT_EQ(b.close_code(), 1009u);
    // The others go on.
    co_await other.send(R"({"event":"echo","data":1})");
    EXPECT_EQ((co_await other.read()).value_or("closed"), "1");
    co_await svc.app.shutdown();
  });
}

TEST_F(ws_loopback, an_upgrade_on_another_path_is_refused) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    browser b(ex);
    bool refused = false;
    try {
      co_await b.connect(svc.port(), "/elsewhere");
    } catch (const boost::system::system_error& e) {
      refused = e.code() == websocket::error::upgrade_declined;
    }
    EXPECT_TRUE(refused);
    co_await svc.app.shutdown();
  });
}

// check_upgrade refuses at the upgrade: no token gets 401 (with how to authenticate), a wrong
// one 403, and neither gets a socket or reaches a hook; the right token (a header, or the query
// a browser can set) is served. roost's client says how it was refused.
TEST_F(ws_loopback, check_upgrade_refuses_before_a_socket_opens) {
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    std::atomic<int> checked{0};
    o.check_upgrade = [&](const upgrade_request& req) -> std::optional<upgrade_refusal> {
      ++checked;
      if (req.target.ends_with("?token=good")) return std::nullopt;
      const auto* auth = req.headers.get("authorization");
      if (!auth) return upgrade_refusal{401, "Unauthorized", {{"www-authenticate", "Bearer"}}};
      if (*auth != "Bearer good") return upgrade_refusal{};
      return std::nullopt;
    };
    service svc(r, std::move(o));
    std::atomic<int> connected{0};
    svc.srv.gateway().on_connect([&](const std::shared_ptr<roost::peer>&) { ++connected; });
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;

    auto refused_with = [&](std::string path, std::string authorization) -> awaitable<unsigned> {
      browser b(ex);
      try {
        co_await b.connect(svc.port(), std::move(path), std::move(authorization));
      } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), websocket::error::upgrade_declined);
        if (b.answer().result() == beast::http::status::unauthorized) {
          EXPECT_EQ(b.answer()[beast::http::field::www_authenticate], "Bearer");
        }
        co_return b.answer().result_int();
      }
      co_return 101;
    };
    EXPECT_EQ(co_await refused_with("/chat", ""), 401u);
    EXPECT_EQ(co_await refused_with("/chat", "Bearer bad"), 403u);
    EXPECT_EQ(co_await refused_with("/chat?token=bad", ""), 401u);
    EXPECT_EQ(connected.load(), 0);

    browser good(ex);
    co_await good.connect(svc.port(), "/chat", "Bearer good");
    co_await good.send(R"({"event":"echo","data":"in"})");
    EXPECT_EQ((co_await good.read()).value_or("closed"), R"("in")");
    browser by_query(ex);
    co_await by_query.connect(svc.port(), "/chat?token=good");
    co_await by_query.send(R"({"event":"echo","data":"in too"})");
    EXPECT_EQ((co_await by_query.read()).value_or("closed"), R"("in too")");
    EXPECT_EQ(connected.load(), 2);
    EXPECT_EQ(checked.load(), 5);

    client_proxy c(ex, ws::client(client_opts(svc.port())));
    std::string why;
    try {
      co_await c.send("echo", 1);
    } catch (const std::exception& e) {
      why = e.what();
    }
    EXPECT_NE(why.find("refused with HTTP 401"), std::string::npos) << why;
    auto with_token = client_opts(svc.port());
    with_token.headers = {{"authorization", "Bearer good"}};
    client_proxy authorized(ex, ws::client(std::move(with_token)));
    EXPECT_EQ(co_await authorized.send("echo", 2), json::value(2));
    co_await svc.app.shutdown();
  });
}

// A peer that does not read is disconnected once its unsent output passes the bound; a peer
// that reads gets every push and every answer.
TEST_F(ws_loopback, a_slow_reader_is_disconnected_and_the_others_unharmed) {
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    o.max_send_buffer_size = 256 * 1024;
    service svc(r, o);
    std::atomic<int> disconnects{0};
    svc.srv.gateway().on_disconnect([&](const std::shared_ptr<roost::peer>&) { ++disconnects; });
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    browser slow(ex), good(ex);
    co_await slow.connect(svc.port(), "/chat", {}, 4096);
    co_await good.connect(svc.port(), "/chat");

    int chunks = 0, rounds = 0, after_drop = -1;
    for (int round = 0; round < 3000 && (after_drop < 0 || round < after_drop + 5); ++round) {
      co_await good.send(R"({"event":"next","data":)" + std::to_string(round) + "}");
      for (;;) {
        auto m = co_await good.read();
        if (!m) {
          ADD_FAILURE() << "the good reader was disconnected";
          co_return;
        }
        if (m->size() > 1000) {
          ++chunks;
          continue;
        }
        EXPECT_EQ(*m, std::to_string(round));
        break;
      }
      ++rounds;
      if (after_drop < 0 && svc.srv.gateway().size() == 1) after_drop = round;
    }
    EXPECT_GE(after_drop, 0) << "the slow reader was never disconnected";
    EXPECT_EQ(chunks, rounds);
    EXPECT_EQ(disconnects.load(), 1);
    co_await svc.app.shutdown();
  });
}

// Keepalive: a peer that answers no ping (it does not read) is disconnected after the idle
// timeout; one that reads answers the pings and stays.
// A peer that sends without reading its answers is paused at send_high_water_mark (its
// messages wait in its own socket) instead of passing max_send_buffer_size and being dropped;
// once it reads, every answer comes, in order.
TEST_F(ws_loopback, a_peer_that_does_not_read_is_paused_not_dropped) {
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    o.max_send_buffer_size = 256 * 1024;
    o.send_high_water_mark = 32 * 1024;
    service svc(r, o);
    std::atomic<int> disconnects{0};
    svc.srv.gateway().on_disconnect([&](const std::shared_ptr<roost::peer>&) { ++disconnects; });
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    browser p(ex);
    co_await p.connect(svc.port(), "/chat", {}, 4096);

    // 512 answers of 16 KiB: 8 MiB, more than the sockets' buffers and the send bound hold.
    const int n = 512;
    const std::string big(16 * 1024, 'x');
    int sent = 0;
    bool writer_done = false;
    asio::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          for (int i = 0; i < n; ++i) {
            co_await p.send(R"({"event":"echo","data":")" + std::to_string(i) + ":" + big +
                            R"("})");
            ++sent;
          }
          writer_done = true;
        },
        [](std::exception_ptr) {});
    // Until the sends stall (the server stopped reading) or all went out: without the pause,
    // the answers pile up past max_send_buffer_size meanwhile and the peer is dropped.
    for (int last = -1, still = 0; still < 5 && sent < n; still = sent == last ? still + 1 : 0) {
      last = sent;
      co_await pause_for(50ms);
    }
    EXPECT_EQ(svc.srv.gateway().size(), 1u);

    int in_order = 0;
    for (int i = 0; i < n; ++i) {
      auto m = co_await p.read();
      if (!m) break;
      if (m->starts_with("\"" + std::to_string(i) + ":")) ++in_order;
    }
    EXPECT_EQ(in_order, n);
    EXPECT_TRUE(co_await eventually([&] { return writer_done; }));
    EXPECT_EQ(disconnects.load(), 0);
    co_await svc.app.shutdown();
  });
}

TEST_F(ws_loopback, keepalive_drops_a_silent_peer_only) {
  testing::run([&]() -> awaitable<void> {
    auto o = server_opts();
    // Pings at 1 s of silence; no pong for another second, and the peer is gone.
    o.idle_timeout = 2s;
    service svc(r, o);
    co_await svc.app.start();
    auto ex = co_await asio::this_coro::executor;
    browser silent(ex), alive(ex);
    co_await silent.connect(svc.port(), "/chat");
    co_await alive.connect(svc.port(), "/chat");
    // The live one keeps a read pending (Beast answers pings while reading).
    auto ex2 = co_await asio::this_coro::executor;
    std::atomic<bool> alive_ended{false};
    asio::co_spawn(
        ex2,
        [&]() -> awaitable<void> {
          for (;;) {
            auto m = co_await alive.read();
            if (!m) break;
          }
          alive_ended = true;
        },
        asio::detached);
    const bool dropped = co_await eventually([&] { return svc.srv.gateway().size() == 1; });
    EXPECT_TRUE(dropped);
    co_await pause_for(3s);  // the live one, connected for more than two idle timeouts, stays
    EXPECT_FALSE(alive_ended.load());
    EXPECT_EQ(svc.srv.gateway().size(), 1u);
    co_await svc.app.shutdown();
    const bool ended = co_await eventually([&] { return alive_ended.load(); });
    EXPECT_TRUE(ended);
  });
}

TEST(ws_from_url, reads_options) {
  auto u = url::parse(
      "ws://127.0.0.1:8080/chat?maxPayload=2048&idleTimeout=5000&maxConnections=3&"
      "sendHighWaterMark=4096");
  ASSERT_TRUE(u);
  auto s = server_options_from(*u);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 8080);
  EXPECT_EQ(s->path, "/chat");
  EXPECT_EQ(s->max_payload, 2048u);
  EXPECT_EQ(s->idle_timeout, 5000ms);
  EXPECT_EQ(s->serving.max_connections, 3u);
  EXPECT_EQ(s->send_high_water_mark, 4096u);
  EXPECT_FALSE(server_options_from(*url::parse("ws://h:1/?sendHighWaterMark=0")));
  auto c = client_options_from(*url::parse("ws://localhost:9/?connectTimeout=100"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->path, "/");
  EXPECT_EQ(c->connect_timeout, 100ms);
  EXPECT_FALSE(server_options_from(*url::parse("ws://h:1/?maxPayload=x")));
  EXPECT_FALSE(server_options_from(*url::parse("tcp://h:1/")));
  auto secure = client_options_from(*url::parse("wss://h/x?ca=/etc/ca.crt"));
  ASSERT_TRUE(secure);
  EXPECT_EQ(secure->port, 443);
  EXPECT_EQ(secure->path, "/x");
  ASSERT_TRUE(secure->tls);
  EXPECT_EQ(secure->tls->ca_file, "/etc/ca.crt");
  EXPECT_FALSE(client_options_from(*url::parse("ws://h/"))->tls);
}

}  // namespace
}  // namespace roost::ws::test
