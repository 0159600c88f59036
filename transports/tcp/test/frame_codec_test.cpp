#include <roost/tcp/detail/frame_codec.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// Expected values marked "Nest:" were produced by running the real `JsonSocket` of
// @nestjs/microservices 12.1.1 (and 11.2.6, identical) under Node 20 on a fake socket, emitting the
// same chunks as `data` events and recording the frames, the error text, and after every chunk
// `buffer.length > 0 || contentLength !== null` and `buffer.length`.

namespace {

using roost::tcp::detail::append_frame;
using roost::tcp::detail::begin_frame;
using roost::tcp::detail::end_frame;
using roost::tcp::detail::frame_decoder;
using roost::tcp::detail::frame_error;
using roost::tcp::detail::frame_limits;
using roost::tcp::detail::utf16_length;

constexpr std::size_t nest_default_max = 134'217'728;

// What a connection sees after draining the decoder after every chunk, as Nest does per read.
struct outcome {
  std::vector<std::string> frames;
  std::optional<frame_error> error;
  std::string error_message;
  bool mid_frame = false;
  std::uint64_t buffered_length = 0;
};

// Takes frames out until the decoder wants more bytes or fails.
void drain(frame_decoder& d, outcome& o) {
  for (;;) {
    auto r = d.next();
    if (!r) {
      o.error = static_cast<frame_error>(r.error().value());
      EXPECT_EQ(&r.error().category(), &roost::tcp::detail::frame_category());
      o.error_message = d.error_message();
      return;
    }
    if (!*r) break;
    o.frames.emplace_back(**r);
  }
  o.mid_frame = d.mid_frame();
  o.buffered_length = d.buffered_length();
}

outcome run(const std::vector<std::string>& chunks, std::size_t max = nest_default_max) {
  frame_decoder d(frame_limits{max});
  outcome o;
  for (const auto& c : chunks) {
    d.feed(c);
    drain(d, o);
    if (o.error) break;
  }
  return o;
}

std::vector<std::string> frames_of(const std::vector<std::string>& chunks) {
  const outcome o = run(chunks);
  EXPECT_FALSE(o.error) << o.error_message;
  return o.frames;
}

const std::string spec_json = R"({"response":"héllo 😀 ü","isDisposed":true,"id":"u1"})";
const std::string spec_frame = "53#" + spec_json;

// A stream with multi-byte and astral characters, '#' inside bodies and multi-digit prefixes.
std::string mixed_stream() {
  std::string s;
  append_frame(s, spec_json);
  append_frame(s, R"({"pattern":"sum","data":[1,2,3],"id":"a1"})");
  append_frame(s, R"({"a":"#1#2#","b":"€𝄞中"})");
  append_frame(s, R"("😀😀😀")");
  append_frame(s, std::string(120, 'x'));
  append_frame(s, R"({"ü":"\u2028 "})");
  return s;
}

std::vector<std::string> mixed_frames() {
  return {spec_json,
          R"({"pattern":"sum","data":[1,2,3],"id":"a1"})",
          R"({"a":"#1#2#","b":"€𝄞中"})",
          R"("😀😀😀")",
          std::string(120, 'x'),
          R"({"ü":"\u2028 "})"};
}

// Replies are encoded straight into the write queue, then framed in place: the bytes must be
// those of append_frame, after whatever the queue already held.
TEST(frame_encoder, frames_in_place_like_append_frame) {
  std::string queued = "12#{\"queued\":1}";
  std::string expected = queued;
  auto frames = mixed_frames();
  // Lengths of one, two (prefixed in place) and three and more digits (the text moves).
  frames.insert(frames.end(), {"1", "[1,2,3,4]", "{\"response\":6,\"isDisposed\":true}",
                               std::string(100, ' ') + "1", "\"" + std::string(12345, 'x') + "\""});
  for (const auto& json : frames) {
    append_frame(expected, json);
    const auto start = begin_frame(queued);
    queued += json;
    end_frame(queued, start);
  }
  EXPECT_EQ(queued, expected);
  // With the length given by the caller, the bytes are the same.
  std::string counted = "12#{\"queued\":1}";
  for (const auto& json : frames) {
    const auto start = begin_frame(counted);
    counted += json;
    end_frame(counted, start, utf16_length(json));
  }
  EXPECT_EQ(counted, expected);
  std::string one;
  const auto start = begin_frame(one);
  one += spec_json;
  end_frame(one, start);
  EXPECT_EQ(one, spec_frame);
}

TEST(Utf16Length, CountsJavaScriptCodeUnits) {
  EXPECT_EQ(utf16_length(""), 0u);
  EXPECT_EQ(utf16_length("abc"), 3u);
  EXPECT_EQ(utf16_length("é"), 1u);
  EXPECT_EQ(utf16_length("€"), 1u);
  EXPECT_EQ(utf16_length("😀"), 2u);
  EXPECT_EQ(utf16_length("a😀b𝄞"), 6u);
  EXPECT_EQ(utf16_length(spec_json), 53u);  // spec §2.1: 53 units in 57 bytes
  EXPECT_EQ(spec_json.size(), 57u);
}

TEST(Utf16Length, InvalidUtf8CountsLikeV8) {
  // Node: Buffer.from([...]).toString().length, one U+FFFD per maximal invalid subpart.
  EXPECT_EQ(utf16_length("\xFF"), 1u);
  EXPECT_EQ(utf16_length("\xE2\x82"), 1u);  // truncated €
  EXPECT_EQ(utf16_length("\xE2\x82"
                         "A"),
            2u);                                    // FFFD A
  EXPECT_EQ(utf16_length("\xE0\x80"), 2u);          // overlong: the 0x80 is not part of it
  EXPECT_EQ(utf16_length("\xED\xA0\x80"), 3u);      // an encoded surrogate
  EXPECT_EQ(utf16_length("\xF4\x90\x80\x80"), 4u);  // above U+10FFFF
  EXPECT_EQ(utf16_length("\xC0\x80"), 2u);
  EXPECT_EQ(utf16_length("\xF0\x90\x80"), 1u);  // truncated astral character
  EXPECT_EQ(utf16_length("\x80\x80"), 2u);
}

TEST(AppendFrame, WritesCanonicalPrefix) {
  std::string out;
  append_frame(out, spec_json);
  EXPECT_EQ(out, spec_frame);
  EXPECT_EQ(out.size(), 60u);  // spec §2.1: 60 bytes on the socket
  append_frame(out, R"({"response":6,"isDisposed":true,"id":"a1"})");
  EXPECT_EQ(out, spec_frame + R"(42#{"response":6,"isDisposed":true,"id":"a1"})");
  std::string empty;
  append_frame(empty, "");
  EXPECT_EQ(empty, "0#");
}

TEST(FrameDecoder, SpecExample) {
  // Nest: F"{\"response\":\"héllo 😀 ü\",...}" S0/0
  const outcome o = run({spec_frame});
  ASSERT_FALSE(o.error);
  EXPECT_EQ(o.frames, std::vector<std::string>{spec_json});
  EXPECT_FALSE(o.mid_frame);
  EXPECT_EQ(o.buffered_length, 0u);
}

TEST(FrameDecoder, SpecExampleByteByByte) {
  frame_decoder d;
  outcome o;
  for (std::size_t i = 0; i < spec_frame.size(); ++i) {
    d.feed(std::string_view(spec_frame).substr(i, 1));
    drain(d, o);
    ASSERT_FALSE(o.error);
    if (i + 1 < spec_frame.size()) {
      EXPECT_TRUE(o.frames.empty());
      // Nest arms its incomplete-message timer once the first character is decoded.
      EXPECT_TRUE(o.mid_frame) << i;
    }
  }
  EXPECT_EQ(o.frames, std::vector<std::string>{spec_json});
  EXPECT_FALSE(d.mid_frame());
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameDecoder, SeveralFramesInOneFeed) {
  // spec §2.3, a streamed reply
  const std::string wire = R"(24#{"response":0,"id":"s1"}25#{"response":10,"id":"s1"})"
                           R"(43#{"response":20,"isDisposed":true,"id":"s1"})";
  EXPECT_EQ(frames_of({wire}),
            (std::vector<std::string>{R"({"response":0,"id":"s1"})", R"({"response":10,"id":"s1"})",
                                      R"({"response":20,"isDisposed":true,"id":"s1"})"}));
}

TEST(FrameDecoder, EverySplitPoint) {
  const std::string s = mixed_stream();
  const auto expected = mixed_frames();
  for (std::size_t i = 0; i <= s.size(); ++i) {
    EXPECT_EQ(frames_of({s.substr(0, i), s.substr(i)}), expected) << "split at " << i;
  }
}

TEST(FrameDecoder, EveryPairOfSplitPoints) {
  std::string s;
  append_frame(s, R"({"a":"😀é"})");
  append_frame(s, "\"€#\"");
  append_frame(s, R"([1,"𝄞"])");
  const std::vector<std::string> expected{R"({"a":"😀é"})", "\"€#\"", R"([1,"𝄞"])"};
  for (std::size_t i = 0; i <= s.size(); ++i) {
    for (std::size_t j = i; j <= s.size(); ++j) {
      EXPECT_EQ(frames_of({s.substr(0, i), s.substr(i, j - i), s.substr(j)}), expected)
          << i << "," << j;
    }
  }
}

TEST(FrameDecoder, ByteByByteMixedStream) {
  const std::string s = mixed_stream();
  std::vector<std::string> chunks;
  for (char c : s) chunks.emplace_back(1, c);
  EXPECT_EQ(frames_of(chunks), mixed_frames());
}

TEST(FrameDecoder, SplitInsidePrefixKeepsWaiting) {
  frame_decoder d;
  d.feed("1");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_TRUE(d.mid_frame());
  d.feed("0");
  EXPECT_EQ(d.next().value(), std::nullopt);
  d.feed("#0123456");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_EQ(d.buffered_length(), 7u);
  d.feed("789");
  auto r = d.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, "0123456789");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_FALSE(d.mid_frame());
}

TEST(FrameDecoder, LenientPrefixesLikeParseInt) {
  // Nest: each gives the frame; parseInt skips leading white space, allows a sign and leading
  // zeros, and stops at the first non-digit.
  EXPECT_EQ(frames_of({R"( 11#{"a":"bcd"})"}), std::vector<std::string>{R"({"a":"bcd"})"});
  EXPECT_EQ(frames_of({R"(11x#{"a":"bcd"})"}), std::vector<std::string>{R"({"a":"bcd"})"});
  EXPECT_EQ(frames_of({"+2#{}"}), std::vector<std::string>{"{}"});
  EXPECT_EQ(frames_of({"\t\n 002.9#{}"}), std::vector<std::string>{"{}"});
  EXPECT_EQ(frames_of({"2 3#{}"}), std::vector<std::string>{"{}"});
  EXPECT_EQ(frames_of({"1e3#{"}), std::vector<std::string>{"{"});
  // JS white space beyond ASCII: NBSP, BOM, ideographic space, line separator.
  EXPECT_EQ(frames_of({"\u00a0"
                       "2#{}\ufeff"
                       "2#{}\u3000"
                       "2#{}\u2028"
                       "2#{}"}),
            std::vector<std::string>(4, "{}"));
}

TEST(FrameDecoder, HexLooksLikeZero) {
  // Nest: parseInt("0x2", 10) is 0 -> F"" S1/2 ("{}" stays buffered).
  const outcome o = run({"0x2#{}"});
  ASSERT_FALSE(o.error);
  EXPECT_EQ(o.frames, std::vector<std::string>{""});
  EXPECT_TRUE(o.mid_frame);
  EXPECT_EQ(o.buffered_length, 2u);
}

TEST(FrameDecoder, NanPrefixIsCorruptedLength) {
  struct nan_case {
    std::string wire;
    std::string message;
  };
  const std::vector<nan_case> cases{
      // Nest texts, verbatim
      {"abc#{}", R"(Corrupted length value "abc" supplied in a packet)"},
      {"#{}", R"(Corrupted length value "" supplied in a packet)"},
      {"- 1#{}", R"(Corrupted length value "- 1" supplied in a packet)"},
      {"-#{}", R"(Corrupted length value "-" supplied in a packet)"},
      {"+-1#{}", R"(Corrupted length value "+-1" supplied in a packet)"},
      {"Infinity#{}", R"(Corrupted length value "Infinity" supplied in a packet)"},
      // U+0085 and U+180E are not JS white space
      {"\u0085"
       "2#{}",
       "Corrupted length value \"\u0085"
       "2\" supplied in a packet"},
      {"\u180e"
       "1#{}",
       "Corrupted length value \"\u180e"
       "1\" supplied in a packet"},
      // invalid UTF-8 is shown as U+FFFD, as in Nest's string
      {"x\xFF#{}", "Corrupted length value \"x\uFFFD\" supplied in a packet"},
  };
  for (const auto& c : cases) {
    const outcome o = run({c.wire});
    ASSERT_EQ(o.error, frame_error::corrupted_length) << c.wire;
    EXPECT_EQ(o.error_message, c.message);
    EXPECT_TRUE(o.frames.empty());
  }
}

TEST(FrameDecoder, FramesBeforeACorruptedPrefixAreDelivered) {
  const outcome o = run({"2#{}x#{}"});
  EXPECT_EQ(o.frames, std::vector<std::string>{"{}"});
  EXPECT_EQ(o.error, frame_error::corrupted_length);
  EXPECT_EQ(o.error_message, R"(Corrupted length value "x" supplied in a packet)");
}

TEST(FrameDecoder, ZeroLengthIsAnEmptyFrame) {
  // Nest: "0#" -> F"" S0/0 (then JSON.parse('') fails and the socket is ended)
  outcome o = run({"0#"});
  EXPECT_EQ(o.frames, std::vector<std::string>{""});
  EXPECT_FALSE(o.mid_frame);
  o = run({"0#2#{}"});
  EXPECT_EQ(o.frames, (std::vector<std::string>{"", "{}"}));
}

TEST(FrameDecoder, NegativeZeroIsAnEmptyFrameAtOnce) {
  // Nest: parseInt gives -0; `0 === -0`, and substring(0, -0) is '' -> F"" S1/2
  const outcome o = run({"-0#{}"});
  ASSERT_FALSE(o.error);
  EXPECT_EQ(o.frames, std::vector<std::string>{""});
  EXPECT_TRUE(o.mid_frame);
  EXPECT_EQ(o.buffered_length, 2u);
}

TEST(FrameDecoder, NegativeLengthIsAnEmptyFrameAtOnce) {
  // Nest: `length > -5` always holds and substring(0, -5) is '', taking nothing -> F"" S0/0,
  // even before any body byte arrived; the bytes after '#' start the next frame.
  outcome o = run({"-5#"});
  EXPECT_EQ(o.frames, std::vector<std::string>{""});
  EXPECT_FALSE(o.mid_frame);
  o = run({"-5#2#{}"});
  EXPECT_EQ(o.frames, (std::vector<std::string>{"", "{}"}));
  o = run({"-99999999999999999999999#"});
  EXPECT_EQ(o.frames, std::vector<std::string>{""});
}

TEST(FrameDecoder, MaxBufferSizeMeasuresTheBufferedText) {
  // Nest: max 10, "10#0123456789" in one read -> "The packet length (13) ..." (the prefix counts)
  outcome o = run({"10#0123456789"}, 10);
  EXPECT_EQ(o.error, frame_error::too_large);
  EXPECT_EQ(o.error_message, "The packet length (13) exceeds the maximum allowed length");
  EXPECT_TRUE(o.frames.empty());
  // Nest: the same bytes in two reads pass: S1/0 then F"0123456789"
  o = run({"10#", "0123456789"}, 10);
  ASSERT_FALSE(o.error);
  EXPECT_EQ(o.frames, std::vector<std::string>{"0123456789"});
  // Nest: max 5: "5#"+"abcde" passes; "6#"+"abcdef" fails with (6)
  o = run({"5#", "abcde"}, 5);
  EXPECT_EQ(o.frames, std::vector<std::string>{"abcde"});
  o = run({"6#", "abcdef"}, 5);
  EXPECT_EQ(o.error, frame_error::too_large);
  EXPECT_EQ(o.error_message, "The packet length (6) exceeds the maximum allowed length");
}

TEST(FrameDecoder, MaxBufferSizeCountsPipelinedFrames) {
  // Nest: max 10, "3#abc3#def" (10) gives both frames; "3#abc3#defg" (11) fails before the first
  EXPECT_EQ(run({"3#abc3#def"}, 10).frames, (std::vector<std::string>{"abc", "def"}));
  const outcome o = run({"3#abc3#defg"}, 10);
  EXPECT_EQ(o.error, frame_error::too_large);
  EXPECT_EQ(o.error_message, "The packet length (11) exceeds the maximum allowed length");
  EXPECT_TRUE(o.frames.empty());
}

TEST(FrameDecoder, MaxBufferSizeCountsUtf16Units) {
  // Nest: max 3, "4#" then two astral characters (4 units, 8 bytes) -> (4)
  outcome o = run({"4#", "😀😀"}, 3);
  EXPECT_EQ(o.error, frame_error::too_large);
  EXPECT_EQ(o.error_message, "The packet length (4) exceeds the maximum allowed length");
  o = run({"4#", "😀😀"}, 4);
  EXPECT_EQ(o.frames, std::vector<std::string>{"😀😀"});
}

TEST(FrameDecoder, MaxBufferSizeZero) {
  // Nest keeps an explicit 0 (`??`), so any buffered text fails: "0#" -> (2)
  const outcome o = run({"0#"}, 0);
  EXPECT_EQ(o.error, frame_error::too_large);
  EXPECT_EQ(o.error_message, "The packet length (2) exceeds the maximum allowed length");
}

TEST(FrameDecoder, DeclaredLengthIsNotCheckedAgainstTheLimit) {
  // Nest: max 30, "9007199254740993#abc" just waits: S1/3
  outcome o = run({"9007199254740993#abc"}, 30);
  ASSERT_FALSE(o.error);
  EXPECT_TRUE(o.mid_frame);
  EXPECT_EQ(o.buffered_length, 3u);
  // Nest: max 20, "99999999999999999999999#" is itself 24 units -> (24)
  o = run({"99999999999999999999999#", "aaaaaaaaaa"}, 20);
  EXPECT_EQ(o.error, frame_error::too_large);
  EXPECT_EQ(o.error_message, "The packet length (24) exceeds the maximum allowed length");
}

TEST(FrameDecoder, PrefixWithoutHashGrowsUntilTheLimit) {
  // Nest: max 5, "123" then "456" -> S1/3 then (6)
  frame_decoder d(frame_limits{5});
  d.feed("123");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_TRUE(d.mid_frame());
  EXPECT_EQ(d.buffered_length(), 3u);
  d.feed("456");
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), frame_error::too_large);
  EXPECT_EQ(d.error_message(), "The packet length (6) exceeds the maximum allowed length");
}

TEST(FrameDecoder, AstralCharactersCountTwo) {
  // Nest: "2#😀3#a😀" -> F"😀" F"a😀"
  EXPECT_EQ(frames_of({"2#😀3#a😀"}), (std::vector<std::string>{"😀", "a😀"}));
}

TEST(FrameDecoder, LengthEndingInsideAnAstralCharacterFails) {
  // Nest cuts "1#😀" to a lone high surrogate, which JSON.parse always rejects.
  const outcome o = run({"1#😀"});
  EXPECT_EQ(o.error, frame_error::split_surrogate);
  EXPECT_EQ(o.error_message,
            "The packet length (1) ends between the two halves of a UTF-16 surrogate pair");
  // The decision waits for the whole character, as Nest's StringDecoder does.
  frame_decoder d;
  d.feed("2#a\xF0\x9F");
  EXPECT_EQ(d.next().value(), std::nullopt);
  d.feed("\x98\x80");
  EXPECT_EQ(d.next().error(), frame_error::split_surrogate);
}

TEST(FrameDecoder, InvalidUtf8BecomesReplacementCharacters) {
  // Nest: "3#a\xFFb" -> F"a\uFFFDb"
  EXPECT_EQ(frames_of({"3#a\xFF"
                       "b"}),
            std::vector<std::string>{"a\uFFFDb"});
  // Nest: "2\xFF#{}" -> F"{}" (parseInt stops at U+FFFD)
  EXPECT_EQ(frames_of({"2\xFF#{}"}), std::vector<std::string>{"{}"});
  // each maximal subpart is one unit
  EXPECT_EQ(frames_of({"4#\xE0\x80\xE2\x82"
                       "a"}),
            std::vector<std::string>{"\uFFFD\uFFFD\uFFFD"
                                     "a"});
}

TEST(FrameDecoder, IncompleteCharacterIsHeldLikeStringDecoder) {
  // Nest: "2#\xE2\x82" then "x" -> S1/0 then F"\uFFFDx". The truncated € is not text until the
  // next read shows it will not complete.
  frame_decoder d;
  d.feed("2#\xE2\x82");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_TRUE(d.mid_frame());
  EXPECT_EQ(d.buffered_length(), 0u);
  EXPECT_EQ(d.buffered_bytes(), 2u);
  d.feed("x");
  auto r = d.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, "\uFFFDx");

  // Nest: "1#\xE0\x80" then "\x80" -> S1/0, then F"\uFFFD" S1/2. StringDecoder holds E0 80 by
  // its lead byte although V8 already knows it is invalid.
  const outcome o = run({"1#\xE0\x80", "\x80"});
  ASSERT_FALSE(o.error);
  EXPECT_EQ(o.frames, std::vector<std::string>{"\uFFFD"});
  EXPECT_TRUE(o.mid_frame);
  EXPECT_EQ(o.buffered_length, 2u);
}

TEST(FrameDecoder, HeldBytesAloneAreNotMidFrame) {
  // Nest's timer looks at the decoded buffer only.
  frame_decoder d;
  d.feed("2#{}\xC3");
  auto r = d.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, "{}");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_FALSE(d.mid_frame());
  EXPECT_EQ(d.buffered_bytes(), 1u);
  d.feed("\xA9");
  EXPECT_EQ(d.next().value(), std::nullopt);
  EXPECT_TRUE(d.mid_frame());
  EXPECT_EQ(d.buffered_length(), 1u);
}

TEST(FrameDecoder, ErrorsAreSticky) {
  frame_decoder d;
  d.feed("zz#2#{}");
  EXPECT_EQ(d.next().error(), frame_error::corrupted_length);
  d.feed("2#{}");
  EXPECT_EQ(d.next().error(), frame_error::corrupted_length);
  EXPECT_FALSE(d.mid_frame());
  EXPECT_EQ(d.buffered_bytes(), 0u);
  EXPECT_EQ(d.error_message(), R"(Corrupted length value "zz" supplied in a packet)");
}

TEST(FrameDecoder, NoErrorMessageBeforeAnError) {
  frame_decoder d;
  EXPECT_EQ(d.error_message(), "");
  EXPECT_FALSE(d.mid_frame());
  EXPECT_EQ(d.next().value(), std::nullopt);
}

TEST(FrameError, IsAnErrorCodeEnum) {
  const boost::system::error_code ec = frame_error::too_large;
  EXPECT_EQ(ec.category().name(), std::string("roost.tcp.frame"));
  EXPECT_EQ(ec.message(), "The packet length exceeds the maximum allowed length");
  EXPECT_EQ(ec, frame_error::too_large);
  EXPECT_NE(ec, frame_error::corrupted_length);
  EXPECT_EQ(roost::tcp::detail::message(frame_error::corrupted_length),
            "Corrupted length value supplied in a packet");
  EXPECT_EQ(roost::tcp::detail::corrupted_length_message("1a"),
            R"(Corrupted length value "1a" supplied in a packet)");
  EXPECT_EQ(roost::tcp::detail::too_large_message(134'217'729),
            "The packet length (134217729) exceeds the maximum allowed length");
}

TEST(FrameDecoder, LargeFrameInSmallPieces) {
  const std::string body = "\"" + std::string(1 << 20, 'y') + "é😀\"";
  std::string wire;
  append_frame(wire, body);
  append_frame(wire, "{}");
  frame_decoder d;
  outcome o;
  for (std::size_t i = 0; i < wire.size(); i += 1000) {
    d.feed(std::string_view(wire).substr(i, 1000));
    drain(d, o);
    ASSERT_FALSE(o.error);
  }
  ASSERT_EQ(o.frames.size(), 2u);
  EXPECT_EQ(o.frames[0], body);
  EXPECT_EQ(o.frames[1], "{}");
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameDecoder, ManyPipelinedFramesWithOddChunks) {
  // Frames straddle every read, so the buffer never empties and must be compacted as it goes.
  std::string wire;
  std::vector<std::string> expected;
  for (int i = 0; i < 20000; ++i) {
    expected.push_back(R"({"id":")" + std::to_string(i) + R"(","é":"😀"})");
    append_frame(wire, expected.back());
  }
  frame_decoder d;
  outcome o;
  std::size_t max_buffered = 0;
  for (std::size_t i = 0; i < wire.size(); i += 4093) {
    d.feed(std::string_view(wire).substr(i, 4093));
    max_buffered = std::max(max_buffered, d.buffered_bytes());
    drain(d, o);
    ASSERT_FALSE(o.error);
  }
  EXPECT_EQ(o.frames, expected);
  EXPECT_LT(max_buffered, 8192u);
}

TEST(FrameDecoder, RoundTripRandomJsonishText) {
  const std::vector<std::string> pieces{
      "a", "Z",  "0", "9", "#", "{",  "}",      "[",      "]", "\"", ":",          ",",
      " ", "\\", "é", "ß", "€", "中", "\u2028", "\ufeff", "😀", "𝄞",  "\U0010FFFF", "\x7f"};
  std::mt19937 rng(12345);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> texts;
    std::string wire;
    const int frames = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < frames; ++f) {
      std::string t;
      const int n = static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) t += pieces[rng() % pieces.size()];
      append_frame(wire, t);
      texts.push_back(std::move(t));
    }
    std::vector<std::string> chunks;
    for (std::size_t i = 0; i < wire.size();) {
      const std::size_t step = 1 + rng() % 16;
      chunks.push_back(wire.substr(i, step));
      i += step;
    }
    ASSERT_EQ(frames_of(chunks), texts) << "round " << round;
  }
}

TEST(FrameDecoder, TakingAFrameReleasesItsBytes) {
  frame_decoder d;
  d.feed("2#{}");
  const std::size_t before = d.buffered_bytes();
  auto r = d.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, "{}");
  EXPECT_EQ(before, 4u);
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

}  // namespace
