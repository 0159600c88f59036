// The WebSocket transport's messages, without sockets.

#include <roost/ws/detail/message_codec.hpp>

#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace roost::ws::detail {
namespace {

std::string str(const json::value& v) {
  return json::serialize(v);
}

TEST(ws_message_codec, reads_the_gateway_shape) {
  auto m = decode_message(R"({"event":"echo","data":{"a":[1,2]}})");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->gateway);
  EXPECT_EQ(str(m->packet.pattern), R"("echo")");
  EXPECT_EQ(str(m->packet.data), R"({"a":[1,2]})");
  EXPECT_FALSE(m->packet.is_request());

  auto no_data = decode_message(R"({"event":"ping"})");
  ASSERT_TRUE(no_data);
  EXPECT_TRUE(no_data->packet.data.is_null());
}

TEST(ws_message_codec, reads_packets_with_a_pattern) {
  auto m = decode_message(R"({"pattern":{"cmd":"sum"},"data":[1,2],"id":"7"})");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->gateway);
  EXPECT_EQ(str(m->packet.pattern), R"({"cmd":"sum"})");
  ASSERT_TRUE(m->packet.id);
  EXPECT_EQ(str(*m->packet.id), R"("7")");
}

TEST(ws_message_codec, refuses_what_platform_ws_drops) {
  for (std::string_view bad :
       {"", "not json", "[1,2]", "42", R"({"data":1})", R"({"event")", "\xff\xfe"}) {
    EXPECT_FALSE(decode_message(bad)) << bad;
  }
}

TEST(ws_message_codec, tells_replies_from_pushes) {
  auto reply = decode_client_message(R"({"response":5,"isDisposed":true,"id":"3"})");
  ASSERT_TRUE(reply);
  ASSERT_TRUE(reply->reply);
  EXPECT_EQ(str(reply->reply->id), R"("3")");
  EXPECT_TRUE(reply->reply->disposed);

  auto push = decode_client_message(R"({"event":"chat","data":"hi"})");
  ASSERT_TRUE(push);
  EXPECT_FALSE(push->reply);
  EXPECT_EQ(push->event, "chat");
  EXPECT_EQ(str(push->data), R"("hi")");

  // A NestJS gateway's answer is the handler's value as it is.
  auto bare = decode_client_message(R"({"id":1,"name":"x"})");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->reply);
  EXPECT_EQ(bare->event, "");
  EXPECT_EQ(str(bare->data), R"({"id":1,"name":"x"})");

  EXPECT_FALSE(decode_client_message("{oops"));
}

TEST(ws_message_codec, writes_pushes_and_gateway_errors) {
  std::string out;
  encode_push(out, "chat \"1\"", json::value{{"n", 1}});
  EXPECT_EQ(out, R"({"event":"chat \"1\"","data":{"n":1}})");

  const json::value event = "boom", data = json::value{{"x", 1}};
  out.clear();
  // A message (roost's rpc_exception, NestJS's WsException("...")): status, message, cause.
  encode_gateway_error(out, json::value{{"status", "error"}, {"message", "bad thing"}}, event,
                       data);
  EXPECT_EQ(out, R"({"event":"exception","data":{"status":"error","message":"bad thing",)"
                 R"("cause":{"pattern":"boom","data":{"x":1}}}})");
  out.clear();
  encode_gateway_error(out, "plain", event, nullptr);
  EXPECT_EQ(out, R"({"event":"exception","data":{"status":"error","message":"plain",)"
                 R"("cause":{"pattern":"boom","data":null}}})");
  out.clear();
  // An error object of the handler's own goes as it is (WsException({...})).
  encode_gateway_error(out, json::value{{"code", 42}}, event, data);
  EXPECT_EQ(out, R"({"event":"exception","data":{"code":42}})");
}

}  // namespace
}  // namespace roost::ws::detail
