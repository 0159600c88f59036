// A roost TCP client against a raw socket server: the exact bytes it writes, as a NestJS
// TCP server reads them, and how it takes NestJS replies however the reads split them
// (nest-wire-protocol.md §1, §2).

#include <roost/tcp/client.hpp>

#include "loopback_support.hpp"

#include <boost/json/parse.hpp>

namespace roost::tcp::test {
namespace {

const std::vector<double> one_two_three{1, 2, 3};

/// A listening socket on 127.0.0.1, port 0, that hands out raw peers.
class raw_server {
 public:
  explicit raw_server(const executor& ex)
      : acceptor_(ex, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  awaitable<raw_peer> accept() {
    auto s = co_await acceptor_.async_accept(use_awaitable);
    co_return raw_peer(std::move(s));
  }

 private:
  asio::ip::tcp::acceptor acceptor_;
};

/// The outcome of a call, as text: "ok:<json>", "rpc_error:<err>" or "connection_error:<what>".
awaitable<std::string> call_text(client_proxy& c, json::value pattern, json::value data,
                                 call_options o) {
  try {
    const json::value v = co_await c.send(std::move(pattern), data, std::move(o));
    co_return "ok:" + str(v);
  } catch (const rpc_error& e) {
    co_return "rpc_error:" + str(e.error());
  } catch (const connection_error& e) {
    co_return std::string("connection_error:") + e.what();
  }
}

awaitable<std::string> call_text(client_proxy& c, json::value pattern, json::value data) {
  call_options none;
  return call_text(c, std::move(pattern), std::move(data), std::move(none));
}

/// Every value of a stream call, as JSON texts, then "end" (or "error:<what>").
awaitable<std::vector<std::string>> collect(stream<json::value> s) {
  std::vector<std::string> out;
  try {
    for (;;) {
      auto v = co_await s.next();
      if (!v) break;
      out.push_back(str(*v));
    }
    out.push_back("end");
  } catch (const std::exception& e) {
    out.push_back(std::string("error:") + e.what());
  }
  co_return out;
}

/// `json` is `head` followed by a NestJS id (21 lowercase hex characters) and `"}`.
bool is_request(std::string_view json, std::string_view head) {
  if (json.size() != head.size() + 23 || json.substr(0, head.size()) != head) return false;
  const std::string_view id = json.substr(head.size(), 21);
  if (json.substr(head.size() + 21) != "\"}") return false;
  return id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string id_of(std::string_view frame_text) {
  const json::value v = json::parse(body_of(frame_text));
  return std::string(v.at("id").as_string());
}

TEST(client_wire, a_request_is_written_as_nest_does) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    raw_server srv(ex);
    client_proxy c(ex, tcp::client(client_opts(srv.port())));
    auto first = spawn(ex, call_text(c, "sum", json::value_from(one_two_three)));
    auto peer = co_await srv.accept();
    const std::string request = co_await peer.read_frame();
    const std::string body = body_of(request);
    EXPECT_EQ(request, frame(body));
    EXPECT_TRUE(is_request(body, R"({"pattern":"sum","data":[1,2,3],"id":")")) << body;

    // An object pattern goes out as the caller wrote it (not normalized), with the metadata
    // between data and id, as NestJS 12 writes it.
    const json::value pattern = {{"role", "math"}, {"cmd", "sum"}};
    call_options with_metadata;
    with_metadata.metadata = json::object{{"trace", "t1"}};
    auto second = spawn(ex, call_text(c, pattern, 5, with_metadata));
    const std::string request2 = co_await peer.read_frame();
    EXPECT_TRUE(is_request(
        body_of(request2),
        R"({"pattern":{"role":"math","cmd":"sum"},"data":5,"metadata":{"trace":"t1"},"id":")"))
        << request2;
    EXPECT_NE(id_of(request), id_of(request2));

    // Replies in the other order, both in one write.
    co_await peer.write(
        frame(R"({"response":5,"isDisposed":true,"id":")" + id_of(request2) + R"("})") +
        frame(R"({"response":6,"isDisposed":true,"id":")" + id_of(request) + R"("})"));
    const std::string a = co_await first->join();
    const std::string b = co_await second->join();
    EXPECT_EQ(a, "ok:6");
    EXPECT_EQ(b, "ok:5");
    EXPECT_EQ(c.pending(), 0u);
  });
}

TEST(client_wire, replies_split_across_reads_are_reassembled) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    raw_server srv(ex);
    client_proxy c(ex, tcp::client(client_opts(srv.port())));
    auto call = spawn(ex, collect(c.stream("count", 3)));
    auto peer = co_await srv.accept();
    const std::string request = co_await peer.read_frame();
    const std::string id = id_of(request);
    // A reply to nobody, a value with an astral character, a value, and the end.
    const std::string bytes =
        frame(R"({"response":"stray","isDisposed":true,"id":"000000000000000000000"})") +
        frame("{\"response\":\"h\xF0\x9F\x98\x80\",\"id\":\"" + id + "\"}") +
        frame(R"({"response":2,"id":")" + id + R"("})") +
        frame(R"({"isDisposed":true,"id":")" + id + R"("})");
    // Cut inside a length prefix, inside the 4-byte emoji, and inside a JSON body; the pauses
    // make the client's reads end there (the test passes whatever the reads see).
    const std::size_t emoji = bytes.find("\xF0\x9F");
    const std::vector<std::size_t> cuts{1, emoji + 2, emoji + 30, bytes.size() - 5};
    std::size_t at = 0;
    for (std::size_t cut : cuts) {
      co_await peer.write(std::string_view(bytes).substr(at, cut - at));
      co_await pause_for(20ms);
      at = cut;
    }
    co_await peer.write(std::string_view(bytes).substr(at));
    const std::vector<std::string> values = co_await call->join();
    const std::vector<std::string> want{"\"h\xF0\x9F\x98\x80\"", "2", "end"};
    EXPECT_EQ(values, want);
    EXPECT_EQ(c.pending(), 0u);
  });
}

TEST(client_wire, an_event_is_written_with_its_route_string) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    raw_server srv(ex);
    client_proxy c(ex, tcp::client(client_opts(srv.port())));
    // emit completes once the frame is queued; the kernel completes the connect before accept.
    const json::value pattern = {{"role", "math"}, {"cmd", "ev"}};
    const json::value z = {{"z", 1}};
    co_await c.emit(pattern, z);
    auto peer = co_await srv.accept();
    const std::string_view want =
        R"(63#{"pattern":"{\"cmd\":\"ev\",\"role\":\"math\"}","data":{"z":1}})";
    const std::string got = co_await peer.read(want.size());
    EXPECT_EQ(got, want);

    const std::string text = "h\xC3\xA9 \xF0\x9F\x98\x80";
    co_await c.emit("note", text);
    const std::string want2 = "33#{\"pattern\":\"note\",\"data\":\"h\xC3\xA9 \xF0\x9F\x98\x80\"}";
    const std::string got2 = co_await peer.read(want2.size());
    EXPECT_EQ(got2, want2);

    co_await c.emit(42, 1);
    const std::string_view want3 = R"(25#{"pattern":"42","data":1})";
    const std::string got3 = co_await peer.read(want3.size());
    EXPECT_EQ(got3, want3);
    EXPECT_EQ(c.pending(), 0u);
  });
}

TEST(client_wire, nest_error_replies_fail_the_call) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    raw_server srv(ex);
    client_proxy c(ex, tcp::client(client_opts(srv.port())));
    auto boom = spawn(ex, call_text(c, "boom", 0));
    auto peer = co_await srv.accept();
    const std::string r1 = co_await peer.read_frame();
    co_await peer.write(
        frame(R"({"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":")" +
              id_of(r1) + R"("})"));
    const std::string e1 = co_await boom->join();
    EXPECT_EQ(e1, R"(rpc_error:{"status":"error","message":"bad thing"})");

    // The no-handler reply has no isDisposed; its err still ends the call.
    auto nope = spawn(ex, call_text(c, "nope", 0));
    const std::string r2 = co_await peer.read_frame();
    co_await peer.write(frame(
        R"({"id":")" + id_of(r2) +
        R"(","status":"error","err":"There is no matching message handler defined in the remote service."})"));
    const std::string e2 = co_await nope->join();
    EXPECT_EQ(e2,
              R"(rpc_error:"There is no matching message handler defined in the remote service.")");

    // NestJS 12: a reply with keys other than id/err/response/isDisposed/status is not an
    // envelope; the whole document is the response. And an end without a value gives null.
    auto odd = spawn(ex, call_text(c, "odd", 0));
    const std::string r3 = co_await peer.read_frame();
    const std::string odd_reply = R"({"id":")" + id_of(r3) + R"(","response":1,"extra":true})";
    co_await peer.write(frame(odd_reply));
    const std::string e3 = co_await odd->join();
    EXPECT_EQ(e3, "ok:" + odd_reply);
    auto empty = spawn(ex, call_text(c, "empty", 0));
    const std::string r4 = co_await peer.read_frame();
    co_await peer.write(frame(R"({"isDisposed":true,"id":")" + id_of(r4) + R"("})"));
    const std::string e4 = co_await empty->join();
    EXPECT_EQ(e4, "ok:null");
    EXPECT_EQ(c.pending(), 0u);
  });
}

TEST(client_wire, the_server_closing_fails_pending_calls_and_the_next_call_reconnects) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    raw_server srv(ex);
    client_proxy c(ex, tcp::client(client_opts(srv.port())));
    auto a = spawn(ex, call_text(c, "sum", json::value_from(one_two_three)));
    auto b = spawn(ex, call_text(c, "sum", json::value_from(one_two_three)));
    {
      auto peer = co_await srv.accept();
      const std::string r1 = co_await peer.read_frame();
      const std::string r2 = co_await peer.read_frame();
      EXPECT_FALSE(r1.empty());
      EXPECT_FALSE(r2.empty());
    }  // closed without replying
    const std::string ea = co_await a->join();
    const std::string eb = co_await b->join();
    EXPECT_EQ(ea, "connection_error:Connection closed");
    EXPECT_EQ(eb, "connection_error:Connection closed");
    EXPECT_EQ(c.pending(), 0u);

    auto again = spawn(ex, call_text(c, "sum", json::value_from(one_two_three)));
    auto peer = co_await srv.accept();
    const std::string r = co_await peer.read_frame();
    co_await peer.write(frame(R"({"response":6,"isDisposed":true,"id":")" + id_of(r) + R"("})"));
    const std::string e = co_await again->join();
    EXPECT_EQ(e, "ok:6");
  });
}

// Bad frames from the server: the client closes the connection, as NestJS's JsonSocket does,
// and the pending call fails instead of hanging.
TEST(client_wire, a_bad_reply_frame_closes_the_connection) {
  testing::run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    raw_server srv(ex);
    tcp::client_options o = client_opts(srv.port());
    o.limits.max_buffer_size = 1000;
    o.limits.incomplete_message_timeout = 200ms;
    client_proxy c(ex, tcp::client(o));
    const std::vector<std::string> bad{"abc#{}", "5#hello", "2000#" + std::string(1500, ' '),
                                       "30#{\"response\":"};  // the last one stops mid-frame
    for (const auto& bytes : bad) {
      SCOPED_TRACE(bytes.substr(0, 20));
      auto call = spawn(ex, call_text(c, "sum", json::value_from(one_two_three)));
      auto peer = co_await srv.accept();
      const std::string r = co_await peer.read_frame();
      EXPECT_FALSE(r.empty());
      co_await peer.write(bytes);
      const bool closed = co_await peer.closed_by_peer();
      EXPECT_TRUE(closed);
      const std::string e = co_await call->join();
      EXPECT_EQ(e, "connection_error:Connection closed");
    }
    EXPECT_EQ(c.pending(), 0u);
  });
}

}  // namespace
}  // namespace roost::tcp::test
