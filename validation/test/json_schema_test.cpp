#include <roost/validation/json_schema.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// json_schema on its own: what a schema accepts, what it reports (pointer, rule, value) and
// which schemas it refuses when made.

namespace {

using roost::validation::json_schema;
using roost::validation::schema_draft;
using roost::validation::schema_options;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using problems = std::vector<std::string>;

boost::json::value js(std::string_view text) {
  return boost::json::parse(text);
}

problems check(std::string_view schema, std::string_view payload) {
  return json_schema::parse(schema).check(js(payload));
}

/// The message of the std::invalid_argument that making `schema` throws ("" if it does not).
std::string refusal(std::string_view schema, schema_options o = {}) {
  try {
    json_schema::parse(schema, o);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

constexpr std::string_view order_schema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["customer", "items"],
  "properties": {
    "customer": {"type": "string", "minLength": 1},
    "items": {
      "type": "array", "minItems": 1,
      "items": {
        "type": "object",
        "required": ["sku", "qty"],
        "properties": {
          "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
          "qty": {"type": "integer", "minimum": 1, "maximum": 100}
        },
        "additionalProperties": false
      }
    },
    "note": {"type": ["string", "null"], "maxLength": 10}
  }
})";

TEST(json_schema, a_valid_payload_has_no_problem) {
  const auto s = json_schema::parse(order_schema);
  EXPECT_THAT(s.check(js(R"({"customer":"ada","items":[{"sku":"ABC-1","qty":2}]})")),
              ElementsAre());
  EXPECT_TRUE(
      s.accepts(js(R"({"customer":"ada","items":[{"sku":"ABC-1","qty":2.0}],"note":null})")))
      << "2.0 is an integer";
  EXPECT_EQ(s.draft(), schema_draft::draft7);
}

TEST(json_schema, every_failing_field_is_listed_with_its_pointer_rule_and_value) {
  EXPECT_THAT(
      check(
          order_schema,
          R"({"items":[{"sku":"abc","qty":0},{"sku":"XYZ-2","qty":"3","x":1}],"note":"far too long a note"})"),
      ElementsAre("/items/0/qty: minimum 1, got 0",
                  "/items/0/sku: pattern \"^[A-Z]{3}-[0-9]+$\", got \"abc\"",
                  "/items/1/qty: type integer, got \"3\"",
                  "/items/1/x: property not allowed (additionalProperties)",
                  "/note: maxLength 10, got \"far too long a note\"",
                  "/customer: required property missing"));
}

TEST(json_schema, wrong_types_name_what_was_expected) {
  EXPECT_THAT(check(order_schema, "42"), ElementsAre("type object, got 42"));
  EXPECT_THAT(check(order_schema, R"({"customer":7,"items":{}})"),
              ElementsAre("/customer: type string, got 7", "/items: type array, got {}"));
  EXPECT_THAT(check(order_schema, R"({"customer":"a","items":[1],"note":false})"),
              ElementsAre("/items/0: type object, got 1", "/note: type null or string, got false"));
}

TEST(json_schema, nested_paths_escape_names_as_json_pointers) {
  EXPECT_THAT(check(R"({"properties":{"a/b":{"properties":{"c~d":{"items":{"minimum":5}}}}}})",
                    R"({"a/b":{"c~d":[9,1]}})"),
              ElementsAre("/a~1b/c~0d/1: minimum 5, got 1"));
}

TEST(json_schema, long_values_are_cut) {
  const std::string big(1000, 'x');
  const auto p = check(R"({"maxLength":3})", "\"" + big + "\"");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "maxLength 3, got \"" + std::string(39, 'x') + "...");
}

TEST(json_schema, lengths_count_every_character) {
  EXPECT_THAT(check(R"({"maxLength":2,"minLength":2})", R"("é😀")"), ElementsAre())
      << "characters, not bytes";
  EXPECT_THAT(check(R"({"minLength":3})", R"("ab")"), ElementsAre("minLength 3, got \"ab\""));
  EXPECT_THAT(refusal(R"({"maxLength":-1})"),
              HasSubstr("/maxLength: must be a non-negative integer"));
}

TEST(json_schema, applicators_and_other_keywords_report_in_their_own_words) {
  EXPECT_THAT(check(R"({"enum":[1,2]})", "3"), ElementsAre("enum, got 3"));
  EXPECT_THAT(check(R"({"const":"a"})", "\"b\""), ElementsAre("const, got \"b\""));
  EXPECT_THAT(check(R"({"not":{"type":"string"}})", "\"s\""),
              ElementsAre("not: matches the schema it must not, got \"s\""));
  EXPECT_THAT(check(R"({"oneOf":[{"type":"integer"},{"minimum":0}]})", "3"),
              ElementsAre("oneOf: matches more than one, got 3"));
  EXPECT_THAT(
      check(R"({"anyOf":[{"type":"string"},{"type":"boolean"}]})", "3"),
      ElementsAre("type string, got 3", "type boolean, got 3", "anyOf: matches none, got 3"));
  EXPECT_THAT(check(R"({"uniqueItems":true,"maxItems":2})", "[1,2,1]"),
              ElementsAre("maxItems 2, got [1,2,1]", "uniqueItems: items 0 and 2 are equal"));
  EXPECT_THAT(check(R"({"exclusiveMaximum":1.5,"multipleOf":0.5})", "1.75"),
              ElementsAre("exclusiveMaximum 1.5, got 1.75", "multipleOf 0.5, got 1.75"));
  EXPECT_THAT(check(R"({"if":{"minimum":10},"then":{"multipleOf":10}})", "15"),
              ElementsAre("multipleOf 10, got 15"));
  EXPECT_THAT(check(R"({"dependencies":{"card":["billing"]}})", R"({"card":1})"),
              ElementsAre("/billing: required by dependencies, missing"));
  EXPECT_THAT(check(R"({"format":"date"})", "\"2023-02-29\""),
              ElementsAre("format date, got \"2023-02-29\""));
  EXPECT_THAT(check(R"({"format":"date-time"})", "\"2024-02-29T23:59:60.5+01:00\""), ElementsAre());
  EXPECT_THAT(check(R"({"type":["string","integer"],"format":"date"})", "5"), ElementsAre())
      << "format applies to strings only";
  EXPECT_THAT(check(R"({"format":"email"})", "\"not an email\""), ElementsAre())
      << "other formats are annotations";
}

TEST(json_schema, references_within_the_schema_and_recursion_through_the_payload) {
  constexpr std::string_view tree = R"({
    "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                       "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
    "$ref": "#/$defs/node"})";
  EXPECT_THAT(check(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":"x"}]}]})"),
              ElementsAre("/kids/0/kids/0/v: type integer, got \"x\""));
  EXPECT_THAT(check(R"({"properties":{"next":{"$ref":"#"}},"maxProperties":1})",
                    R"({"next":{"next":{"a":1,"b":2}}})"),
              ElementsAre("/next/next: maxProperties 1, got {\"a\":1,\"b\":2}"));
}

TEST(json_schema, draft_2020_12_is_read_from_its_uri) {
  const auto s = json_schema::parse(R"({"$schema":"https://json-schema.org/draft/2020-12/schema",
      "type":"array","items":{"type":"integer"}})");
  EXPECT_EQ(s.draft(), schema_draft::draft2020_12);
  EXPECT_THAT(s.check(js("[1,\"a\"]")), ElementsAre("/1: type integer, got \"a\""));
}

TEST(json_schema, a_huge_integer_is_a_number) {
  EXPECT_THAT(check(R"({"type":"integer","maximum":10})", "18446744073709551615"),
              ElementsAre("maximum 10, got 18446744073709552000"));
}

TEST(json_schema, many_problems_are_counted_past_the_limit) {
  schema_options o;
  o.max_problems = 3;
  const auto s = json_schema::parse(R"({"items":{"type":"string"}})", o);
  const auto p = s.check(js("[1,2,3,4,5,6,7]"));
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "/0: type string, got 1");
  EXPECT_EQ(p[3], "... and 4 more");
}

TEST(json_schema, long_strings_against_a_pattern_do_not_exhaust_the_stack) {
  const auto s = json_schema::parse(R"({"pattern":"^(a|b)*$"})");
  const std::string long_a(20'000, 'a');
  EXPECT_TRUE(s.accepts(boost::json::value(long_a)));
  EXPECT_FALSE(s.accepts(boost::json::value(long_a + "c")));
  // Past what the matcher allows itself for this expression: refused, in words.
  EXPECT_THAT(s.check(boost::json::value(std::string(1'000'000, 'a'))),
              ElementsAre("pattern \"^(a|b)*$\" too costly to check, got \"" +
                          std::string(39, 'a') + "..."));
  EXPECT_TRUE(json_schema::parse(R"({"pattern":"^[a-z]*$"})")
                  .accepts(boost::json::value(std::string(1'000'000, 'a'))));
}

TEST(json_schema, long_property_names_are_refused_when_patterns_match_names) {
  const auto s = json_schema::parse(R"({"patternProperties":{"^(a|b)*$":{"type":"integer"}}})");
  const std::string long_name(100'000, 'a');
  EXPECT_THAT(s.check(boost::json::object{{"x", {{long_name, 1}}}}),
              ElementsAre("/x: property name longer than 256 characters (not matched against "
                          "patternProperties)"));
  EXPECT_THAT(s.check(js(R"({"ab":"x"})")), ElementsAre("/ab: type integer, got \"x\""));
}

TEST(json_schema, garbage_and_large_payloads_are_checked_without_harm) {
  const auto s = json_schema::parse(order_schema);
  boost::json::array many;
  for (int i = 0; i < 20'000; ++i) many.push_back(boost::json::object{{"sku", i}, {"qty", -i}});
  const auto p = s.check(boost::json::object{{"customer", ""}, {"items", many}});
  ASSERT_EQ(p.size(), 21u);
  EXPECT_EQ(p[0], "/customer: minLength 1, got \"\"");
  EXPECT_THAT(p[20], HasSubstr("more"));
  EXPECT_THAT(s.check(js(R"("\u00ff\ud83d\ude00\u0001")")),
              ElementsAre("type object, got \"ÿ😀\\u0001\""));
}

// The check reads a string up to its first NUL (valijson's adapter does): a string holding one
// is refused rather than half checked, "admin\u0000..." would otherwise pass an enum of "admin".
TEST(json_schema, strings_holding_a_nul_are_refused) {
  const auto s = json_schema::parse(R"({"properties":{"role":{"enum":["admin","user"]},
                                                      "name":{"maxLength":3}}})");
  EXPECT_THAT(s.check(js(R"({"role":"user\u0000; drop","name":"ab"})")),
              ElementsAre("/role: a string with a NUL character (\\u0000), which the schema "
                          "check cannot read"));
  EXPECT_EQ(s.check(js(R"(["\u0000"])")).size(), 1u);
  EXPECT_THAT(s.check(js(R"({"role":"user","name":"ab"})")), ElementsAre());
}

TEST(json_schema, nesting_is_checked_to_a_limit) {
  // Arrays in arrays, as deep as a caller's own value may be (the transports bound the depth).
  const auto s = json_schema::parse(R"({"items":{"$ref":"#"},"type":["array","integer"]})");
  boost::json::value deep = 1;
  for (int i = 0; i < 256; ++i) deep = boost::json::array{std::move(deep)};
  EXPECT_THAT(s.check(deep), ElementsAre());
  deep = boost::json::array{std::move(deep)};
  const auto p = s.check(deep);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("/0/0/0/0/0/0"));
  EXPECT_THAT(p[0], HasSubstr(": nested deeper than 256 levels"));
  for (int i = 0; i < 2'000; ++i) deep = boost::json::array{std::move(deep)};
  EXPECT_EQ(s.check(deep).size(), 1u);
}

TEST(json_schema, schemas_it_cannot_enforce_are_refused_when_made) {
  EXPECT_THAT(refusal("{"), HasSubstr("not JSON"));
  EXPECT_THAT(refusal("42"), HasSubstr("a schema is an object or a boolean"));
  EXPECT_THAT(refusal(R"({"type":"text"})"), HasSubstr("/type: \"text\" is not a type"));
  EXPECT_THAT(refusal(R"({"properties":{"a":{"pattern":"("}}})"),
              HasSubstr("/properties/a/pattern: regular expression does not compile"));
  EXPECT_THAT(refusal(R"({"patternProperties":{"[":{}}})"),
              HasSubstr("/patternProperties/[: regular expression does not compile"));
  EXPECT_THAT(refusal(R"({"$ref":"#"})"), HasSubstr("refers to itself"));
  EXPECT_THAT(
      refusal(R"({"allOf":[{"$ref":"#/definitions/a"}],"definitions":{"a":{"not":{"$ref":"#"}}}})"),
      HasSubstr("refers to itself"));
  EXPECT_THAT(refusal(R"({"$ref":"#/definitions/missing"})"),
              HasSubstr("does not name a schema of this document"));
  EXPECT_THAT(refusal(R"({"$ref":"https://example.com/other.json"})"),
              HasSubstr("leaves the schema"));
  EXPECT_THAT(refusal(R"({"$schema":"http://json-schema.org/draft-04/schema#"})"),
              HasSubstr("unsupported dialect"));
  EXPECT_THAT(refusal(R"({"unevaluatedProperties":false})"),
              HasSubstr("/unevaluatedProperties: keyword not supported"));
  EXPECT_THAT(refusal(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","items":[{}]})"),
              HasSubstr("/items: an array of schemas is draft 7's form"));
  EXPECT_THAT(refusal(R"({"$schema":"https://json-schema.org/draft/2020-12/schema",
                          "$ref":"#/$defs/a","type":"object","$defs":{"a":{}}})"),
              HasSubstr("/type: keywords beside $ref"));
  EXPECT_THAT(refusal(R"({"minimum":"one"})"), HasSubstr("schema refused"));
  EXPECT_THAT(refusal(R"({"allOf":[]})"), HasSubstr("/allOf: must be a non-empty array"));
  schema_options draft7;
  draft7.draft = schema_draft::draft7;
  EXPECT_THAT(refusal(R"({"$schema":"https://json-schema.org/draft/2020-12/schema"})", draft7),
              HasSubstr("another draft"));
}

// One compiled schema checked from several threads at once, as a multi-threaded service's
// routes do (TSan looks at it in its tier).
TEST(json_schema, checks_from_many_threads_share_one_schema) {
  const auto s = json_schema::parse(order_schema);
  const auto good = js(R"({"customer":"ada","items":[{"sku":"ABC-1","qty":2}]})");
  const auto bad = js(R"({"customer":"ada","items":[{"sku":"abc","qty":2}]})");
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (s.accepts(good) && s.check(bad).size() == 1) ++right;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), 800);
}

TEST(json_schema, boolean_schemas) {
  EXPECT_THAT(check("true", "[1]"), ElementsAre());
  EXPECT_FALSE(json_schema::parse("false").accepts(js("1")));
  EXPECT_EQ(check(R"({"properties":{"gone":false}})", R"({"gone":1})").size(), 1u);
}

}  // namespace
