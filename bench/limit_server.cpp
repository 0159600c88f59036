// The "limit" server: the least a NestJS-TCP-compatible server must do, and nothing more — one
// thread, Asio, the `<N>#<JSON>` framing, Boost.JSON to parse each request, and a `sum` reply.
// It shows what the hardware allows; roost is measured against it.
//   limit_server PORT        (prints READY <port>)

#include "frame_codec.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket s) {
  roost::tcp::detail::frame_decoder decoder;
  constexpr std::size_t buf_size = 64 * 1024;
  std::unique_ptr<char[]> buf(new char[buf_size]);  // not zeroed: idle connections stay small
  std::string out, body;
  json::parser parser;
  try {
    for (;;) {
      const std::size_t n = co_await s.async_read_some(asio::buffer(buf.get(), buf_size), asio::use_awaitable);
      decoder.feed(std::string_view(buf.get(), n));
      out.clear();
      for (;;) {
        auto f = decoder.next();
        if (!f || !*f) break;
        parser.reset();
        boost::system::error_code ec;
        parser.write(**f, ec);
        if (ec) co_return;
        json::value v = parser.release();
        double sum = 0;
        for (auto& x : v.at("data").as_array()) sum += x.to_number<double>();
        body = "{\"response\":";
        body += json::serialize(json::value(sum));
        body += ",\"isDisposed\":true,\"id\":";
        body += json::serialize(v.at("id"));
        body += '}';
        roost::tcp::detail::append_frame(out, body);
      }
      co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
    }
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> listen(tcp::acceptor& a) {
  for (;;) {
    auto s = co_await a.async_accept(asio::use_awaitable);
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(a.get_executor(), session(std::move(s)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  asio::io_context ioc(1);
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"),
                        static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0)});
  std::printf("READY %u\n", a.local_endpoint().port());
  std::fflush(stdout);
  asio::signal_set sig(ioc, SIGINT, SIGTERM);
  sig.async_wait([&](auto, int) { ioc.stop(); });
  asio::co_spawn(ioc, listen(a), asio::detached);
  ioc.run();
}
