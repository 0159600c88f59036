#pragma once
/// \file Sans-I/O codec for the TCP framing of NestJS's `JsonSocket` (`<N>#<json>`).
///
/// Mirrors `@nestjs/microservices` 11.2.6 and 12.1.1 `helpers/json-socket.js`, whose framing code
/// is identical in both. Nest decodes the socket's bytes with Node's `StringDecoder` into a JS
/// string and measures everything in UTF-16 code units, so this codec does too:
///  - invalid UTF-8 is replaced by U+FFFD as V8 does (one per maximal subpart, WHATWG);
///  - bytes of an incomplete character that Node's `StringDecoder` would hold back at the end of a
///    read are not counted until the read that completes (or breaks) them, so frame boundaries and
///    the `maxBufferSize` check fire at the same reads as in Nest;
///  - the length prefix is read with the rules of JS `parseInt(prefix, 10)`.
///
/// To get Nest's timing exactly, call `next()` until it returns `std::nullopt` (or an error) after
/// every `feed()`, as Nest's `processBuffer` runs after every `data` event.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace roost::tcp::detail {

/// Number of UTF-16 code units of a UTF-8 text, as JavaScript's `string.length` after decoding it
/// (an astral character counts 2; each maximal invalid subpart counts 1, as the U+FFFD V8 puts in
/// its place).
std::size_t utf16_length(std::string_view utf8) noexcept;

/// Appends one frame `<N>#<json>` (N = `utf16_length(json)`, canonical decimal) to `out`.
void append_frame(std::string& out, std::string_view json);
/// A frame encoded straight into a write buffer: begin_frame() appends room for the length
/// prefix and returns where the frame starts; the JSON text is then appended; end_frame() writes
/// the prefix. The room fits a two-digit length, the common reply, so that most frames are
/// prefixed in place; any other length moves the text once. The bytes are append_frame's.
std::size_t begin_frame(std::string& out);
void end_frame(std::string& out, std::size_t frame_start);
/// end_frame() for a text whose UTF-16 length, `units`, the caller knows (it wrote the ASCII
/// parts itself and counted only the others), so that the text is not counted again.
void end_frame(std::string& out, std::size_t frame_start, std::size_t units);

/// Why `frame_decoder::next()` failed; the connection must be closed afterwards, as Nest does.
enum class frame_error {
  /// the text before `#` is not a number for `parseInt` (Nest's CorruptedPacketLengthException)
  corrupted_length = 1,
  /// more than `max_buffer_size` UTF-16 units are buffered (MaxPacketLengthExceededException)
  too_large,
  /// the declared length ends between the two UTF-16 halves of an astral character. Nest cuts the
  /// string there, leaving a lone surrogate that `JSON.parse` always rejects (it can only be inside
  /// an unterminated string literal), so Nest fails with InvalidJSONFormatException; UTF-8 cannot
  /// carry a lone surrogate, so this codec reports it here instead.
  split_surrogate,
};

const boost::system::error_category& frame_category() noexcept;

inline boost::system::error_code make_error_code(frame_error e) noexcept {
  return {static_cast<int>(e), frame_category()};
}

/// A short, fixed description of `e` (the category's message), without the per-packet detail.
std::string_view message(frame_error e) noexcept;

/// Nest's text for a corrupted prefix: `Corrupted length value "<raw>" supplied in a packet`.
std::string corrupted_length_message(std::string_view raw);

/// Nest's text for an oversize buffer: `The packet length (<n>) exceeds the maximum allowed
/// length`.
std::string too_large_message(std::uint64_t length);

/// Our text for `frame_error::split_surrogate` (Nest has none of its own, see there).
std::string split_surrogate_message(std::uint64_t length);

struct frame_limits {
  /// Most UTF-16 code units that may sit decoded in the buffer, NestJS's `maxBufferSize`
  /// ((512 MiB) / 4 by default). Like Nest it bounds the buffered text (prefixes already parsed are
  /// not counted, frames not yet taken out are), not the declared length of a frame.
  std::size_t max_buffer_size = 134'217'728;
};

/// Splits a byte stream into the JSON texts of NestJS TCP frames.
///
/// Not thread-safe; one per connection. Never throws on bad input (only `std::bad_alloc`).
class frame_decoder {
 public:
  explicit frame_decoder(frame_limits limits = {});

  /// Hands the decoder bytes read from the socket (copies them into its buffer). Ignored after
  /// `next()` has failed. Invalidates the view returned by `next()`.
  void feed(std::string_view bytes);

  /// Frees the buffers when nothing is held (between messages), so an idle connection keeps
  /// no memory of its past traffic.
  void shrink_to_fit();

  /// The next complete frame's JSON text, `std::nullopt` when more bytes are needed, or an error
  /// after which the connection must be closed (the same error is returned again on later calls).
  /// The text is valid UTF-8: invalid input sequences are replaced by U+FFFD, as Nest sees them.
  /// A zero or negative declared length gives an empty text at once, as in Nest (whose
  /// `JSON.parse('')` then fails). The view is valid until the next call to `feed` or `next`.
  boost::system::result<std::optional<std::string_view>> next();

  /// True when a frame has started but is not complete, Nest's `buffer.length > 0 ||
  /// contentLength !== null` (drives the incomplete-message timeout). Bytes of an incomplete
  /// character held back like `StringDecoder` does are not counted, as in Nest.
  bool mid_frame() const noexcept;

  /// Bytes held, including those of frames not yet taken out with `next()`.
  std::size_t buffered_bytes() const noexcept;

  /// UTF-16 code units held, Nest's `buffer.length` (the number its incomplete-message and
  /// max-buffer-size messages print).
  std::uint64_t buffered_length() const noexcept;

  /// The full Nest-style text of the error `next()` returned (empty if none), for the log.
  std::string error_message() const;

 private:
  boost::system::error_code fail(frame_error e, std::uint64_t length, std::string raw = {});
  void commit(std::size_t end) noexcept;
  void compact() noexcept;

  frame_limits limits_;
  std::string buf_;
  std::string scratch_;  // a frame's text with invalid UTF-8 replaced, reused between frames

  std::size_t head_ = 0;       // first byte not yet taken out (a prefix or a frame body)
  std::size_t committed_ = 0;  // bytes [0, committed_) are decoded; the rest is a held character
  unsigned missing_ = 0;       // bytes the held character still needs, StringDecoder's count

  // Running totals of UTF-16 units since the start: decoded, and taken out (prefixes, '#',
  // bodies). Their difference is Nest's buffer.length.
  std::uint64_t committed_units_ = 0;
  std::uint64_t consumed_units_ = 0;

  std::size_t hash_scan_ = 0;  // where the search for '#' resumes
  // Bytes [ascii_from_, committed_) are all ASCII (one unit each): prefixes and bodies there are
  // measured by their byte count instead of being counted again.
  std::size_t ascii_from_ = 0;

  bool have_length_ = false;
  std::uint64_t length_ = 0;      // declared length, saturated; 0 for zero or negative
  std::size_t body_scan_ = 0;     // how far the current body has been counted...
  std::uint64_t body_units_ = 0;  // ...and how many units that was
  bool body_invalid_ = false;     // the counted part of the body holds invalid UTF-8

  std::optional<frame_error> error_;
  std::uint64_t error_length_ = 0;
  std::string error_raw_;
};

}  // namespace roost::tcp::detail

namespace boost::system {
template <>
struct is_error_code_enum<roost::tcp::detail::frame_error> : std::true_type {};
}  // namespace boost::system
