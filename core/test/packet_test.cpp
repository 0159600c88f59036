#include <roost/packet.hpp>

#include <roost/detail/json_reader.hpp>
#include <roost/errors.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <string_view>

// Tier 1: the NestJS packet codec, byte for byte (docs nest-wire-protocol.md §1.1, §1.2, §1.5,
// §1.7 and the captured frames of §2.3).

namespace roost {
namespace {

json::value parse(std::string_view text) {
  return json::parse(text);
}

std::string request(const json::value& pattern, const json::value& data, const json::value& id,
                    const json::object* metadata = nullptr) {
  std::string out;
  encode_request(out, pattern, data, id, metadata);
  return out;
}

std::string event(const json::value& pattern, const json::value& data,
                  const json::object* metadata = nullptr) {
  std::string out;
  encode_event(out, pattern, data, metadata);
  return out;
}

std::string reply(const reply_packet& r, const json::value& id, bool with_id = true) {
  std::string out;
  encode_reply(out, r, id, with_id);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

TEST(packet_encode, request_matches_nest_client_bytes) {
  // §2.3: C→S 42#{"pattern":"sum","data":[1,2,3],"id":"a1"}
  const auto text = request("sum", parse("[1,2,3]"), "a1");
  EXPECT_EQ(text, R"({"pattern":"sum","data":[1,2,3],"id":"a1"})");
  EXPECT_EQ(text.size(), 42u);

  // §2.3: 63#{"pattern":"multi","data":{"a":1},"id":"57ac45cc3b83002c3e5e7"}
  const auto multi = request("multi", parse(R"({"a":1})"), "57ac45cc3b83002c3e5e7");
  EXPECT_EQ(multi, R"({"pattern":"multi","data":{"a":1},"id":"57ac45cc3b83002c3e5e7"})");
  EXPECT_EQ(multi.size(), 63u);
}

TEST(packet_encode, request_keeps_object_pattern_unnormalized) {
  // §1.1: a request's object pattern is sent as the caller wrote it, keys in their order.
  const auto text = request(parse(R"({"role":"math","cmd":"sum"})"), parse("[1,2]"), "x");
  EXPECT_EQ(text, R"({"pattern":{"role":"math","cmd":"sum"},"data":[1,2],"id":"x"})");
}

TEST(packet_encode, request_with_metadata_puts_it_before_id) {
  // §1.1: pattern, data, [metadata], id.
  const json::object md{{"traceparent", "00-abc"}, {"user", "u1"}};
  EXPECT_EQ(
      request("sum", 1, "r1", &md),
      R"({"pattern":"sum","data":1,"metadata":{"traceparent":"00-abc","user":"u1"},"id":"r1"})");
}

TEST(packet_encode, request_with_falsy_data_and_numeric_pattern) {
  EXPECT_EQ(request(42, 0, "a"), R"({"pattern":42,"data":0,"id":"a"})");
  EXPECT_EQ(request("p", false, "a"), R"({"pattern":"p","data":false,"id":"a"})");
  EXPECT_EQ(request("p", "", "a"), R"({"pattern":"p","data":"","id":"a"})");
}

TEST(packet_encode, request_writes_non_ascii_raw_and_escapes_like_json_stringify) {
  EXPECT_EQ(
      request("p", "h\xC3\xA9llo \xF0\x9F\x98\x80\n\"q\"", "a"),
      "{\"pattern\":\"p\",\"data\":\"h\xC3\xA9llo \xF0\x9F\x98\x80\\n\\\"q\\\"\",\"id\":\"a\"}");
}

TEST(packet_encode, event_has_no_id) {
  // §2.3: ClientTCP.emit({role:'math',cmd:'ev'},{z:1}) sends the normalized route as pattern.
  const auto text = event(R"({"cmd":"ev","role":"math"})", parse(R"({"z":1})"));
  EXPECT_EQ(text, R"({"pattern":"{\"cmd\":\"ev\",\"role\":\"math\"}","data":{"z":1}})");
  EXPECT_EQ(text.size(), 63u);
  // Redis/NATS keep the original object pattern in the body (§3, §4 examples).
  EXPECT_EQ(event(parse(R"({"z":1,"a":2})"), parse(R"({"x":1})")),
            R"({"pattern":{"z":1,"a":2},"data":{"x":1}})");
}

TEST(packet_encode, event_with_metadata) {
  const json::object md{{"k", "v"}};
  EXPECT_EQ(event("ev", 1, &md), R"({"pattern":"ev","data":1,"metadata":{"k":"v"}})");
}

TEST(packet_encode, reply_value_last_carries_is_disposed_before_id) {
  // §2.3: S→C 42#{"response":6,"isDisposed":true,"id":"a1"}
  const auto text = reply(reply_packet::value(6, true), "a1");
  EXPECT_EQ(text, R"({"response":6,"isDisposed":true,"id":"a1"})");
  EXPECT_EQ(text.size(), 42u);
}

TEST(packet_encode, reply_stream_frames_only_last_is_disposed) {
  // §2.3: 24#{"response":0,"id":"s1"}25#{"response":10,"id":"s1"}43#{..."isDisposed":true...}
  const auto a = reply(reply_packet::value(0, false), "s1");
  const auto b = reply(reply_packet::value(10, false), "s1");
  const auto c = reply(reply_packet::value(20, true), "s1");
  EXPECT_EQ(a, R"({"response":0,"id":"s1"})");
  EXPECT_EQ(b, R"({"response":10,"id":"s1"})");
  EXPECT_EQ(c, R"({"response":20,"isDisposed":true,"id":"s1"})");
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(b.size(), 25u);
  EXPECT_EQ(c.size(), 43u);
}

TEST(packet_encode, reply_errors) {
  // §2.3: 76#{"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":"e1"}
  const auto bad =
      reply(reply_packet::error(parse(R"({"status":"error","message":"bad thing"})")), "e1");
  EXPECT_EQ(bad, R"({"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":"e1"})");
  EXPECT_EQ(bad.size(), 76u);
  const auto internal = reply(
      reply_packet::error(parse(R"({"status":"error","message":"Internal server error"})")), "e3");
  EXPECT_EQ(
      internal,
      R"({"err":{"status":"error","message":"Internal server error"},"isDisposed":true,"id":"e3"})");
  EXPECT_EQ(internal.size(), 88u);
  // An error value is sent as given, whatever its shape.
  EXPECT_EQ(reply(reply_packet::error(parse(R"({"code":42,"message":"obj err"})")), "e2"),
            R"({"err":{"code":42,"message":"obj err"},"isDisposed":true,"id":"e2"})");
}

TEST(packet_encode, reply_end_only) {
  EXPECT_EQ(reply(reply_packet::end(), "x"), R"({"isDisposed":true,"id":"x"})");
}

TEST(packet_encode, reply_null_value_is_a_value) {
  // §1.5: a handler returning null sends {"response":null,"isDisposed":true,"id":…}
  EXPECT_EQ(reply(reply_packet::value(nullptr, true), "x"),
            R"({"response":null,"isDisposed":true,"id":"x"})");
}

TEST(packet_encode, reply_no_handler_exact_nest_text) {
  // §2.3: 104#{"id":"n1","status":"error","err":"There is no matching ..."} (no isDisposed)
  const auto text = reply(reply_packet::no_handler(), "n1");
  EXPECT_EQ(
      text,
      R"({"id":"n1","status":"error","err":"There is no matching message handler defined in the remote service."})");
  EXPECT_EQ(text.size(), 104u);
}

TEST(packet_encode, reply_copies_any_id_back_unchanged) {
  // §1.1: a numeric id comes back as the number.
  EXPECT_EQ(reply(reply_packet::value(1, true), 123),
            R"({"response":1,"isDisposed":true,"id":123})");
  EXPECT_EQ(reply(reply_packet::end(), nullptr), R"({"isDisposed":true,"id":null})");
  EXPECT_EQ(
      reply(reply_packet::no_handler(), 7),
      R"({"id":7,"status":"error","err":"There is no matching message handler defined in the remote service."})");
}

TEST(packet_encode, reply_without_id) {
  EXPECT_EQ(reply(reply_packet::value(6, true), nullptr, false),
            R"({"response":6,"isDisposed":true})");
  EXPECT_EQ(reply(reply_packet::value(6, false), nullptr, false), R"({"response":6})");
  EXPECT_EQ(reply(reply_packet::end(), nullptr, false), R"({"isDisposed":true})");
}

TEST(packet_encode, reply_utf8_value_raw) {
  // §2.1: 53#{"response":"héllo 😀 ü","isDisposed":true,"id":"u1"} — 57 bytes of UTF-8.
  const auto text =
      reply(reply_packet::value("h\xC3\xA9llo \xF0\x9F\x98\x80 \xC3\xBC", true), "u1");
  EXPECT_EQ(text,
            "{\"response\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \xC3\xBC\",\"isDisposed\":true,"
            "\"id\":\"u1\"}");
  EXPECT_EQ(text.size(), 57u);
}

TEST(packet_encode, appends_to_existing_text) {
  std::string out = "12#";
  encode_reply(out, reply_packet::end(), "x");
  EXPECT_EQ(out, R"(12#{"isDisposed":true,"id":"x"})");
}

// ---------------------------------------------------------------------------------------------
// decode_inbound (server side, §1.2)

TEST(packet_decode_inbound, request) {
  auto r = decode_inbound(R"({"pattern":"sum","data":[1,2,3],"id":"a1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pattern, json::value("sum"));
  EXPECT_EQ(r->data, parse("[1,2,3]"));
  ASSERT_TRUE(r->id);
  EXPECT_EQ(*r->id, json::value("a1"));
  EXPECT_FALSE(r->metadata);
}

// With its data as text, decode_inbound checks a plain data and id but builds neither;
// parse_deferred() then gives the packet decode_inbound gives without.
TEST(packet_decode_inbound, data_as_text_defers_plain_data_and_id_only) {
  for (std::string_view text :
       {R"({"pattern":"sum","data":[1,2,3],"id":"abc"})", R"({"id":"","data":"x","pattern":"p"})",
        R"({"pattern":"p","data":[1.5],"id":"a"})", R"({"pattern":"p","data":{"a":1},"id":"a"})",
        R"({"pattern":"p","data":1})", R"({"pattern":"p","id":"a"})",
        R"({"pattern":{"cmd":"x"},"data":[1],"id":"a"})", R"({"pattern":"p","data":[1],"id":7})",
        R"({"pattern":"p","data":[1],"id":"a","metadata":{"k":"v"}})"}) {
    auto lazy = decode_inbound(text, nullptr, {}, true);
    auto eager = decode_inbound(text);
    ASSERT_TRUE(lazy) << text;
    ASSERT_TRUE(eager) << text;
    EXPECT_EQ(lazy->is_request(), eager->id.has_value()) << text;
    EXPECT_FALSE(lazy->id && !lazy->id_text.empty()) << text;
    if (!lazy->data_text.empty()) {
      EXPECT_TRUE(lazy->data.is_null()) << text;
    }
    auto copy = with_default_storage(*lazy);
    parse_deferred(*lazy);
    EXPECT_TRUE(lazy->data_text.empty() && lazy->id_text.empty()) << text;
    for (const auto* p : {&*lazy, &copy}) {
      EXPECT_EQ(p->pattern, eager->pattern) << text;
      EXPECT_EQ(json::serialize(p->data), json::serialize(eager->data)) << text;
      EXPECT_EQ(p->id, eager->id) << text;
      EXPECT_EQ(p->metadata, eager->metadata) << text;
    }
  }
  auto p = decode_inbound(R"({"pattern":"sum","data": [1,2,3] ,"id":"abc"})", nullptr, {}, true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data_text, "[1,2,3] ");
  EXPECT_EQ(p->id_text, R"("abc")");
  EXPECT_FALSE(p->id);
  // Bad JSON in a plain-looking data is refused at once, as without.
  EXPECT_FALSE(decode_inbound(R"({"pattern":"sum","data":[1,2,],"id":"abc"})", nullptr, {}, true));
}

// The envelope in NestJS's own form is read by its fixed parts; near misses take the member
// scan or the general parser. Every one decodes as the parsed document does, lazily or not.
TEST(packet_decode_inbound, nest_form_and_near_misses_decode_as_the_document) {
  for (std::string_view text : {
           R"({"pattern":"sum","data":[1,2,3],"id":"abc"})",
           R"({"pattern":"sum","data":[1,2,3]})",
           R"({"pattern":"sum","data":"x","id":""})",
           R"({"pattern":"","data":null,"id":"7"})",
           R"({"pattern":"sum","data":[1,2,3] ,"id":"abc"})",
           R"({"pattern":"sum","data": 5,"id":"abc"})",
           R"({"pattern":"sum","data":{"a":[1]},"id":"abc"})",
           R"({"pattern":"sum","data":[1.5],"id":"abc"})",
           R"({"pattern":"s\u0075m","data":1,"id":"abc"})",
           R"({"pattern":"sum","data":1,"id":7})",
           R"({"pattern":"sum","data":1,"id":"a","metadata":{"k":"v"}})",
           R"({"pattern":"sum","data":1,"id":"a"} )",
           R"({"pattern":"sum","data":1,"id":"a","id":"b"})",
           R"({"pattern":"sum","data":1,"data":2})",
           R"({"pattern":{"cmd":"sum"},"data":1,"id":"a"})",
       }) {
    const json::value doc = json::parse(text);
    const inbound_packet want = inbound_from_value(doc);
    for (const bool lazy : {false, true}) {
      auto got = decode_inbound(text, nullptr, {}, lazy);
      ASSERT_TRUE(got) << text;
      parse_deferred(*got);
      EXPECT_EQ(got->pattern, want.pattern) << text;
      EXPECT_EQ(json::serialize(got->data), json::serialize(want.data)) << text;
      EXPECT_EQ(got->id, want.id) << text;
      EXPECT_EQ(got->metadata, want.metadata) << text;
    }
  }
  for (std::string_view bad : {
           R"({"pattern":"sum","data":[1,2,],"id":"abc"})",
           R"({"pattern":"sum","data":1,"id":"abc"}})",
           R"({"pattern":"sum","data":1,"id":"abc"})"
           "x",
           R"({"pattern":"sum","data":1,"id":"abc")",
           R"({"pattern":"sum","data":1,)",
       }) {
    EXPECT_FALSE(decode_inbound(bad, nullptr, {}, true)) << bad;
    EXPECT_FALSE(decode_inbound(bad)) << bad;
  }
}

TEST(packet_encode_reply, value_written_by_a_writer_is_the_value_reply) {
  std::string direct, general;
  encode_value_reply(
      direct, [](std::string& out) { out += "[6]"; }, R"("id1")");
  encode_reply(general, reply_packet::value(json::array{6}, true), json::value("id1"));
  EXPECT_EQ(direct, general);
}

TEST(packet_decode_inbound, object_pattern_kept_as_sent) {
  auto r = decode_inbound(R"({"pattern":{"role":"math","cmd":"sum"},"data":1,"id":"x"})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->pattern.is_object());
  EXPECT_EQ(json::serialize(r->pattern), R"({"role":"math","cmd":"sum"})");
}

TEST(packet_decode_inbound, event_has_no_id) {
  auto r = decode_inbound(R"({"pattern":"ev","data":{"x":1}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pattern, json::value("ev"));
  EXPECT_EQ(r->data, parse(R"({"x":1})"));
  EXPECT_FALSE(r->id);
}

TEST(packet_decode_inbound, null_id_is_a_request) {
  auto r = decode_inbound(R"({"pattern":"p","data":1,"id":null})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->id);
  EXPECT_TRUE(r->id->is_null());
}

TEST(packet_decode_inbound, numeric_id_is_kept) {
  auto r = decode_inbound(R"({"pattern":"p","data":1,"id":123})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->id);
  EXPECT_EQ(*r->id, json::value(123));
}

TEST(packet_decode_inbound, data_only_is_not_external) {
  // {"data":1} is used as is: its pattern is undefined (null here), not the channel.
  auto r = decode_inbound(R"({"data":1})", "chan");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pattern.is_null());
  EXPECT_EQ(r->data, json::value(1));
  EXPECT_FALSE(r->id);
}

TEST(packet_decode_inbound, pattern_only_is_not_external) {
  auto r = decode_inbound(R"({"pattern":"p","id":"i"})", "chan");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pattern, json::value("p"));
  EXPECT_TRUE(r->data.is_null());
  ASSERT_TRUE(r->id);
  EXPECT_EQ(*r->id, json::value("i"));
}

TEST(packet_decode_inbound, external_object_becomes_event_on_channel_and_loses_id) {
  auto r = decode_inbound(R"({"foo":1,"id":"lost"})", "orders");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pattern, json::value("orders"));
  EXPECT_EQ(r->data, parse(R"({"foo":1,"id":"lost"})"));
  EXPECT_FALSE(r->id);
}

TEST(packet_decode_inbound, external_without_channel_has_no_pattern) {
  // TCP has no channel: the pattern of an external message is undefined.
  auto r = decode_inbound(R"({"foo":1})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pattern.is_null());
  EXPECT_EQ(r->data, parse(R"({"foo":1})"));
  EXPECT_FALSE(r->id);
}

TEST(packet_decode_inbound, empty_object_is_external) {
  auto r = decode_inbound("{}", "c");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pattern, json::value("c"));
  EXPECT_EQ(r->data, json::value(json::object{}));
  EXPECT_FALSE(r->id);
}

TEST(packet_decode_inbound, non_objects_and_falsy_values_are_external) {
  for (std::string_view text : {"0", "false", "\"\"", "null", "\"text\"", "5", "[1,2]", "true"}) {
    auto r = decode_inbound(text, "chan");
    ASSERT_TRUE(r) << text;
    EXPECT_EQ(r->pattern, json::value("chan")) << text;
    EXPECT_EQ(r->data, parse(text)) << text;
    EXPECT_FALSE(r->id) << text;
  }
}

TEST(packet_decode_inbound, metadata) {
  auto r = decode_inbound(R"({"pattern":"p","data":1,"metadata":{"k":"v"},"id":"i"})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->metadata);
  EXPECT_EQ(*r->metadata, (json::object{{"k", "v"}}));
}

TEST(packet_decode_inbound, falsy_data_is_kept) {
  auto r = decode_inbound(R"({"pattern":"p","data":0,"id":"i"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, json::value(0));
  ASSERT_TRUE(r->id);
}

TEST(packet_decode_inbound, non_json_is_an_error_not_an_exception) {
  for (std::string_view text : {"", "not json", "{\"pattern\":", "{\"a\":1}}", "{'a':1}", "0#",
                                "\xFF\xFE", "{\"pattern\":\"p\",}"}) {
    auto r = decode_inbound(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), make_error_code(error::protocol_error)) << text;
  }
}

TEST(packet_decode_inbound, deep_documents_do_not_crash) {
  std::string ok = "{\"pattern\":\"p\",\"data\":" + std::string(400, '[') + std::string(400, ']') +
                   ",\"id\":\"i\"}";
  EXPECT_TRUE(decode_inbound(ok));
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = decode_inbound(deep);
  EXPECT_FALSE(r);
}

TEST(packet_decode_inbound, round_trips_what_encode_request_wrote) {
  const json::object md{{"a", "b"}};
  const auto text = request(parse(R"({"b":1,"a":2})"), parse(R"({"x":[1,null]})"), "q1", &md);
  auto r = decode_inbound(text);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pattern, parse(R"({"b":1,"a":2})"));
  EXPECT_EQ(r->data, parse(R"({"x":[1,null]})"));
  ASSERT_TRUE(r->id);
  EXPECT_EQ(*r->id, json::value("q1"));
  ASSERT_TRUE(r->metadata);
  EXPECT_EQ(*r->metadata, md);
}

// decode_inbound reads the common envelope without a document for it; whatever it returns must
// be what the general path (parse the whole document, then read its members) gives.
void expect_same_as_general_path(std::string_view text) {
  json::error_code ec;
  json::parse_options o;
  o.max_depth = 512;
  const json::value doc = detail::parse_json(text, ec, {}, o);
  auto got = decode_inbound(text, json::value("chan"));
  if (ec) {
    EXPECT_FALSE(got) << text;
    return;
  }
  ASSERT_TRUE(got) << text;
  const auto want = inbound_from_value(doc, json::value("chan"));
  EXPECT_EQ(got->pattern, want.pattern) << text;
  EXPECT_EQ(got->data, want.data) << text;
  EXPECT_EQ(got->id.has_value(), want.id.has_value()) << text;
  if (got->id && want.id) {
    EXPECT_EQ(*got->id, *want.id) << text;
  }
  EXPECT_EQ(got->metadata.has_value(), want.metadata.has_value()) << text;
  if (got->metadata && want.metadata) {
    EXPECT_EQ(*got->metadata, *want.metadata) << text;
  }
}

TEST(packet_decode_inbound, plain_envelopes_decode_as_the_general_path_does) {
  const std::string cases[] = {
      R"({"pattern":"sum","data":[1,2,3],"id":"7"})",
      R"({"id":"7","data":[1,2,3],"pattern":"sum"})",
      R"( { "pattern" : "sum" , "data" : { "a" : [ 1 , 2.5e3 ] } , "id" : "x" } )",
      "{\"pattern\":\"a\",\n\t\"data\":null\r}",
      R"({"pattern":"ev","data":"text"})",
      R"({"pattern":"p"})",
      R"({"data":1})",
      R"({"pattern":"p","data":1,"id":"1","pattern":"q"})",
      R"({"pattern":"p","data":1,"data":2})",
      R"({"pattern":"p","data":1,"id":"a","id":"b"})",
      R"({"pattern":"p\u0041","data":1,"id":"a"})",
      R"({"pattern":"p\"q","data":1})",
      "{\"pattern\":\"caf\xc3\xa9\",\"data\":1,\"id\":\"\xc3\xa9\"}",
      R"({"pattern":{"cmd":"sum"},"data":[1],"id":"1"})",
      R"({"pattern":5,"data":[1],"id":1})",
      R"({"pattern":"p","data":1,"id":null})",
      R"({"pattern":"p","data":1,"metadata":{"a":"b"},"id":"1"})",
      R"({"pattern":"p","data":1,"other":true})",
      R"({"pattern":"p","data":1,"metadata":"not an object","id":"1"})",
      R"({"pattern":"p","data":1,"metadata":{"a":1},"metadata":{"b":2},"id":"1"})",
      R"({"metadata":{"traceparent":"00-ab"},"id":"9","data":[1],"pattern":"p"})",
      R"({"pattern":"p","data":1,"metadata":{"a":[1,)",
      R"({"pattern":"p","data":[1,2)",
      R"({"pattern":"p","data":[1,2]})",
      R"({"pattern":"p","data":[1,2]}})",
      R"({"pattern":"p","data":[1,2]} x)",
      R"({"pattern":"p","data":[1,2],})",
      R"({"pattern":"p","data":[1,2] "id":"1"})",
      R"({"pattern":"p" "data":1})",
      R"({"pattern":"p","data":})",
      R"({"pattern":"p","data":tru})",
      R"({"pattern":"p","data":0,"id":""})",
      R"({"pattern":"","data":false})",
      R"({pattern:"p","data":1})",
      R"({"pattern":"p","data":"\ud800"})",
      "{\"pattern\":\"p\",\"data\":\"bad utf8 \xff\"}",
      "{\"pattern\":\"p\xff\",\"data\":1}",
      R"({"pattern":"p","data":1e400,"id":"1"})",
      R"({"pattern":"p","data":-0,"id":"1"})",
      R"({"pattern":"p","data":123456789012345678901234567890,"id":"1"})",
      "{\"pattern\":\"tab\tin\",\"data\":1}",
      std::string("{\"pattern\":\"p\",\"data\":1}\0", 25),
      "{}",
      "{",
      "",
      "[]",
      "\"s\"",
  };
  for (const auto& c : cases) expect_same_as_general_path(c);
  // Depth at the limit, one level inside it and one beyond it.
  for (int depth : {509, 510, 511, 512}) {
    expect_same_as_general_path("{\"pattern\":\"p\",\"data\":" + std::string(depth, '[') +
                                std::string(depth, ']') + "}");
  }
}

// ---------------------------------------------------------------------------------------------
// decode_reply (client side, NestJS 12 IncomingResponseDeserializer + createObserver, §1.7)

TEST(packet_decode_reply, value_last) {
  auto r = decode_reply(R"({"response":6,"isDisposed":true,"id":"a1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, json::value("a1"));
  ASSERT_TRUE(r->response);
  EXPECT_EQ(*r->response, json::value(6));
  EXPECT_FALSE(r->err);
  EXPECT_TRUE(r->disposed);
}

TEST(packet_decode_reply, value_not_last) {
  auto r = decode_reply(R"({"response":0,"id":"s1"})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->response);
  EXPECT_EQ(*r->response, json::value(0));
  EXPECT_FALSE(r->disposed);
  EXPECT_FALSE(r->err);
}

TEST(packet_decode_reply, end_only) {
  auto r = decode_reply(R"({"isDisposed":true,"id":"x"})");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->response);
  EXPECT_FALSE(r->err);
  EXPECT_TRUE(r->disposed);
  EXPECT_EQ(r->id, json::value("x"));
}

TEST(packet_decode_reply, error) {
  auto r = decode_reply(
      R"({"err":{"status":"error","message":"bad thing"},"isDisposed":true,"id":"e1"})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->err);
  EXPECT_EQ(*r->err, parse(R"({"status":"error","message":"bad thing"})"));
  EXPECT_EQ(r->id, json::value("e1"));
}

TEST(packet_decode_reply, no_handler_is_an_error) {
  auto r = decode_reply(
      R"({"id":"n1","status":"error","err":"There is no matching message handler defined in the remote service."})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->err);
  EXPECT_EQ(*r->err, json::value(no_handler_message));
  EXPECT_FALSE(r->response);
  EXPECT_EQ(r->id, json::value("n1"));
}

// decode_reply reads common replies without a document for the envelope; whatever it returns
// must be what the general path (parse the whole document, then read its members) gives.
TEST(packet_decode_reply, same_as_general_path) {
  const std::string_view cases[] = {
      R"({"response":6,"isDisposed":true,"id":"0123456789abcdef01234"})",
      R"( { "id" : "x" , "response" : [1, 2, "a"] , "isDisposed" : true } )",
      R"({"response":{"a":[1,{"b":2}]},"isDisposed":true,"id":"x"})",
      R"({"response":1.5,"id":"x"})",
      R"({"response":"caf\u00e9","id":"x"})",
      R"({"err":{"status":"error","message":"m"},"isDisposed":true,"id":7})",
      R"({"id":"n1","status":"error","err":"no"})",
      R"({"err":null,"response":0,"isDisposed":0,"id":null})",
      R"({"err":"","response":false,"isDisposed":"","id":"x"})",
      R"({"isDisposed":true})",
      R"({"id":"a","id":"b","response":1})",       // repeated key: general path
      R"({"response":1,"id":"a","pattern":"p"})",  // other key: the whole document
      R"({})",                                     // no envelope
      R"([1,2])",
      R"("text")",
      R"(6)",
      R"({"response":1,"id":"a"} x)",  // bad JSON after the object
      R"({"response":1,"id":"a",})",
      R"({"response":,"id":"a"})",
      R"({"response":1 "id":"a"})",
      R"({"response":1,"id":"a")",
      R"({"response":[1,2],"isDisposed":tru,"id":"a"})",
      R"({"response":1,"isDisposed":truex,"id":"a"})",
      R"({"response":1,"isDisposed":true"id":"a"})",
      R"({"response":1,"id":"a"x})",
      R"({"response":1,"id":"a\"b"})",
      R"({"response":1,"id":""})",
  };
  for (const auto text : cases) {
    json::error_code ec;
    json::parse_options o;
    o.max_depth = 512;
    const json::value doc = detail::parse_json(text, ec, {}, o);
    auto got = decode_reply(text);
    if (ec) {
      EXPECT_FALSE(got) << text;
      continue;
    }
    ASSERT_TRUE(got) << text;
    const auto want = reply_from_value(doc);
    EXPECT_EQ(got->id, want.id) << text;
    EXPECT_EQ(got->id.kind(), want.id.kind()) << text;
    EXPECT_EQ(got->response, want.response) << text;
    EXPECT_EQ(got->err, want.err) << text;
    EXPECT_EQ(got->disposed, want.disposed) << text;
  }
}

TEST(packet_decode_reply, null_response_is_a_value) {
  auto r = decode_reply(R"({"response":null,"isDisposed":true,"id":"x"})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->response);
  EXPECT_TRUE(r->response->is_null());
  EXPECT_TRUE(r->disposed);
}

TEST(packet_decode_reply, falsy_err_is_not_an_error) {
  for (std::string_view e : {"null", "0", "false", "\"\""}) {
    const std::string text =
        std::string(R"({"err":)") + std::string(e) + R"(,"response":5,"isDisposed":true,"id":"x"})";
    auto r = decode_reply(text);
    ASSERT_TRUE(r) << text;
    EXPECT_FALSE(r->err) << text;
    ASSERT_TRUE(r->response) << text;
    EXPECT_EQ(*r->response, json::value(5)) << text;
  }
}

TEST(packet_decode_reply, truthy_err_is_an_error) {
  // In JavaScript an empty object, a non-empty string and a non-zero number are truthy.
  for (std::string_view e : {"{}", "[]", "\"x\"", "1", "true"}) {
    const std::string text = std::string(R"({"err":)") + std::string(e) + R"(,"id":"x"})";
    auto r = decode_reply(text);
    ASSERT_TRUE(r) << text;
    ASSERT_TRUE(r->err) << text;
    EXPECT_EQ(*r->err, parse(e)) << text;
  }
}

TEST(packet_decode_reply, is_disposed_truthiness) {
  auto no = decode_reply(R"({"response":1,"isDisposed":false,"id":"x"})");
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->disposed);
  auto zero = decode_reply(R"({"response":1,"isDisposed":0,"id":"x"})");
  ASSERT_TRUE(zero);
  EXPECT_FALSE(zero->disposed);
  auto one = decode_reply(R"({"response":1,"isDisposed":1,"id":"x"})");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->disposed);
}

TEST(packet_decode_reply, extra_key_makes_it_external) {
  // NestJS 12: any key other than id, err, response, isDisposed, status → the whole document is
  // the response value, and the reply is final.
  const std::string_view text = R"({"response":1,"isDisposed":false,"id":"a","pattern":"p"})";
  auto r = decode_reply(text);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, json::value("a"));
  ASSERT_TRUE(r->response);
  EXPECT_EQ(*r->response, parse(text));
  EXPECT_FALSE(r->err);
  EXPECT_TRUE(r->disposed);

  auto with_err = decode_reply(R"({"err":"boom","id":"a","metadata":{}})");
  ASSERT_TRUE(with_err);
  EXPECT_FALSE(with_err->err);
  ASSERT_TRUE(with_err->response);
  EXPECT_EQ(*with_err->response, parse(R"({"err":"boom","id":"a","metadata":{}})"));
}

TEST(packet_decode_reply, empty_object_is_external) {
  auto r = decode_reply("{}");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->id.is_null());
  ASSERT_TRUE(r->response);
  EXPECT_EQ(*r->response, json::value(json::object{}));
  EXPECT_TRUE(r->disposed);
  EXPECT_FALSE(r->err);
}

TEST(packet_decode_reply, non_objects_are_external) {
  for (std::string_view text : {"5", "\"s\"", "[1,2]", "null", "true"}) {
    auto r = decode_reply(text);
    ASSERT_TRUE(r) << text;
    EXPECT_TRUE(r->id.is_null()) << text;
    ASSERT_TRUE(r->response) << text;
    EXPECT_EQ(*r->response, parse(text)) << text;
    EXPECT_TRUE(r->disposed) << text;
  }
}

TEST(packet_decode_reply, only_known_keys_is_an_envelope) {
  // {"id"} alone is an envelope with no value and no end (createObserver's rule 4).
  auto r = decode_reply(R"({"id":"x"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, json::value("x"));
  EXPECT_FALSE(r->response);
  EXPECT_FALSE(r->err);
  EXPECT_FALSE(r->disposed);
}

TEST(packet_decode_reply, non_json_is_an_error_not_an_exception) {
  for (std::string_view text : {"", "nope", "{\"response\":", "{\"id\":\"x\"}garbage"}) {
    auto r = decode_reply(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), make_error_code(error::protocol_error)) << text;
  }
}

TEST(packet_decode_reply, round_trips_every_reply_kind) {
  {
    auto r = decode_reply(reply(reply_packet::value(parse(R"({"a":[1]})"), false), "i"));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->response);
    EXPECT_EQ(*r->response, parse(R"({"a":[1]})"));
    EXPECT_FALSE(r->disposed);
  }
  {
    auto r = decode_reply(reply(reply_packet::error("e"), "i"));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->err);
    EXPECT_EQ(*r->err, json::value("e"));
    EXPECT_TRUE(r->disposed);
  }
  {
    auto r = decode_reply(reply(reply_packet::no_handler(), "i"));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->err);
    EXPECT_EQ(r->id, json::value("i"));
  }
}

}  // namespace
}  // namespace roost
