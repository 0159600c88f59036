#pragma once
// RESP2, sans I/O: commands are written here (arrays of bulk strings), replies are parsed by
// hiredis's reader. Nothing here touches a socket.

#include <boost/system/result.hpp>

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct redisReply;
struct redisReader;
struct redisReplyObjectFunctions;

namespace roost::redis::detail {

/// Appends `args` as one command: `*N\r\n` then `$len\r\narg\r\n` per argument.
void append_command(std::string& out, std::span<const std::string_view> args);
inline void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

/// Appends `PUBLISH channel payload` without building the arguments first.
void append_publish(std::string& out, std::string_view channel, std::string_view payload);

struct reply_deleter {
  void operator()(redisReply* r) const noexcept;
};
/// One parsed reply, as hiredis builds it.
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

/// Incremental reply parser over hiredis's redisReader.
class reader {
 public:
  reader();
  ~reader();
  reader(reader&&) noexcept;
  reader& operator=(reader&&) noexcept;

  void feed(std::string_view bytes);
  /// The next complete reply; nullptr when more bytes are needed; protocol_error on input that
  /// is not RESP (the reader is then unusable).
  boost::system::result<reply_ptr> next();

  /// Arrays may hold at most this many elements: hiredis allocates an array's element table
  /// from its header alone, so `*999999999` would cost gigabytes before any element came.
  static constexpr int max_array_elements = 1 << 20;

 private:
  redisReader* r_;
  // hiredis's reply builders with createArray bounded (the reader points at it).
  std::unique_ptr<redisReplyObjectFunctions> functions_;
};

/// The text of a string, status or error reply ("" for other types).
std::string_view text(const redisReply& r) noexcept;
bool is_error(const redisReply& r) noexcept;

/// A pub/sub push as a subscribed connection receives it (RESP2 arrays).
struct push {
  enum class kind { message, pmessage, subscribe, unsubscribe, psubscribe, punsubscribe, other };
  kind type = kind::other;
  std::string_view pattern;  ///< pmessage: the glob that matched
  std::string_view channel;  ///< the channel (or the glob, for psubscribe/punsubscribe)
  std::string_view payload;  ///< message, pmessage
  long long count = -1;      ///< (p)(un)subscribe: the connection's subscriptions left after it
};
/// Classifies a reply received on a subscribed connection; views point into `r`.
push classify(const redisReply& r) noexcept;

}  // namespace roost::redis::detail
