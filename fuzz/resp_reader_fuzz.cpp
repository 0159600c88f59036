// Feeds arbitrary bytes, in arbitrary pieces, to the Redis transport's reply reader and
// classifies every reply as a subscribed connection would: no crash, no leak, whatever comes.
#include <roost/redis/detail/resp.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace rd = roost::redis::detail;
  rd::reader r;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  // The first byte chooses the piece size, so that reads split replies anywhere.
  const std::size_t piece = size > 0 ? 1 + data[0] % 64 : 1;
  for (std::size_t at = 0; at < all.size(); at += piece) {
    r.feed(all.substr(at, piece));
    for (;;) {
      auto reply = r.next();
      if (!reply) return 0;  // not RESP: the connection would be closed
      if (!*reply) break;
      auto p = rd::classify(**reply);
      (void)p;
      (void)rd::text(**reply);
    }
  }
  return 0;
}
