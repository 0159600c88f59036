// The Redis "limit" server: the least a server can do for the benchmark's request over the
// NestJS Redis protocol, to measure what the broker allows for the very messages roost's server
// exchanges (bench/redis.sh runs it behind the same broker with the same load generator). Like
// roost's server it has one connection subscribed to `sum` and one that publishes the replies
// on `sum.reply` with `CLIENT REPLY OFF`, and it writes its replies every 32 messages and at
// the end of each read. Nothing else: one thread, blocking sockets, the request scanned for
// its numbers and id instead of parsed, and only `sum` served.
//   redis_limit --port P [--host H]        (prints READY 0 once subscribed)

#include <roost/redis/detail/resp.hpp>

#include <boost/asio.hpp>

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
namespace rd = roost::redis::detail;

namespace {

constexpr std::size_t replies_per_part = 32;  // as roost::detail::replies_per_part

// `{"response":<sum of data>,"isDisposed":true,"id":<id>}` for one request, or false when the
// request is not a plain `sum` of integers with an id.
bool reply_for(std::string_view body, std::string& reply) {
  const auto d = body.find("\"data\":[");
  const auto i = body.rfind("\"id\":");
  if (d == std::string_view::npos || i == std::string_view::npos) return false;
  long long sum = 0;
  const char* p = body.data() + d + 8;
  const char* end = body.data() + body.size();
  while (p < end && *p != ']') {
    long long x = 0;
    const auto r = std::from_chars(p, end, x);
    if (r.ec != std::errc()) return false;
    sum += x;
    p = r.ptr;
    while (p < end && (*p == ',' || *p == ' ')) ++p;
  }
  const char* id = body.data() + i + 5;
  const char* id_end = id;
  if (id_end < end && *id_end == '"') {
    ++id_end;
    while (id_end < end && *id_end != '"') ++id_end;
    ++id_end;
  } else {
    while (id_end < end && *id_end != '}' && *id_end != ',') ++id_end;
  }
  if (id_end > end) return false;
  char digits[24];
  const auto n = std::to_chars(digits, digits + sizeof digits, sum).ptr;
  reply.assign("{\"response\":");
  reply.append(digits, n);
  reply.append(",\"isDisposed\":true,\"id\":");
  reply.append(id, id_end);
  reply.push_back('}');
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", port = "6379";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--host") {
      host = argv[i + 1];
    } else if (k == "--port") {
      port = argv[i + 1];
    } else {
      std::fprintf(stderr, "redis_limit: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    asio::io_context io;
    tcp::resolver res(io);
    const auto eps = res.resolve(host, port);
    tcp::socket sub(io), pub(io);
    asio::connect(sub, eps);
    asio::connect(pub, eps);
    sub.set_option(tcp::no_delay(true));
    pub.set_option(tcp::no_delay(true));
    std::string cmd;
    rd::append_command(cmd, {"CLIENT", "REPLY", "OFF"});  // no reply comes for it
    asio::write(pub, asio::buffer(cmd));
    cmd.clear();
    rd::append_command(cmd, {"SUBSCRIBE", "sum"});
    asio::write(sub, asio::buffer(cmd));
    rd::reader reader;
    std::vector<char> buf(64 * 1024);
    bool subscribed = false;
    std::string out, reply;
    for (;;) {
      const std::size_t n = sub.read_some(asio::buffer(buf));
      reader.feed(std::string_view(buf.data(), n));
      std::size_t served = 0;
      for (;;) {
        auto r = reader.next();
        if (!r) throw std::runtime_error("bad RESP from the broker");
        if (!*r) break;
        const auto p = rd::classify(**r);
        if (p.type == rd::push::kind::subscribe && !subscribed) {
          subscribed = true;
          std::printf("READY 0\n");
          std::fflush(stdout);
          continue;
        }
        if (p.type != rd::push::kind::message) continue;
        if (!reply_for(p.payload, reply)) {
          std::fprintf(stderr, "redis_limit: not a sum request: %.*s\n",
                       static_cast<int>(p.payload.size()), p.payload.data());
          continue;  // no reply: the load generator counts it as lost
        }
        rd::append_publish(out, "sum.reply", reply);
        if (++served % replies_per_part == 0) {
          asio::write(pub, asio::buffer(out));
          out.clear();
        }
      }
      if (!out.empty()) {
        asio::write(pub, asio::buffer(out));
        out.clear();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis_limit: %s\n", e.what());
    return 1;
  }
}
