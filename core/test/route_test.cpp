#include <roost/route.hpp>

#include <roost/detail/json_reader.hpp>
#include <roost/detail/json_writer.hpp>

#include <gtest/gtest.h>
#include <unicode/coll.h>
#include <unicode/locid.h>
#include <unicode/stringpiece.h>
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace roost {
namespace {

// Patterns are JSON text, parsed with correctly rounded doubles as a JavaScript peer would.
json::value parse(std::string_view text) {
  json::error_code ec;
  json::value v = detail::parse_json(text, ec);
  EXPECT_FALSE(ec) << "bad test JSON: " << text;
  return v;
}

std::string nest(int levels, std::string leaf) {
  for (int i = 0; i < levels; ++i) leaf = "{\"k" + std::to_string(i) + "\":" + leaf + "}";
  return leaf;
}

std::string keys_object(int n) {
  std::string s = "{";
  for (int i = 0; i < n; ++i)
    s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  return s + "}";
}

std::string range_array(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i);
  return s + "]";
}

struct route_case {
  std::string pattern;  // JSON text
  std::string route;
};

class route_test : public ::testing::Test {
 protected:
  route_normalizer normalizer_;
};

TEST_F(route_test, spec_verified_vectors) {
  // docs/nest-wire-protocol.md section 1.3, "Verified outputs".
  std::vector<route_case> const cases = {
      {R"("sum")", "sum"},
      {"42", "42"},
      {R"({"role":"math","cmd":"sum"})", R"({"cmd":"sum","role":"math"})"},
      {R"({"b":1,"a":{"d":true,"c":null}})", R"({"a":{"c":null,"d":true},"b":1})"},
      {R"({"Z":1,"a":2,"_x":3,"-y":4,"B":5,"10":6,"2":7})",
       R"({"_x":3,"-y":4,"10":6,"2":7,"a":2,"B":5,"Z":1})"},
  };
  for (auto const& c : cases) EXPECT_EQ(normalizer_.route(parse(c.pattern)), c.route) << c.pattern;
}

TEST_F(route_test, own_vectors) {
  std::vector<route_case> const cases = {
      // Scalars at the top level: strings are not quoted or escaped.
      {R"("")", ""},
      {R"("a \"q\" \\ b")", R"(a "q" \ b)"},
      {R"("line\nbreak")", "line\nbreak"},
      {R"("日本")", "日本"},
      {"-7", "-7"},
      {"1.5", "1.5"},
      {"1e21", "1e+21"},
      {"1e20", "100000000000000000000"},
      {"1e-7", "1e-7"},
      {"1.2e-7", "1.2e-7"},
      {"0.000001", "0.000001"},
      {"-0.0", "0"},
      {"0.1", "0.1"},
      {"1e400", "Infinity"},
      {"9007199254740993", "9007199254740992"},
      {"18446744073709551615", "18446744073709552000"},
      {"true", "true"},
      {"false", "false"},
      {"null", "null"},
      // Key order: case-insensitive first, lowercase first on ties; punctuation before digits
      // before letters; digits as characters.
      {R"({"b":1,"B":2,"a":3,"A":4})", R"({"a":3,"A":4,"b":1,"B":2})"},
      {R"({"aB":1,"Ab":2,"ab":3,"AB":4})", R"({"ab":3,"aB":1,"Ab":2,"AB":4})"},
      {R"({"a_b":1,"a-b":2,"a.b":3,"a b":4,"ab":5,"a":6})",
       R"({"a":6,"a b":4,"a_b":1,"a-b":2,"a.b":3,"ab":5})"},
      {R"({"get_user":1,"getUser":2,"get-user":3,"getuser":4})",
       R"({"get_user":1,"get-user":3,"getuser":4,"getUser":2})"},
      {R"({"10":1,"9":2,"1":3,"1a":4,"a1":5})", R"({"1":3,"10":1,"1a":4,"9":2,"a1":5})"},
      {R"({"é":1,"e":2,"f":3,"E":4,"É":5})", R"({"e":2,"E":4,"é":1,"É":5,"f":3})"},
      {R"({"ß":1,"ss":2,"st":3,"sr":4})", R"({"sr":4,"ss":2,"ß":1,"st":3})"},
      {R"({"日本":1,"a":2,"中文":3})", R"({"a":2,"中文":3,"日本":1})"},
      {R"({"😀":1,"a":2,"1":3,"_":4})", R"({"_":4,"😀":1,"1":3,"a":2})"},
      {R"({"":1,"a":2," ":3})", R"({"":1," ":3,"a":2})"},
      // Keys that collate equal keep Object.keys order: array indices first, then insertion.
      {R"({"e\u0301":1,"é":2})", "{\"e\u0301\":1,\"é\":2}"},
      {R"({"é":1,"e\u0301":2})", "{\"é\":1,\"e\u0301\":2}"},
      {R"({"1\u0001":1,"1":2})", "{\"1\":2,\"1\u0001\":1}"},
      // Escaping: only backslash and double quote, in keys and string values.
      {R"({"k":"a\"b\\c\nd/e"})", "{\"k\":\"a\\\"b\\\\c\nd/e\"}"},
      {R"({"a\"b":1,"c\\d":2})", R"({"a\"b":1,"c\\d":2})"},
      {R"({"m":"{\"x\":1}"})", R"({"m":"{\"x\":1}"})"},
      // Values.
      {R"({"a":1.5,"b":1e21,"c":-0.0,"d":1e-7,"e":1e400})",
       R"({"a":1.5,"b":1e+21,"c":0,"d":1e-7,"e":Infinity})"},
      {R"({"t":true,"f":false,"n":null})", R"({"f":false,"n":null,"t":true})"},
      // Arrays become objects keyed by index, sorted as strings.
      {R"({"arr":[1,2,"x"]})", R"({"arr":{"0":1,"1":2,"2":"x"}})"},
      {"[]", "{}"},
      {"{}", "{}"},
      {R"([[1,2],[3,[4]]])", R"({"0":{"0":1,"1":2},"1":{"0":3,"1":{"0":4}}})"},
      {range_array(12),
       R"({"0":0,"1":1,"10":10,"11":11,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9})"},
      // Depth: the top level is depth 0 and an object or array at depth 6 is replaced; strings
      // and scalars at any depth are kept.
      {nest(6, "1"), R"({"k5":{"k4":{"k3":{"k2":{"k1":{"k0":1}}}}}})"},
      {nest(7, "1"), R"({"k6":{"k5":{"k4":{"k3":{"k2":{"k1":[MAX_DEPTH_REACHED]}}}}}})"},
      {nest(6, "{}"), R"({"k5":{"k4":{"k3":{"k2":{"k1":{"k0":[MAX_DEPTH_REACHED]}}}}}})"},
      {nest(6, R"("s")"), R"({"k5":{"k4":{"k3":{"k2":{"k1":{"k0":"s"}}}}}})"},
      {"[[[[[[[1]]]]]]]", R"({"0":{"0":{"0":{"0":{"0":{"0":[MAX_DEPTH_REACHED]}}}}}})"},
      // Key count: more than 20 replaces just that object, after the depth check.
      {keys_object(21), "[TOO_MANY_KEYS]"},
      {range_array(21), "[TOO_MANY_KEYS]"},
      {"{\"a\":" + keys_object(21) + ",\"b\":1}", R"({"a":[TOO_MANY_KEYS],"b":1})"},
      {nest(6, keys_object(21)),
       R"({"k5":{"k4":{"k3":{"k2":{"k1":{"k0":[MAX_DEPTH_REACHED]}}}}}})"},
  };
  for (auto const& c : cases) EXPECT_EQ(normalizer_.route(parse(c.pattern)), c.route) << c.pattern;

  // 20 keys is still fine, in string order.
  std::string const twenty = normalizer_.route(parse(keys_object(20)));
  EXPECT_EQ(twenty.rfind(R"({"k0":0,"k1":1,"k10":10,"k11":11,)", 0), 0u) << twenty;
}

TEST_F(route_test, values_built_in_cpp) {
  // Integers that a JavaScript peer cannot hold exactly are rounded like it rounds them.
  EXPECT_EQ(normalizer_.route(json::value(std::int64_t{9223372036854775807})),
            "9223372036854776000");
  EXPECT_EQ(normalizer_.route(json::value(-0.0)), "0");
  EXPECT_EQ(normalizer_.route(json::value(std::numeric_limits<double>::quiet_NaN())), "NaN");
  EXPECT_EQ(normalizer_.route(json::object{{"x", -std::numeric_limits<double>::infinity()}}),
            R"({"x":-Infinity})");
  EXPECT_EQ(normalizer_.route(json::object{{"a", json::array{}}, {"b", json::object{}}}),
            R"({"a":{},"b":{}})");
}

TEST_F(route_test, lookup_route) {
  std::vector<route_case> const cases = {
      {R"("sum")", "sum"},
      {R"("{\"b\":1,\"a\":1}")", R"({"a":1,"b":1})"},
      {R"({"b":1,"a":1})", R"({"a":1,"b":1})"},
      {R"("1.0")", "1"},
      {R"("1e3")", "1000"},
      {R"(" 5 ")", "5"},
      {R"("\"x\"")", "x"},
      {R"("true")", "true"},
      {R"("{bad")", "{bad"},
      {R"("{\"a\":1} x")", R"({"a":1} x)"},
      {R"("[1,]")", "[1,]"},
      {R"("01")", "01"},
      {R"("\u00a0 1")", "\u00a0 1"},
      {R"("1e400")", "Infinity"},
      {R"("{\"v\":936790.3451038543}")", R"({"v":936790.3451038543})"},
      {"[1]", "1"},
      {"[[2]]", "2"},
      {"[1,2]", R"({"0":1,"1":2})"},
      {"[null]", R"({"0":null})"},
      {R"(["{\"b\":2,\"a\":1}"])", R"({"a":1,"b":2})"},
      {R"(["x"])", R"({"0":"x"})"},
      {"[{}]", R"({"0":{}})"},
      {"42", "42"},
  };
  for (auto const& c : cases)
    EXPECT_EQ(normalizer_.lookup_route(parse(c.pattern)), c.route) << c.pattern;

  // Deeper than Boost's default parse limit of 32: still parsed, as JSON.parse does, up to 256
  // levels (the parser recurses); deeper text is looked up as the string itself.
  auto const deep = [](std::size_t n) {
    return json::value(std::string(n, '[') + "1" + std::string(n, ']'));
  };
  EXPECT_EQ(normalizer_.lookup_route(deep(256)),
            R"({"0":{"0":{"0":{"0":{"0":{"0":[MAX_DEPTH_REACHED]}}}}}})");
  EXPECT_EQ(normalizer_.lookup_route(deep(257)), deep(257).get_string());
  EXPECT_EQ(normalizer_.lookup_route(deep(1000000)), deep(1000000).get_string());
}

TEST_F(route_test, compare_keys) {
  EXPECT_LT(normalizer_.compare_keys("a", "b"), 0);
  EXPECT_GT(normalizer_.compare_keys("b", "a"), 0);
  EXPECT_EQ(normalizer_.compare_keys("abc", "abc"), 0);
  EXPECT_LT(normalizer_.compare_keys("10", "2"), 0);
  EXPECT_LT(normalizer_.compare_keys("a", "A"), 0);
  EXPECT_LT(normalizer_.compare_keys("_", "-"), 0);
  EXPECT_LT(normalizer_.compare_keys("-", "0"), 0);
  EXPECT_LT(normalizer_.compare_keys("9", "a"), 0);
  EXPECT_LT(normalizer_.compare_keys("é", "f"), 0);
  EXPECT_EQ(normalizer_.compare_keys("e\u0301", "é"), 0);
  EXPECT_EQ(normalizer_.compare_keys(std::string_view("a\0", 2), "a"), 0);
}

// Printable ASCII keys are compared without ICU; the answer must be ICU's root collation
// (tertiary strength, normalization on: what V8's localeCompare uses).
TEST_F(route_test, ascii_keys_compare_as_the_icu_root_collator) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Collator> icu_root(
      icu::Collator::createInstance(icu::Locale::getRoot(), status));
  ASSERT_TRUE(U_SUCCESS(status) && icu_root);
  icu_root->setStrength(icu::Collator::TERTIARY);
  icu_root->setAttribute(UCOL_NORMALIZATION_MODE, UCOL_ON, status);
  auto icu_sign = [&](const std::string& a, const std::string& b) {
    UErrorCode st = U_ZERO_ERROR;
    auto r =
        icu_root->compareUTF8(icu::StringPiece(a.data(), static_cast<std::int32_t>(a.size())),
                              icu::StringPiece(b.data(), static_cast<std::int32_t>(b.size())), st);
    return r == UCOL_LESS ? -1 : r == UCOL_GREATER ? 1 : 0;
  };
  auto sign = [](int v) { return (v > 0) - (v < 0); };
  std::vector<std::string> keys{""};
  for (char c = 0x20; c < 0x7F; ++c) keys.emplace_back(1, c);
  const std::string some = "aAzZ09_-. $";
  for (char x : some)
    for (char y : some) keys.push_back(std::string{x, y});
  int mismatches = 0;
  for (const auto& a : keys) {
    for (const auto& b : keys) {
      if (sign(normalizer_.compare_keys(a, b)) != icu_sign(a, b) && ++mismatches < 10) {
        ADD_FAILURE() << "\"" << a << "\" vs \"" << b << "\"";
      }
    }
  }
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  for (int i = 0; i < 200000; ++i) {
    std::string a, b;
    for (auto* s : {&a, &b}) {
      const auto n = (next() >> 8) % 7;
      for (std::uint32_t j = 0; j < n; ++j)
        s->push_back(static_cast<char>(0x20 + (next() >> 8) % 95));
    }
    if (i % 2 && !a.empty()) b = a.substr(0, (next() >> 8) % a.size()) + b;  // shared prefixes
    if (sign(normalizer_.compare_keys(a, b)) != icu_sign(a, b) && ++mismatches < 10) {
      ADD_FAILURE() << "\"" << a << "\" vs \"" << b << "\"";
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// --- vectors produced by real NestJS (tests/interop/gen-route-vectors.mjs) ----------------------

// ROOST_ROUTE_VECTORS names vectors made live from an installed NestJS
// (tests/interop/route-vectors.sh); without it, the committed ones.
json::value load_vectors() {
  const char* live = std::getenv("ROOST_ROUTE_VECTORS");
  const std::string file =
      live != nullptr && *live != '\0' ? live : ROOST_TEST_DATA_DIR "/route_vectors.json";
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << file;
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

// NestJS returns a top-level boolean or null unchanged; roost returns String() of it.
std::string expected_route(json::value const& route) {
  if (route.is_string()) return std::string(route.get_string());
  return detail::to_json(route);
}

TEST_F(route_test, nestjs_route_vectors) {
  json::value const vectors = load_vectors();
  json::array const& cases = vectors.at("route").as_array();
  EXPECT_GE(cases.size(), 60u);
  for (auto const& c : cases) {
    json::value const& pattern = c.at("pattern");
    EXPECT_EQ(normalizer_.route(pattern), expected_route(c.at("route")))
        << "pattern: " << detail::to_json(pattern);
  }
}

TEST_F(route_test, nestjs_lookup_route_vectors) {
  json::value const vectors = load_vectors();
  json::array const& cases = vectors.at("lookup_route").as_array();
  EXPECT_GE(cases.size(), 40u);
  for (auto const& c : cases) {
    json::value const& pattern = c.at("pattern");
    EXPECT_EQ(normalizer_.lookup_route(pattern), expected_route(c.at("route")))
        << "pattern: " << detail::to_json(pattern);
  }
}

TEST_F(route_test, nestjs_compare_vectors) {
  json::value const vectors = load_vectors();
  json::array const& cases = vectors.at("compare").as_array();
  EXPECT_GE(cases.size(), 100u);
  for (auto const& c : cases) {
    json::array const& pair = c.as_array();
    std::string_view const a = pair.at(0).as_string();
    std::string_view const b = pair.at(1).as_string();
    int const sign = static_cast<int>(pair.at(2).as_int64());
    int const got = normalizer_.compare_keys(a, b);
    EXPECT_EQ((got > 0) - (got < 0), sign) << '"' << a << "\" vs \"" << b << '"';
  }
}

// --- object semantics ---------------------------------------------------------------------------

TEST_F(route_test, concurrent_const_use_gives_the_same_routes) {
  json::value const vectors = load_vectors();
  json::array const& cases = vectors.at("route").as_array();
  std::vector<std::string> expected;
  for (auto const& c : cases) expected.push_back(normalizer_.route(c.at("pattern")));

  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (std::size_t i = 0; i < cases.size(); ++i)
          if (normalizer_.route(cases[i].at("pattern")) != expected[i]) ++mismatches[t];
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST_F(route_test, move) {
  route_normalizer moved(std::move(normalizer_));
  EXPECT_EQ(moved.route(parse(R"({"b":1,"A":2})")), R"({"A":2,"b":1})");
  route_normalizer other;
  other = std::move(moved);
  EXPECT_EQ(other.compare_keys("É", "e"), 1);
}

}  // namespace
}  // namespace roost
