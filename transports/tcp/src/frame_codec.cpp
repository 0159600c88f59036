#include <roost/tcp/detail/frame_codec.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

namespace roost::tcp::detail {
namespace {

using byte = unsigned char;

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

bool is_continuation(byte b) noexcept {
  return (b & 0xC0) == 0x80;
}

/// One code point, or one maximal invalid subpart, at the start of a non-empty [p, end).
struct unit_group {
  std::size_t bytes;
  unsigned units;  // UTF-16 code units it becomes in JS
  bool valid;
  char32_t code_point;  // U+FFFD when not valid
};

// V8 decodes UTF-8 as the WHATWG Encoding Standard does: one U+FFFD per maximal subpart of an
// invalid sequence, and a byte that breaks a sequence starts the next one. A sequence cut off by
// `end` is invalid, because Node hands V8 each decoded piece on its own.
unit_group decode_one(const byte* p, const byte* end) noexcept {
  const byte b0 = p[0];
  if (b0 < 0x80) return {1, 1, true, b0};
  std::size_t need = 0;
  char32_t cp = 0;
  byte lower = 0x80;
  byte upper = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lower = 0xA0;  // overlong
    if (b0 == 0xED) upper = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lower = 0x90;  // overlong
    if (b0 == 0xF4) upper = 0x8F;  // above U+10FFFF
  } else {
    return {1, 1, false, U'\uFFFD'};
  }
  for (std::size_t i = 1; i <= need; ++i) {
    if (p + i == end || p[i] < lower || p[i] > upper) return {i, 1, false, U'\uFFFD'};
    cp = (cp << 6) | (p[i] & 0x3F);
    lower = 0x80;
    upper = 0xBF;
  }
  return {need + 1, need == 3 ? 2u : 1u, true, cp};
}

struct unit_count {
  std::uint64_t units = 0;
  bool valid = true;
};

/// How many bytes of [p, p + n) are ASCII before the first that is not; eight at a time, since
/// JSON text is mostly ASCII and every byte of every frame is counted.
std::size_t ascii_run(const byte* p, std::size_t n) noexcept {
  constexpr std::uint64_t high = 0x8080808080808080ull;
  const auto word_at = [p](std::size_t i) {
    std::uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    return w;
  };
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    if ((word_at(i) | word_at(i + 8) | word_at(i + 16) | word_at(i + 24)) & high) break;
  }
  for (; i + 8 <= n; i += 8) {
    if (word_at(i) & high) break;
  }
  // Fewer than eight bytes left: the last eight of the run (some checked already) in one go.
  if (i + 8 > n && n >= 8 && !(word_at(n - 8) & high)) return n;
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

unit_count count_units(const byte* p, const byte* end) noexcept {
  unit_count c;
  while (p != end) {
    const std::size_t ascii = ascii_run(p, static_cast<std::size_t>(end - p));
    c.units += ascii;
    p += ascii;
    if (p == end) break;
    const unit_group g = decode_one(p, end);
    c.units += g.units;
    c.valid = c.valid && g.valid;
    p += g.bytes;
  }
  return c;
}

/// Appends [p, end) to out as V8 would decode and re-encode it: invalid subparts become U+FFFD.
void append_sanitized(std::string& out, const byte* p, const byte* end) {
  while (p != end) {
    const unit_group g = decode_one(p, end);
    if (g.valid) {
      out.append(reinterpret_cast<const char*>(p), g.bytes);
    } else {
      out.append(replacement_character);
    }
    p += g.bytes;
  }
}

/// ECMAScript WhiteSpace and LineTerminator, the code points `parseInt` skips (checked against
/// Node 20 for every code point).
bool is_js_space(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

/// JS `parseInt(prefix, 10)` reduced to what the framing needs: std::nullopt for NaN, 0 for zero
/// and for every negative value (Nest's `substring(0, n)` clamps those to an empty body), else
/// the value, saturated: a length beyond max_buffer_size can never complete anyway.
std::optional<std::uint64_t> parse_length(const byte* p, const byte* end) noexcept {
  while (p != end) {
    const unit_group g = decode_one(p, end);
    if (!g.valid || !is_js_space(g.code_point)) break;
    p += g.bytes;
  }
  bool negative = false;
  if (p != end && (*p == '+' || *p == '-')) {
    negative = *p == '-';
    ++p;
  }
  const byte* const digits = p;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (; p != end && *p >= '0' && *p <= '9'; ++p) {
    const unsigned digit = *p - '0';
    value = value > (max - digit) / 10 ? max : value * 10 + digit;
  }
  if (p == digits) return std::nullopt;
  return negative ? 0 : value;
}

const byte* bytes_of(const std::string& s) noexcept {
  return reinterpret_cast<const byte*>(s.data());
}

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "roost.tcp.frame"; }
  std::string message(int ev) const override {
    return std::string(detail::message(static_cast<frame_error>(ev)));
  }
};

}  // namespace

std::size_t utf16_length(std::string_view utf8) noexcept {
  const auto* p = reinterpret_cast<const byte*>(utf8.data());
  return static_cast<std::size_t>(count_units(p, p + utf8.size()).units);
}

void append_frame(std::string& out, std::string_view json) {
  char digits[std::numeric_limits<std::size_t>::digits10 + 1];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, utf16_length(json));
  out.reserve(out.size() + static_cast<std::size_t>(end - digits) + 1 + json.size());
  out.append(digits, end);
  out.push_back('#');
  out.append(json);
}

namespace {
constexpr std::string_view frame_room = "00#";  // a two-digit length and '#'
}  // namespace

std::size_t begin_frame(std::string& out) {
  const std::size_t start = out.size();
  out.append(frame_room);
  return start;
}

void end_frame(std::string& out, std::size_t frame_start) {
  const std::size_t json_start = frame_start + frame_room.size();
  end_frame(out, frame_start, utf16_length(std::string_view(out).substr(json_start)));
}

void end_frame(std::string& out, std::size_t frame_start, std::size_t units) {
  char digits[std::numeric_limits<std::size_t>::digits10 + 1];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, units);
  const auto n = static_cast<std::size_t>(end - digits);
  if (n == frame_room.size() - 1) {
    std::memcpy(out.data() + frame_start, digits, n);
  } else {
    out.replace(frame_start, frame_room.size() - 1, digits, n);
  }
}

const boost::system::error_category& frame_category() noexcept {
  // A category needs one address for the life of the program; this one holds no state.
  static const category instance;
  return instance;
}

std::string_view message(frame_error e) noexcept {
  switch (e) {
    case frame_error::corrupted_length:
      return "Corrupted length value supplied in a packet";
    case frame_error::too_large:
      return "The packet length exceeds the maximum allowed length";
    case frame_error::split_surrogate:
      return "The packet length ends between the two halves of a UTF-16 surrogate pair";
  }
  return "Unknown frame error";
}

std::string corrupted_length_message(std::string_view raw) {
  std::string s = "Corrupted length value \"";
  s.append(raw);
  s.append("\" supplied in a packet");
  return s;
}

std::string too_large_message(std::uint64_t length) {
  return "The packet length (" + std::to_string(length) + ") exceeds the maximum allowed length";
}

std::string split_surrogate_message(std::uint64_t length) {
  return "The packet length (" + std::to_string(length) +
         ") ends between the two halves of a UTF-16 surrogate pair";
}

frame_decoder::frame_decoder(frame_limits limits) : limits_(limits) {}

void frame_decoder::feed(std::string_view bytes) {
  if (error_) return;
  compact();
  const std::size_t start = buf_.size();
  buf_.append(bytes);
  const std::size_t end = buf_.size();
  const byte* data = bytes_of(buf_);

  // What follows is Node's StringDecoder::DecodeData (src/string_decoder.cc) for UTF-8: it decides
  // which bytes become text now and which wait for the next read, and Nest's counts depend on it.
  std::size_t pos = start;
  if (missing_ > 0) {
    // Finish the character held from the last read; a non-continuation byte breaks it.
    std::size_t i = 0;
    while (i < bytes.size() && i < missing_ && is_continuation(data[start + i])) ++i;
    if (i < bytes.size() && i < missing_) {
      missing_ = 0;
    } else {
      missing_ -= static_cast<unsigned>(i);
    }
    pos = start + i;
    if (missing_ > 0) return;
    commit(pos);
  }
  if (pos == end) return;

  // Hold back a character that the read cut off. Like Node, look at the lead byte only: an
  // invalid sequence of the right length is held too, and four trailing bytes or none in this
  // read mean there is nothing worth holding.
  std::size_t held = 0;
  if (data[end - 1] & 0x80) {
    unsigned buffered = 0;
    for (std::size_t i = end - 1;; --i) {
      ++buffered;
      const byte b = data[i];
      if (is_continuation(b)) {
        if (buffered >= 4 || i == pos) break;
        continue;
      }
      const unsigned expected = (b & 0xE0) == 0xC0   ? 2
                                : (b & 0xF0) == 0xE0 ? 3
                                : (b & 0xF8) == 0xF0 ? 4
                                                     : 0;
      if (expected > buffered) {
        held = buffered;
        missing_ = expected - buffered;
      }
      break;
    }
  }
  commit(end - held);
}

void frame_decoder::shrink_to_fit() {
  if (error_) return;
  compact();
  if (buf_.empty()) std::string().swap(buf_);
  std::string().swap(scratch_);
}

void frame_decoder::commit(std::size_t end) noexcept {
  const byte* data = bytes_of(buf_);
  const std::size_t ascii = ascii_run(data + committed_, end - committed_);
  committed_units_ += ascii;
  if (committed_ + ascii != end) {
    committed_units_ += count_units(data + committed_ + ascii, data + end).units;
    ascii_from_ = end;  // the ASCII run after the last other byte is not worth finding
  }
  committed_ = end;
}

void frame_decoder::compact() noexcept {
  if (head_ == 0) return;
  const std::size_t live = buf_.size() - head_;
  // Moving the live bytes costs at most as much as the bytes dropped, so scanning stays
  // amortized O(bytes); clear() and erase() keep the capacity, so the steady state allocates
  // nothing.
  if (live != 0 && (head_ < 4096 || head_ < live)) return;
  if (live == 0) {
    buf_.clear();
  } else {
    buf_.erase(0, head_);
  }
  committed_ -= head_;
  ascii_from_ = ascii_from_ > head_ ? ascii_from_ - head_ : 0;
  hash_scan_ -= head_;
  body_scan_ -= head_;
  head_ = 0;
}

boost::system::error_code frame_decoder::fail(frame_error e, std::uint64_t length,
                                              std::string raw) {
  // Nest empties its buffer too; nothing after this is parsed.
  error_ = e;
  error_length_ = length;
  error_raw_ = std::move(raw);
  buf_.clear();
  scratch_.clear();
  head_ = committed_ = hash_scan_ = body_scan_ = ascii_from_ = 0;
  missing_ = 0;
  consumed_units_ = committed_units_;
  have_length_ = false;
  return e;
}

boost::system::result<std::optional<std::string_view>> frame_decoder::next() {
  if (error_) return boost::system::error_code(*error_);
  const byte* data = bytes_of(buf_);

  // Nest checks at the top of every turn of processBuffer's loop, before looking for '#', on all
  // the text it holds: frames not yet taken out count, as do the bytes of a frame's body.
  const std::uint64_t buffered = committed_units_ - consumed_units_;
  if (buffered > limits_.max_buffer_size) return fail(frame_error::too_large, buffered);

  if (!have_length_) {
    const void* hash = std::memchr(data + hash_scan_, '#', committed_ - hash_scan_);
    if (hash == nullptr) {
      hash_scan_ = committed_;
      return std::nullopt;
    }
    // '#' is ASCII, so the first 0x23 byte is the first '#' of the decoded text.
    const std::size_t hash_pos = static_cast<std::size_t>(static_cast<const byte*>(hash) - data);
    const std::optional<std::uint64_t> length = parse_length(data + head_, data + hash_pos);
    if (!length) {
      std::string raw;
      append_sanitized(raw, data + head_, data + hash_pos);
      return fail(frame_error::corrupted_length, 0, std::move(raw));
    }
    consumed_units_ += (head_ >= ascii_from_ ? hash_pos - head_
                                             : count_units(data + head_, data + hash_pos).units) +
                       1;
    head_ = hash_scan_ = body_scan_ = hash_pos + 1;
    have_length_ = true;
    length_ = *length;
    body_units_ = 0;
    body_invalid_ = false;
  }

  // Count the body from where the last call stopped, so waiting for a big frame stays O(bytes).
  if (body_scan_ >= ascii_from_) {
    const std::size_t take = static_cast<std::size_t>(
        std::min<std::uint64_t>(length_ - body_units_, committed_ - body_scan_));
    body_units_ += take;
    body_scan_ += take;
  }
  while (body_units_ < length_ && body_scan_ < committed_) {
    const std::size_t ascii =
        ascii_run(data + body_scan_, static_cast<std::size_t>(std::min<std::uint64_t>(
                                         length_ - body_units_, committed_ - body_scan_)));
    body_units_ += ascii;
    body_scan_ += ascii;
    if (body_units_ == length_ || body_scan_ == committed_) break;
    const unit_group g = decode_one(data + body_scan_, data + committed_);
    body_units_ += g.units;
    body_invalid_ = body_invalid_ || !g.valid;
    body_scan_ += g.bytes;
  }
  if (body_units_ < length_) return std::nullopt;
  if (body_units_ > length_) return fail(frame_error::split_surrogate, length_);

  std::string_view text(buf_.data() + head_, body_scan_ - head_);
  if (body_invalid_) {
    scratch_.clear();
    append_sanitized(scratch_, data + head_, data + body_scan_);
    text = scratch_;
  }
  consumed_units_ += body_units_;
  head_ = hash_scan_ = body_scan_;
  have_length_ = false;
  return text;
}

bool frame_decoder::mid_frame() const noexcept {
  return !error_ && (have_length_ || committed_units_ != consumed_units_);
}

std::size_t frame_decoder::buffered_bytes() const noexcept {
  return buf_.size() - head_;
}

std::uint64_t frame_decoder::buffered_length() const noexcept {
  return committed_units_ - consumed_units_;
}

std::string frame_decoder::error_message() const {
  if (!error_) return {};
  switch (*error_) {
    case frame_error::corrupted_length:
      return corrupted_length_message(error_raw_);
    case frame_error::too_large:
      return too_large_message(error_length_);
    case frame_error::split_surrogate:
      return split_surrogate_message(error_length_);
  }
  return std::string(message(*error_));
}

}  // namespace roost::tcp::detail
