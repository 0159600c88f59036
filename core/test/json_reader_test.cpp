#include <roost/detail/json_reader.hpp>

#include <roost/detail/json_writer.hpp>
#include <roost/detail/payload.hpp>

#include <gtest/gtest.h>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace roost::detail {
namespace {

TEST(parse_json, doubles_are_correctly_rounded) {
  // Boost 1.81's json::parse gets these wrong by one ulp; JSON.parse does not.
  struct parse_case {
    char const* text;
    double expected;
  };
  std::vector<parse_case> const cases = {
      {"936790.3451038543", 936790.3451038543},
      {"-247762.47309469618", -247762.47309469618},
      {"1.3927926388013963e-143", 1.3927926388013963e-143},
      {"2.2250738585072011e-308", 2.2250738585072011e-308},
      {"0.1", 0.1},
      {"1e21", 1e21},
      {"123456789012345678901", 123456789012345678901.0},
      {"5e-324", 5e-324},
      {"1.7976931348623157e308", 1.7976931348623157e308},
  };
  for (auto const& c : cases) {
    json::error_code ec;
    json::value const v = parse_json(c.text, ec);
    ASSERT_FALSE(ec) << c.text;
    ASSERT_TRUE(v.is_double()) << c.text;
    EXPECT_EQ(v.get_double(), c.expected) << c.text;
  }

  json::error_code ec;
  json::value v = parse_json(R"({"a":[1e400,-1e400,1e-400,-1e-400]})", ec);
  ASSERT_FALSE(ec);
  json::array const& a = v.at("a").as_array();
  EXPECT_EQ(a[0].as_double(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(a[1].as_double(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(a[2].as_double(), 0.0);
  EXPECT_FALSE(std::signbit(a[2].as_double()));
  EXPECT_TRUE(std::signbit(a[3].as_double()));
}

TEST(parse_json, keeps_integers_and_structure) {
  json::error_code ec;
  json::value const v =
      parse_json(R"( {"i":-5,"u":18446744073709551615,"s":"é\n","n":null,"b":[true,false]} )", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.at("i").as_int64(), -5);
  EXPECT_EQ(v.at("u").as_uint64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(v.at("s").as_string(), "é\n");
  EXPECT_TRUE(v.at("n").is_null());
  EXPECT_EQ(to_json(v), R"({"i":-5,"u":18446744073709551615,"s":"é\n","n":null,"b":[true,false]})");
}

TEST(parse_json, reports_errors_without_throwing) {
  for (char const* text : {"", " ", "[1,]", "{} x", "01", "1.", ".5", "+1", "NaN", "{\"a\":1",
                           "\"\\x\"", "tru", "[1 2]", "{\"a\" 1}", "\"\xff\""}) {
    json::error_code ec;
    json::value const v = parse_json(text, ec);
    EXPECT_TRUE(ec) << text;
    EXPECT_TRUE(v.is_null()) << text;
  }
  json::parse_options shallow;
  shallow.max_depth = 2;
  json::error_code ec;
  parse_json("[[[1]]]", ec, {}, shallow);
  EXPECT_TRUE(ec);
  ec = {};
  parse_json("[[1]]", ec, {}, shallow);
  EXPECT_FALSE(ec);
}

TEST(parse_json_prefix, leaves_what_follows_the_document) {
  json::error_code ec;
  std::size_t used = 0;
  json::value const v = parse_json_prefix(R"({"a":[1,2.5]}  rest)", used, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(to_json(v), R"({"a":[1,2.5]})");
  EXPECT_EQ(used, 15u);

  parse_json_prefix("[1,2", used, ec);
  EXPECT_TRUE(ec);
}

// Equal values of the same kinds (json::value's == takes 1 and 1u for the same).
bool same(const json::value& a, const json::value& b) {
  if (a.kind() != b.kind()) return false;
  if (!a.is_array()) return a == b;
  const auto &x = a.get_array(), &y = b.get_array();
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!same(x[i], y[i])) return false;
  }
  return true;
}

TEST(read_simple_json, reads_what_the_general_parser_reads) {
  for (std::string_view text :
       {"0", "7", "-7", "123456789012345678", "-123456789012345678", "  42 ", "\"sum\"", "\"\"",
        "\"a b ~!\"", "true", "false", "null", "[]", "[ ]", " [1,2,3] ", "[1, -2 ,3]",
        "[\"a\",true,null,false,0]", "\t[\n1\r]\n"}) {
    std::size_t used = 0;
    json::value v;
    ASSERT_TRUE(read_simple_json(text, used, v)) << text;
    EXPECT_EQ(used, text.size()) << text;
    json::error_code ec;
    const json::value want = parse_json(text, ec);
    ASSERT_FALSE(ec) << text;
    EXPECT_TRUE(same(v, want)) << text << " read as " << to_json(v);
  }
}

TEST(read_simple_json, stops_where_the_value_and_its_spaces_end) {
  std::size_t used = 0;
  json::value v;
  ASSERT_TRUE(read_simple_json("[1,2]  ,\"id\":1", used, v));
  EXPECT_EQ(used, 7u);
  ASSERT_TRUE(read_simple_json("12}", used, v));
  EXPECT_TRUE(same(v, json::value(12)));
  EXPECT_EQ(used, 2u);
}

TEST(read_simple_json, leaves_everything_else_to_the_general_parser) {
  for (std::string_view text : {"",
                                " ",
                                "-0",
                                "01",
                                "-",
                                "1.5",
                                "1e3",
                                "2E1",
                                "1234567890123456789",
                                "-9223372036854775808",
                                "18446744073709551615",
                                "\"a\\nb\"",
                                "\"caf\xc3\xa9\"",
                                "\"tab\there\"",
                                "\"open",
                                "[[1]]",
                                "[{}]",
                                "{}",
                                "[1,]",
                                "[1 2]",
                                "[1",
                                "tru",
                                "nul",
                                "[-]"}) {
    std::size_t used = 0;
    json::value v = "unchanged";
    EXPECT_FALSE(read_simple_json(text, used, v)) << text;
    EXPECT_EQ(v, json::value("unchanged")) << text;
  }
}

// Texts of both kinds, for is_simple_json and read_simple_as against read_simple_json.
const std::vector<std::string_view> simple_and_other = {"0",
                                                        "7",
                                                        "-7",
                                                        "123456789012345678",
                                                        "  42 ",
                                                        "2147483648",
                                                        "-2147483649",
                                                        "\"sum\"",
                                                        "\"\"",
                                                        "true",
                                                        "false",
                                                        "null",
                                                        "[]",
                                                        " [1,2,3] ",
                                                        "[1, -2 ,3]",
                                                        "[\"a\",\"b c\"]",
                                                        "[\"a\",1]",
                                                        "[true,false]",
                                                        "[1,null]",
                                                        "[2147483647,-2147483648]",
                                                        "[2147483648]",
                                                        "-0",
                                                        "01",
                                                        "1.5",
                                                        "[1.5]",
                                                        "[[1]]",
                                                        "[1,]",
                                                        "[1",
                                                        "\"a\\nb\"",
                                                        "[\"caf\xc3\xa9\"]",
                                                        "{}",
                                                        "",
                                                        "tru"};

TEST(is_simple_json, accepts_what_read_simple_json_reads_and_nothing_else) {
  for (std::string_view text : simple_and_other) {
    std::size_t used = 0, want_used = 0;
    json::value v;
    const bool want = read_simple_json(text, want_used, v);
    EXPECT_EQ(is_simple_json(text, used), want) << text;
    if (want) {
      EXPECT_EQ(used, want_used) << text;
    }
  }
  std::string long_array = "[";
  for (int i = 0; i < 65; ++i) long_array += i == 0 ? "1" : ",1";
  long_array += "]";
  std::size_t used = 0;
  json::value v;
  EXPECT_FALSE(read_simple_json(long_array, used, v));
  EXPECT_FALSE(is_simple_json(long_array, used));
}

// read_simple_as gives what converting read_simple_json's value gives, or leaves the text to
// the general path: it never reads a value the conversion would refuse or read otherwise.
template <class T>
void expect_reads_as_converted(std::string_view text) {
  T direct{};
  const bool read = read_simple_as(text, direct);
  std::size_t used = 0;
  json::value v;
  if (!read_simple_json(text, used, v) || used != text.size()) {
    EXPECT_FALSE(read) << text;
    return;
  }
  T converted{};
  const bool converts = !convert_payload(v, converted);
  if (read) {
    EXPECT_TRUE(converts) << text;
    EXPECT_EQ(direct, converted) << text;
  }
}

TEST(read_simple_as, reads_only_what_the_conversion_reads_the_same) {
  for (std::string_view text : simple_and_other) {
    expect_reads_as_converted<double>(text);
    expect_reads_as_converted<int>(text);
    expect_reads_as_converted<long>(text);
    expect_reads_as_converted<long long>(text);
    expect_reads_as_converted<bool>(text);
    expect_reads_as_converted<std::string>(text);
    expect_reads_as_converted<std::vector<double>>(text);
    expect_reads_as_converted<std::vector<int>>(text);
    expect_reads_as_converted<std::vector<long>>(text);
    expect_reads_as_converted<std::vector<long long>>(text);
    expect_reads_as_converted<std::vector<std::string>>(text);
  }
}

// On a text is_simple_json accepted whole (decode_inbound's data_text), read_checked_as reads
// what read_simple_as reads, or refuses what it refuses.
template <class T>
void expect_checked_reads_as_simple(std::string_view text) {
  T checked{}, simple{};
  const bool got = read_checked_as(text, checked);
  EXPECT_EQ(got, read_simple_as(text, simple)) << text;
  if (got) {
    EXPECT_EQ(checked, simple) << text;
  }
}

TEST(read_checked_as, reads_a_checked_text_as_read_simple_as_does) {
  std::string long_array = "[";
  for (int i = 0; i < 64; ++i) long_array += (i == 0 ? "" : " , ") + std::to_string(i * 7 - 100);
  long_array += "] ";
  std::vector<std::string_view> texts = simple_and_other;
  texts.insert(texts.end(), {"[-123456789012345678,123456789012345678]", "[ ]", " [ 1 ] ",
                             "[\"1\"]", "[1,true]", "[-1]", long_array});
  int checked = 0;
  for (std::string_view text : texts) {
    std::size_t used = 0;
    if (!is_simple_json(text, used) || used != text.size()) continue;
    ++checked;
    expect_checked_reads_as_simple<std::vector<double>>(text);
    expect_checked_reads_as_simple<std::vector<int>>(text);
    expect_checked_reads_as_simple<std::vector<long>>(text);
    expect_checked_reads_as_simple<std::vector<long long>>(text);
  }
  EXPECT_GE(checked, 20);
}

TEST(read_simple_as, reads_the_usual_payloads) {
  std::vector<double> xs;
  ASSERT_TRUE(read_simple_as(" [1, 2,-3] ", xs));
  EXPECT_EQ(xs, (std::vector<double>{1, 2, -3}));
  std::vector<int> is;
  ASSERT_TRUE(read_simple_as("[]", is));
  EXPECT_TRUE(is.empty());
  int i = 0;
  ASSERT_TRUE(read_simple_as("-2147483648", i));
  EXPECT_EQ(i, -2147483648LL);
  EXPECT_FALSE(read_simple_as("2147483648", i));  // out of range: the general path's error
  std::string s;
  ASSERT_TRUE(read_simple_as("\"hello\"", s));
  EXPECT_EQ(s, "hello");
  std::vector<std::string> ss;
  ASSERT_TRUE(read_simple_as(R"(["a","b"])", ss));
  EXPECT_EQ(ss, (std::vector<std::string>{"a", "b"}));
  bool b = false;
  ASSERT_TRUE(read_simple_as("true", b));
  EXPECT_TRUE(b);
  double d = 0;
  EXPECT_FALSE(read_simple_as("\"6\"", d));  // another kind: the general path decides
  EXPECT_FALSE(read_simple_as("[1,2]", d));
  EXPECT_FALSE(read_simple_as("1.5", d));  // not of read_simple_json's set
}

// An integer array is sized by its commas: as long as read_simple_json reads (64 items), no
// longer, and a comma too many or an item too few is still refused.
TEST(read_simple_as, integer_arrays_up_to_the_simple_length) {
  auto array_of = [](int n) {
    std::string text = "[";
    for (int i = 0; i < n; ++i) text += (i == 0 ? "" : ", ") + std::to_string(i - 32);
    return text + "]";
  };
  for (int n : {1, 2, 63, 64}) {
    std::vector<double> xs;
    ASSERT_TRUE(read_simple_as(array_of(n), xs)) << n;
    ASSERT_EQ(xs.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(xs.front(), -32);
    EXPECT_EQ(xs.back(), n - 33);
    expect_reads_as_converted<std::vector<int>>(array_of(n));
  }
  std::vector<int> is{7};
  EXPECT_FALSE(read_simple_as(array_of(65), is));
  for (std::string_view text : {"[1,,2]", "[1,2,]", "[,1]", "[1 2]", "[1,2] ,", "[1,2],[3]"}) {
    EXPECT_FALSE(read_simple_as(text, is)) << text;
    expect_reads_as_converted<std::vector<int>>(text);
  }
}

TEST(json_writer, numbers_are_written_as_their_json_values_are) {
  // Integral values on both sides of 2^53, where the integer shortcut stops, and the rest.
  const double numbers[] = {0.0,
                            -0.0,
                            6.0,
                            -6.0,
                            0.1,
                            -1.5e300,
                            1e21,
                            5e-324,
                            1e15,
                            -1e15,
                            9007199254740991.0,
                            -9007199254740991.0,
                            9007199254740992.0,
                            -9007199254740992.0,
                            18014398509481988.0,
                            -0.5,
                            4.5,
                            std::numeric_limits<double>::quiet_NaN(),
                            -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::infinity()};
  for (double d : numbers) {
    std::string direct;
    write_json_number(d, direct);
    EXPECT_EQ(direct, to_json(json::value(d))) << d;
  }
  for (std::int64_t i :
       {std::int64_t{0}, std::int64_t{-7}, std::numeric_limits<std::int64_t>::min()}) {
    std::string direct;
    write_json_integer(i, direct);
    EXPECT_EQ(direct, to_json(json::value(i)));
  }
  std::string direct;
  write_json_integer(std::numeric_limits<std::uint64_t>::max(), direct);
  EXPECT_EQ(direct, to_json(json::value(std::numeric_limits<std::uint64_t>::max())));
}

TEST(parse_json_prefix, agrees_with_parse_json_on_simple_and_other_values) {
  for (std::string_view text : {"[1,2,3]", "[1.5,2]", "\"x\"", "[\"\\u00e9\"]", "-0", "[[1],2]"}) {
    json::error_code ec1, ec2;
    std::size_t used = 0;
    const json::value a = parse_json_prefix(text, used, ec1);
    const json::value b = parse_json(text, ec2);
    ASSERT_FALSE(ec1) << text;
    ASSERT_FALSE(ec2) << text;
    EXPECT_TRUE(same(a, b)) << text;
    EXPECT_EQ(used, text.size());
  }
}

}  // namespace
}  // namespace roost::detail
