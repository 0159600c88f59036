#include <roost/redis/detail/resp.hpp>

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

namespace rd = roost::redis::detail;

TEST(resp_command, bulk_strings) {
  std::string out;
  rd::append_command(out, {"SUBSCRIBE", "sum.reply"});
  EXPECT_EQ(out, "*2\r\n$9\r\nSUBSCRIBE\r\n$9\r\nsum.reply\r\n");
}

TEST(resp_command, binary_and_empty_arguments) {
  std::string out;
  rd::append_command(out, {"SET", std::string_view("a\r\n\0b", 5), ""});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$5\r\na\r\n\0b\r\n$0\r\n\r\n", 30));
}

TEST(resp_command, publish_matches_generic_form) {
  std::string a, b;
  const std::string payload = R"({"pattern":"sum","data":[1,2],"id":"x"})";
  rd::append_publish(a, "sum", payload);
  rd::append_command(b, {"PUBLISH", "sum", payload});
  EXPECT_EQ(a, b);
}

TEST(resp_command, utf8_length_is_in_bytes) {
  std::string out;
  rd::append_publish(out, "é", "😀");
  EXPECT_EQ(out, "*3\r\n$7\r\nPUBLISH\r\n$2\r\né\r\n$4\r\n😀\r\n");
}

TEST(resp_reader, partial_input_then_complete) {
  rd::reader r;
  r.feed("*3\r\n$7\r\nmess");
  auto a = r.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, nullptr);
  r.feed("age\r\n$9\r\nsum.reply\r\n$14\r\n{\"response\":3");
  auto b = r.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, nullptr);
  r.feed("}\r\n:1\r\n");
  auto c = r.next();
  ASSERT_TRUE(c);
  ASSERT_NE(*c, nullptr);
  auto p = rd::classify(**c);
  EXPECT_EQ(p.type, rd::push::kind::message);
  EXPECT_EQ(p.channel, "sum.reply");
  EXPECT_EQ(p.payload, "{\"response\":3}");
  auto d = r.next();
  ASSERT_TRUE(d);
  ASSERT_NE(*d, nullptr);
  EXPECT_EQ((*d)->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ((*d)->integer, 1);
}

TEST(resp_reader, byte_at_a_time) {
  const std::string wire =
      "*4\r\n$8\r\npmessage\r\n$7\r\nusers.*\r\n$9\r\nusers.new\r\n$2\r\n{}\r\n";
  rd::reader r;
  rd::reply_ptr got;
  for (char c : wire) {
    r.feed(std::string_view(&c, 1));
    auto n = r.next();
    ASSERT_TRUE(n);
    if (*n) got = std::move(*n);
  }
  ASSERT_NE(got, nullptr);
  auto p = rd::classify(*got);
  EXPECT_EQ(p.type, rd::push::kind::pmessage);
  EXPECT_EQ(p.pattern, "users.*");
  EXPECT_EQ(p.channel, "users.new");
  EXPECT_EQ(p.payload, "{}");
}

TEST(resp_reader, subscribe_confirmations) {
  rd::reader r;
  r.feed(
      "*3\r\n$9\r\nsubscribe\r\n$3\r\nsum\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$3\r\nsum\r\n:0\r\n"
      "*3\r\n$10\r\npsubscribe\r\n$3\r\na.*\r\n:1\r\n");
  auto a = r.next(), b = r.next(), c = r.next();
  ASSERT_TRUE(a && *a && b && *b && c && *c);
  EXPECT_EQ(rd::classify(**a).type, rd::push::kind::subscribe);
  EXPECT_EQ(rd::classify(**a).channel, "sum");
  EXPECT_EQ(rd::classify(**b).type, rd::push::kind::unsubscribe);
  EXPECT_EQ(rd::classify(**c).type, rd::push::kind::psubscribe);
  EXPECT_EQ(rd::classify(**c).channel, "a.*");
}

TEST(resp_reader, errors_status_and_odd_arrays) {
  rd::reader r;
  r.feed(
      "-WRONGPASS invalid username-password pair\r\n+OK\r\n*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"
      "*3\r\n$7\r\nmessage\r\n:5\r\n$1\r\nx\r\n$-1\r\n");
  auto e = r.next();
  ASSERT_TRUE(e && *e);
  EXPECT_TRUE(rd::is_error(**e));
  EXPECT_EQ(rd::text(**e), "WRONGPASS invalid username-password pair");
  auto ok = r.next();
  ASSERT_TRUE(ok && *ok);
  EXPECT_FALSE(rd::is_error(**ok));
  EXPECT_EQ(rd::text(**ok), "OK");
  auto short_array = r.next();
  ASSERT_TRUE(short_array && *short_array);
  EXPECT_EQ(rd::classify(**short_array).type, rd::push::kind::other);
  auto wrong_types = r.next();  // the channel is an integer: not a message
  ASSERT_TRUE(wrong_types && *wrong_types);
  EXPECT_EQ(rd::classify(**wrong_types).type, rd::push::kind::other);
  auto nil = r.next();
  ASSERT_TRUE(nil && *nil);
  EXPECT_EQ(rd::classify(**nil).type, rd::push::kind::other);
  EXPECT_EQ(rd::text(**nil), "");
}

TEST(resp_reader, not_resp_is_an_error) {
  rd::reader r;
  r.feed("HTTP/1.1 400 Bad Request\r\n");
  auto n = r.next();
  EXPECT_FALSE(n);
}

TEST(resp_reader, large_bulk_string) {
  const std::string big(3 * 1024 * 1024 + 7, 'x');
  std::string wire;
  rd::append_command(wire, {"message", "c", big});  // same shape as a pushed message
  rd::reader r;
  for (std::size_t i = 0; i < wire.size(); i += 65536) {
    r.feed(std::string_view(wire).substr(i, 65536));
  }
  auto n = r.next();
  ASSERT_TRUE(n && *n);
  auto p = rd::classify(**n);
  EXPECT_EQ(p.type, rd::push::kind::message);
  EXPECT_EQ(p.payload.size(), big.size());
}

// An array header alone makes hiredis allocate the element table: a huge count from a broken
// or hostile peer is refused instead of costing gigabytes.
TEST(resp_reader, refuses_huge_arrays_but_takes_large_ones) {
  rd::reader bad;
  bad.feed("*999999999\r\n");
  EXPECT_FALSE(bad.next());
  rd::reader nested;
  nested.feed("*1\r\n*1048577\r\n");
  EXPECT_FALSE(nested.next());
  rd::reader ok;
  std::string many = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) many += ":1\r\n";
  ok.feed(many);
  auto r = ok.next();
  ASSERT_TRUE(r);
  ASSERT_NE(*r, nullptr);
  EXPECT_EQ((*r)->elements, 1000u);
  // A moved reader keeps its bound.
  rd::reader moved = std::move(ok);
  moved.feed("*999999999\r\n");
  EXPECT_FALSE(moved.next());
}
