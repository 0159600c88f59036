// libFuzzer target for roost::tcp::detail::frame_decoder, the NestJS TCP frame parser.
//
// Input layout: byte 0 picks the limit and the read sizes, byte 1 seeds the read sizes, the rest
// is the byte stream. The stream is fed in those pieces and drained after every read, as the
// transport does. Checked, besides the sanitizers: frames are valid UTF-8 within the limit, an
// error is final, re-framing a frame gives it back, and, with no practical limit, the frames do
// not depend on how the stream was cut into reads.
#include <roost/tcp/detail/frame_codec.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using roost::tcp::detail::append_frame;
using roost::tcp::detail::frame_decoder;
using roost::tcp::detail::frame_limits;
using roost::tcp::detail::utf16_length;

void check(bool ok) {
  if (!ok) std::abort();
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p != end) {
    const unsigned char b = *p;
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      ++p;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= need) return false;
    for (std::size_t i = 1; i <= need; ++i) {
      if (p[i] < lo || p[i] > hi) return false;
      lo = 0x80;
      hi = 0xBF;
    }
    p += need + 1;
  }
  return true;
}

struct result {
  std::vector<std::string> frames;
  std::optional<boost::system::error_code> error;
  std::string error_message;
  bool mid_frame = false;
  std::uint64_t buffered_length = 0;
  std::size_t buffered_bytes = 0;
};

// Feeds `stream` in reads of the given sizes (the last read takes the rest).
result run(std::string_view stream, const std::vector<std::size_t>& reads, frame_limits limits) {
  frame_decoder d(limits);
  result r;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < stream.size() && !r.error; ++i) {
    const std::size_t n = i < reads.size() ? reads[i] : stream.size() - pos;
    d.feed(stream.substr(pos, n));
    pos += std::min(n, stream.size() - pos);
    for (;;) {
      auto next = d.next();
      if (!next) {
        r.error = next.error();
        check(&next.error().category() == &roost::tcp::detail::frame_category());
        r.error_message = d.error_message();
        check(!r.error_message.empty());
        // An error is final: the same error again, input ignored, nothing held.
        d.feed("2#{}");
        auto again = d.next();
        check(!again && again.error() == next.error());
        check(d.buffered_bytes() == 0 && !d.mid_frame());
        break;
      }
      if (!*next) break;
      const std::string_view frame = **next;
      check(is_valid_utf8(frame));
      check(utf16_length(frame) <= limits.max_buffer_size);
      r.frames.emplace_back(frame);  // reads every byte, so ASan sees a view out of bounds
      // Each frame takes at least its '#', so more frames than bytes means a loop.
      check(r.frames.size() <= pos);
    }
  }
  if (!r.error) {
    r.mid_frame = d.mid_frame();
    r.buffered_length = d.buffered_length();
    r.buffered_bytes = d.buffered_bytes();
    check(r.buffered_bytes <= stream.size());
    check(r.buffered_length <= r.buffered_bytes);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t control = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  frame_limits limits;
  if (control & 0x80) limits.max_buffer_size = control & 0x3F;

  // Read sizes from a small xorshift seeded by the first two bytes; bit 6 means byte by byte.
  std::vector<std::size_t> reads;
  std::uint32_t state = 0x9E3779B9u ^ (std::uint32_t{control} << 8) ^ data[1];
  const std::size_t max_read = (control & 0x40) ? 1 : 1 + (control & 0x1F);
  for (std::size_t total = 0; total < stream.size();) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    reads.push_back(1 + state % max_read);
    total += reads.back();
  }

  const result pieces = run(stream, reads, limits);

  // Re-framing what was decoded gives it back (frames are already valid UTF-8).
  for (std::size_t i = 0; i < pieces.frames.size() && i < 8; ++i) {
    std::string wire;
    append_frame(wire, pieces.frames[i]);
    frame_decoder d;
    d.feed(wire);
    auto r = d.next();
    check(r && *r && **r == pieces.frames[i]);
    check(!d.mid_frame() && d.buffered_bytes() == 0);
  }

  // Without a practical limit only the size of reads could matter, and it must not change the
  // frames, the error or what is left: the held-back bytes of Node's StringDecoder shift when text
  // is counted, never what it is.
  if (!(control & 0x80)) {
    const result whole = run(stream, {}, limits);
    check(whole.frames == pieces.frames);
    check(whole.error == pieces.error);
    check(whole.error_message == pieces.error_message);
    check(whole.mid_frame == pieces.mid_frame);
    check(whole.buffered_length == pieces.buffered_length);
    check(whole.buffered_bytes == pieces.buffered_bytes);
  }
  return 0;
}
