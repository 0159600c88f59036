// A raw socket client against a roost TCP server: the exact bytes a NestJS ClientTCP sends
// and expects back (nest-wire-protocol.md §1, §2).

#include <roost/tcp/server.hpp>

#include "loopback_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace roost::tcp::test {
namespace {

class server_wire : public ::testing::Test {
 protected:
  service_state st;
  router r = make_router(st);
};

constexpr std::string_view sum_request = R"(42#{"pattern":"sum","data":[1,2,3],"id":"a1"})";
constexpr std::string_view sum_reply = R"(42#{"response":6,"isDisposed":true,"id":"a1"})";

TEST_F(server_wire, sum_gets_the_exact_nest_reply) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    co_await peer.write(sum_request);
    const std::string got = co_await peer.read(sum_reply.size());
    EXPECT_EQ(got, sum_reply);
    // Nothing else came with it: the next bytes are the next reply.
    co_await peer.write(sum_request);
    const std::string again = co_await peer.read(sum_reply.size());
    EXPECT_EQ(again, sum_reply);
    EXPECT_EQ(svc.srv.connections(), 1u);
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, several_frames_in_one_write_are_answered_in_order) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    const std::string requests = frame(R"({"pattern":"sum","data":[1],"id":"m1"})") +
                                 frame(R"({"pattern":"sum","data":[1,2],"id":"m2"})") +
                                 frame(R"({"pattern":"echo","data":"three","id":"m3"})");
    co_await peer.write(requests);
    const std::string want = frame(R"({"response":1,"isDisposed":true,"id":"m1"})") +
                             frame(R"({"response":3,"isDisposed":true,"id":"m2"})") +
                             frame(R"({"response":"three","isDisposed":true,"id":"m3"})");
    const std::string got = co_await peer.read(want.size());
    EXPECT_EQ(got, want);
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, a_frame_split_byte_by_byte_is_reassembled) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    co_await peer.write_bytewise(sum_request);
    const std::string got = co_await peer.read(sum_reply.size());
    EXPECT_EQ(got, sum_reply);
    co_await svc.app.shutdown();
  });
}

// The length prefix counts UTF-16 code units: "😀" is 4 bytes of UTF-8 but 2 units, "é" 2
// bytes but 1 unit (the reply is the one captured from a live Nest 12 server, §2.1).
TEST_F(server_wire, non_ascii_and_astral_payload_uses_utf16_lengths) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    const std::string request =
        "48#{\"pattern\":\"echo\",\"data\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 "
        "\xC3\xBC\",\"id\":\"u1\"}";
    const std::string want =
        "53#{\"response\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 "
        "\xC3\xBC\",\"isDisposed\":true,\"id\":\"u1\"}";
    EXPECT_EQ(want.size(), 60u);  // 57 bytes of JSON on the wire
    co_await peer.write(request);
    const std::string got = co_await peer.read(want.size());
    EXPECT_EQ(got, want);
    // Again byte by byte, so reads end inside the multi-byte characters.
    co_await peer.write_bytewise(request);
    const std::string again = co_await peer.read(want.size());
    EXPECT_EQ(again, want);
    co_await svc.app.shutdown();
  });
}

// A typed handler's value is written straight into the frame, whose prefix then counts only
// the value's own characters (the envelope and the id are ASCII): short and long values with
// multi-byte and astral characters get the lengths NestJS gives them.
TEST_F(server_wire, a_typed_handlers_non_ascii_value_gets_its_utf16_length) {
  r.message("greet", [](std::string name) { return "h\xC3\xA9 " + name + " \xF0\x9F\x98\x80"; });
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    const std::string longer(40, 'x');
    const std::string requests =
        frame(R"({"pattern":"greet","data":"yo","id":"g1"})") +
        frame(R"({"pattern":"greet","data":")" + longer + R"(","id":"g2"})");
    co_await peer.write(requests);
    // frame() counts the whole text, as NestJS does: 10 units in 13 bytes for the first value
    // (quotes included), 50 in 53 for the second, longer than the short count's loop takes.
    const std::string want =
        frame(
            "{\"response\":\"h\xC3\xA9 yo \xF0\x9F\x98\x80\",\"isDisposed\":true,\"id\":\"g1\"}") +
        frame("{\"response\":\"h\xC3\xA9 " + longer +
              " \xF0\x9F\x98\x80\",\"isDisposed\":true,\"id\":\"g2\"}");
    EXPECT_EQ(want.substr(0, 3), "51#");
    const std::string got = co_await peer.read(want.size());
    EXPECT_EQ(got, want);
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, stream_handler_sends_one_frame_per_value) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    co_await peer.write(frame(R"({"pattern":"count","data":3,"id":"s1"})"));
    const std::string want = R"(24#{"response":0,"id":"s1"})"
                             R"(24#{"response":1,"id":"s1"})"
                             R"(42#{"response":2,"isDisposed":true,"id":"s1"})";
    const std::string got = co_await peer.read(want.size());
    EXPECT_EQ(got, want);
    // An empty stream ends with isDisposed alone.
    co_await peer.write(frame(R"({"pattern":"count","data":0,"id":"s2"})"));
    const std::string end = co_await peer.read(frame(R"({"isDisposed":true,"id":"s2"})").size());
    EXPECT_EQ(end, frame(R"({"isDisposed":true,"id":"s2"})"));
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, an_event_gets_no_reply) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    // The event comes first: had it been answered, its reply would come first too.
    const std::string bytes =
        frame(R"({"pattern":"note","data":{"k":1}})") +
        R"(63#{"pattern":"{\"cmd\":\"ev\",\"role\":\"math\"}","data":{"z":1}})" +
        std::string(sum_request);
    co_await peer.write(bytes);
    const std::string got = co_await peer.read(sum_reply.size());
    EXPECT_EQ(got, sum_reply);
    const bool both = co_await eventually([&] { return st.events.load() == 2; });
    EXPECT_TRUE(both);
    const std::vector<std::string> want{R"({"k":1})", R"(ev:{"z":1})"};
    EXPECT_EQ(st.events_seen(), want);
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, replies_carry_nest_error_and_no_handler_bytes) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    co_await peer.write(frame(R"({"pattern":"nope","data":0,"id":"n1"})"));
    const std::string_view no_handler =
        R"(104#{"id":"n1","status":"error","err":"There is no matching message handler defined in the remote service."})";
    const std::string got = co_await peer.read(no_handler.size());
    EXPECT_EQ(got, no_handler);

    co_await peer.write(frame(R"({"pattern":"boom","data":0,"id":"e1"})"));
    const std::string_view error =
        R"(76#{"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":"e1"})";
    const std::string err = co_await peer.read(error.size());
    EXPECT_EQ(err, error);

    // A numeric id comes back as the same number; an object pattern matches whatever the key
    // order; an unconvertible payload is an error reply, not a dropped connection.
    co_await peer.write(frame(R"({"pattern":{"role":"math","cmd":"sum"},"data":[2,3],"id":123})"));
    const std::string numeric = co_await peer.read_frame();
    EXPECT_EQ(numeric, frame(R"({"response":5,"isDisposed":true,"id":123})"));
    co_await peer.write(frame(R"({"pattern":"sum","data":"not numbers","id":"p1"})"));
    const std::string bad_payload = co_await peer.read_frame();
    EXPECT_NE(body_of(bad_payload).find(R"("err":)"), std::string::npos) << bad_payload;
    EXPECT_NE(body_of(bad_payload).find(R"("isDisposed":true,"id":"p1"})"), std::string::npos)
        << bad_payload;
    co_await svc.app.shutdown();
  });
}

// parseInt-style prefixes and JSON that is not a request envelope keep the connection open,
// as in NestJS.
TEST_F(server_wire, lenient_prefixes_and_external_documents_are_accepted) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    const std::string body = R"({"pattern":"sum","data":[1,2,3],"id":"a1"})";
    co_await peer.write(" 42#" + body);
    const std::string a = co_await peer.read(sum_reply.size());
    EXPECT_EQ(a, sum_reply);
    co_await peer.write("42abc#" + body);
    const std::string b = co_await peer.read(sum_reply.size());
    EXPECT_EQ(b, sum_reply);
    // `1`, `null` and `{}` are "external" events without a pattern: logged, not answered.
    co_await peer.write("1#14#null2#{}" + std::string(sum_request));
    const std::string c = co_await peer.read(sum_reply.size());
    EXPECT_EQ(c, sum_reply);
    co_await svc.app.shutdown();
  });
}

// A bad frame closes that connection only, and nothing after it in the same read is served
// (NestJS stops parsing the buffer at the error).
TEST_F(server_wire, a_corrupted_frame_closes_only_its_connection) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    co_await svc.app.start();
    auto good = co_await raw_peer::connect(svc.port());
    co_await good.write(sum_request);
    const std::string first = co_await good.read(sum_reply.size());
    EXPECT_EQ(first, sum_reply);

    const std::vector<std::string> bad{
        "abc#{}",   // NaN length: CorruptedPacketLengthException
        "#{}",      // empty prefix is NaN too
        "5#hello",  // not JSON: InvalidJSONFormatException
        "4#[1,2",   // truncated JSON
        "0#",       // JSON.parse('') fails
        "-3#",      // a negative length is an empty body
    };
    for (const auto& bytes : bad) {
      SCOPED_TRACE(bytes);
      auto peer = co_await raw_peer::connect(svc.port());
      const std::string after =
          frame(R"({"pattern":"note","data":"after bad frame"})") + std::string(sum_request);
      co_await peer.write(bytes + after);
      const std::string reply = co_await peer.read(1);
      EXPECT_EQ(reply, "");
      EXPECT_TRUE(peer.ended()) << "the server kept the connection open";
    }
    // The other connection was not disturbed.
    co_await good.write(sum_request);
    const std::string second = co_await good.read(sum_reply.size());
    EXPECT_EQ(second, sum_reply);
    EXPECT_EQ(st.events.load(), 0) << "a frame after the bad one was served";
    const bool gone = co_await eventually([&] { return svc.srv.connections() == 1; });
    EXPECT_TRUE(gone);
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, an_oversize_frame_closes_the_connection) {
  testing::run([&]() -> awaitable<void> {
    tcp::limits lim;
    lim.max_buffer_size = 100;
    service svc(r, server_opts(lim));
    co_await svc.app.start();
    auto good = co_await raw_peer::connect(svc.port());
    auto big = co_await raw_peer::connect(svc.port());
    co_await big.write(
        frame(R"({"pattern":"echo","data":")" + std::string(120, 'x') + R"(","id":"big"})"));
    const bool closed = co_await big.closed_by_peer();
    EXPECT_TRUE(closed);
    // Frames within the limit still work, on another connection.
    co_await good.write(sum_request);
    const std::string got = co_await good.read(sum_reply.size());
    EXPECT_EQ(got, sum_reply);
    co_await svc.app.shutdown();
  });
}

TEST_F(server_wire, a_peer_silent_in_mid_frame_is_disconnected) {
  testing::run([&]() -> awaitable<void> {
    tcp::limits lim;
    lim.incomplete_message_timeout = 200ms;
    service svc(r, server_opts(lim));
    co_await svc.app.start();
    // Silence between whole frames is fine...
    auto idle = co_await raw_peer::connect(svc.port());
    co_await idle.write(sum_request);
    const std::string first = co_await idle.read(sum_reply.size());
    EXPECT_EQ(first, sum_reply);
    // ...silence in the middle of one is not.
    auto half = co_await raw_peer::connect(svc.port());
    const auto start = std::chrono::steady_clock::now();
    co_await half.write(sum_request.substr(0, 20));
    const bool closed = co_await half.closed_by_peer(5s);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(closed);
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, 3s);  // ~200 ms; generous for a loaded machine
    // The idle connection has been quiet longer than the timeout and still works.
    co_await idle.write(sum_request);
    const std::string second = co_await idle.read(sum_reply.size());
    EXPECT_EQ(second, sum_reply);
    co_await svc.app.shutdown();
  });
}

// `count` requests for `size`-character replies, padded so one server read holds few of them.
std::string blob_requests(int count, int size) {
  std::string out;
  const std::string pad(1000, 'p');
  for (int i = 0; i < count; ++i) {
    out += frame(R"({"pattern":"blob","data":{"n":)" + std::to_string(size) + R"(,"pad":")" + pad +
                 R"("},"id":"b)" + std::to_string(i) + R"("})");
  }
  return out;
}

// Writes `bytes`; completes with false when the connection failed first. (A coroutine
// function, not a lambda: a temporary lambda's captures would die before its coroutine.)
awaitable<bool> write_all(raw_peer& peer, const std::string& bytes) {
  boost::system::error_code ec;
  co_await asio::async_write(peer.socket(), asio::buffer(bytes),
                             asio::redirect_error(use_awaitable, ec));
  co_return !ec;
}

// Waits until `n` stops changing for `quiet`; returns its last value.
awaitable<int> settled(const std::atomic<int>& n, milliseconds quiet, milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  int last = n.load();
  auto since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < until) {
    co_await pause_for(20ms);
    const int now = n.load();
    if (now != last) {
      last = now;
      since = std::chrono::steady_clock::now();
    } else if (last > 0 && std::chrono::steady_clock::now() - since >= quiet) {
      break;
    }
  }
  co_return last;
}

// A client that sends requests and never reads: the server stops reading from it once the
// replies waiting for it pass send_high_water_mark, instead of buffering all of them. Nothing
// is lost: once the client reads, every reply arrives, in order.
TEST_F(server_wire, a_peer_that_does_not_read_is_paused) {
  testing::run(
      [&]() -> awaitable<void> {
        tcp::limits lim;
        lim.send_high_water_mark = 64 * 1024;
        lim.max_send_buffer_size = 256u * 1024 * 1024;  // never reached here
        service svc(r, server_opts(lim));
        co_await svc.app.start();
        auto ex = co_await asio::this_coro::executor;
        constexpr int total = 4000;
        constexpr int size = 4000;  // 16 MB of replies in all
        auto hog = co_await raw_peer::connect(svc.port(), 4096);
        const std::string requests = blob_requests(total, size);
        auto writing = spawn(ex, write_all(hog, requests));
        const int served = co_await settled(st.blobs, 500ms, 15s);
        std::printf("[          ] served %d of %d before pausing\n", served, total);
        EXPECT_LT(served, total / 2) << "the server kept reading from a client that does not read";

        // Other clients are served meanwhile.
        auto other = co_await raw_peer::connect(svc.port());
        co_await other.write(sum_request);
        const std::string got = co_await other.read(sum_reply.size());
        EXPECT_EQ(got, sum_reply);
        EXPECT_EQ(svc.srv.connections(), 2u);

        // The paused client now reads everything, in order.
        int received = 0;
        for (; received < total; ++received) {
          const std::string f = co_await hog.read_frame();
          const std::string want_tail =
              R"(","isDisposed":true,"id":"b)" + std::to_string(received) + R"("})";
          if (f.size() < want_tail.size() ||
              f.compare(f.size() - want_tail.size(), want_tail.size(), want_tail) != 0) {
            ADD_FAILURE() << "reply " << received << " is " << f.substr(0, 80);
            break;
          }
        }
        EXPECT_EQ(received, total);
        const bool wrote = co_await writing->join();
        EXPECT_TRUE(wrote);
        co_await svc.app.shutdown();
      },
      30s);
}

// With replies piling up faster than the pause can stop them, max_send_buffer_size closes the
// connection (NestJS destroys the socket), and other clients go on.
TEST_F(server_wire, a_peer_that_does_not_read_is_dropped_past_max_send_buffer_size) {
  testing::run(
      [&]() -> awaitable<void> {
        tcp::limits lim;
        lim.send_high_water_mark = 64u * 1024 * 1024;  // no pause: only the hard limit acts
        lim.max_send_buffer_size = 256 * 1024;
        service svc(r, server_opts(lim));
        co_await svc.app.start();
        auto ex = co_await asio::this_coro::executor;
        auto other = co_await raw_peer::connect(svc.port());
        auto hog = co_await raw_peer::connect(svc.port(), 4096);
        const std::string requests = blob_requests(300, 64 * 1024);  // 19 MB of replies
        auto writing = spawn(ex, write_all(hog, requests));
        const bool dropped = co_await eventually([&] { return svc.srv.connections() == 1; });
        EXPECT_TRUE(dropped) << "the server kept " << svc.srv.connections() << " connections";
        const bool closed = co_await hog.closed_by_peer();
        EXPECT_TRUE(closed);
        EXPECT_LT(st.blobs.load(), 300);
        co_await other.write(sum_request);
        const std::string got = co_await other.read(sum_reply.size());
        EXPECT_EQ(got, sum_reply);
        const bool wrote = co_await writing->join();
        EXPECT_FALSE(wrote);  // the server went away before taking everything
        co_await svc.app.shutdown();
      },
      30s);
}

// Enhancers reach the TCP transport through the dispatcher with no change to it: a guard of
// the microservice reads NestJS 12 metadata, and its denial is the frame a Nest server sends
// for `RpcException('Forbidden resource')`.
TEST_F(server_wire, a_service_guard_denies_with_nestjs_forbidden_frame) {
  testing::run([&]() -> awaitable<void> {
    service svc(r);
    svc.app.enhance().use_guard([](roost::context& ctx) {
      const auto* token = ctx.headers().get("authorization");
      return token && *token == "Bearer ok";
    });
    co_await svc.app.start();
    auto peer = co_await raw_peer::connect(svc.port());
    co_await peer.write(sum_request);
    const std::string denied = co_await peer.read_frame();
    EXPECT_EQ(
        denied,
        frame(
            R"({"err":{"status":"error","message":"Forbidden resource"},"isDisposed":true,"id":"a1"})"));
    co_await peer.write(frame(
        R"({"pattern":"sum","data":[1,2,3],"id":"a2","metadata":{"authorization":"Bearer ok"}})"));
    const std::string allowed = co_await peer.read_frame();
    EXPECT_EQ(allowed, frame(R"({"response":6,"isDisposed":true,"id":"a2"})"));
    co_await svc.app.shutdown();
  });
}

}  // namespace

// A long run of frames in one read is answered in parts: the first replies leave while the
// rest are still being served, so the peer can work on them meanwhile (and send its next
// requests). The last of 64 requests is held until the peer has the first reply: if the server
// kept every reply until the batch was served, it would wait in vain. An order, not a time
// bound, so that a slow machine cannot fail it.
TEST_F(server_wire, a_long_batch_sends_its_first_replies_before_serving_the_rest) {
  constexpr int n = 64;
  std::atomic<int> served{0};
  std::atomic<bool> first_received{false};
  std::atomic<bool> last_saw_first{false};
  r.message("nap", [&](int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (++served == n) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!first_received && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      last_saw_first = first_received.load();
    }
    return ms;
  });
  testing::run(
      [&]() -> awaitable<void> {
        service svc(r);
        co_await svc.app.start();
        auto peer = co_await raw_peer::connect(svc.port());
        std::string requests;
        for (int i = 0; i < n; ++i) {
          requests += frame(R"({"pattern":"nap","data":3,"id":"n)" + std::to_string(i) + "\"}");
        }
        co_await peer.write(requests);
        const std::string first = co_await peer.read_frame();
        first_received = true;
        EXPECT_EQ(first, frame(R"({"response":3,"isDisposed":true,"id":"n0"})"));
        for (int i = 1; i < n; ++i) {
          const std::string next = co_await peer.read_frame();
          EXPECT_EQ(next, frame(R"({"response":3,"isDisposed":true,"id":"n)" + std::to_string(i) +
                                "\"}"));
        }
        EXPECT_TRUE(last_saw_first) << "the first reply came only after the whole batch";
        co_await svc.app.shutdown();
      },
      std::chrono::seconds(20),
      2);  // the peer reads on one thread while the server naps on the other
}

}  // namespace roost::tcp::test
