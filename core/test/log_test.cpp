#include <roost/log.hpp>

#include <roost/detail/log_format.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

// The default logger's two formats and its ROOST_LOG_* settings (roost/detail/log_format.hpp),
// and the levels per source a logger applies.

namespace roost {
namespace {

using namespace std::chrono_literals;
using detail::log_record;

const auto fixed_time = std::chrono::system_clock::time_point(1700000000123ms);

std::string json_string(std::string_view s) {
  std::string out;
  detail::append_json_string(out, s);
  return out;
}

TEST(LogFormat, JsonEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_string("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(json_string("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(json_string(std::string_view("\x01\x1b[31m\x7f\0", 8)),
            R"("\u0001\u001b[31m\u007f\u0000")");
  EXPECT_EQ(json_string("\xc2\x85"), R"("\u0085")");  // C1 NEL
}

TEST(LogFormat, ValidUtf8PassesThrough) {
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa6"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa6\"");
}

TEST(LogFormat, InvalidUtf8IsReplacedNotPassedThrough) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(json_string("a\xff"
                        "b"),
            "\"a" + fffd + "b\"");
  // a truncated sequence is one replacement, and what follows it survives
  EXPECT_EQ(json_string("\xe2\x82x"), "\"" + fffd + "x\"");
  EXPECT_EQ(json_string("\xf0\x9f\x90"), "\"" + fffd + "\"");
  // overlong forms, surrogates and code points past U+10FFFF are refused byte by byte
  EXPECT_EQ(json_string("\xc0\xaf"), "\"" + fffd + fffd + "\"");
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"" + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
  // every output parses as JSON
  for (std::string_view s : {"\xff", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\x80\x80"}) {
    boost::system::error_code ec;
    boost::json::parse(json_string(s), ec);
    EXPECT_FALSE(ec) << json_string(s);
  }
}

TEST(LogFormat, TimeIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(detail::rfc3339_utc_millis(fixed_time), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(detail::rfc3339_utc_millis(std::chrono::system_clock::time_point(5ms)),
            "1970-01-01T00:00:00.005Z");
}

TEST(LogFormat, JsonLineIsOneObjectWithEveryField) {
  const detail::log_field fields[] = {{"traceId", "abc"}};
  const log_record r{fixed_time, log_level::warn, "tcp server", "bad \"frame\"\nfrom x",
                     4242,       fields};
  const auto line = detail::format_json(r);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("time").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(v.at("level").as_string(), "warn");
  EXPECT_EQ(v.at("source").as_string(), "tcp server");
  EXPECT_EQ(v.at("message").as_string(), "bad \"frame\"\nfrom x");
  EXPECT_EQ(v.at("pid").as_int64(), 4242);
  EXPECT_EQ(v.at("traceId").as_string(), "abc");
}

TEST(LogFormat, HumanLineIsNestLikeAndOneLine) {
  const log_record r{fixed_time, log_level::info, "tcp server", "listening\non 1\x1b[2J", 1, {}};
  const auto line = detail::format_human(r, false);
  EXPECT_THAT(line, ::testing::StartsWith("[roost] "));
  EXPECT_THAT(line, ::testing::EndsWith("   LOG [tcp server] listening\\non 1\\x1b[2J\n"));
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogFormat, HumanLineIsColouredOnlyWhenAsked) {
  const log_record r{fixed_time, log_level::error, "rmq", "gone", 1, {}};
  const auto coloured = detail::format_human(r, true);
  EXPECT_THAT(coloured, ::testing::HasSubstr("\x1b[31mERROR\x1b[39m"));
  EXPECT_THAT(coloured, ::testing::HasSubstr("\x1b[33m[rmq]\x1b[39m"));
  EXPECT_EQ(detail::format_human(r, false).find('\x1b'), std::string::npos);
}

TEST(LogSettings, LevelSpecTakesADefaultAndLevelsPerSource) {
  auto r = detail::parse_level_spec("warn,tcp=debug, kafka client = error");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.spec.fallback, log_level::warn);
  using rule = std::pair<std::string, log_level>;
  EXPECT_THAT(r.spec.per_source, ::testing::ElementsAre(rule{"tcp", log_level::debug},
                                                        rule{"kafka client", log_level::error}));

  r = detail::parse_level_spec("DEBUG");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.spec.fallback, log_level::debug);
  EXPECT_TRUE(r.spec.per_source.empty());

  r = detail::parse_level_spec("redis=off");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.spec.fallback, log_level::info);
  EXPECT_EQ(r.spec.per_source.size(), 1u);

  EXPECT_EQ(detail::parse_level_spec("").error, "");
}

TEST(LogSettings, BadLevelSpecIsAnErrorAndTheDefault) {
  for (std::string_view bad :
       {"verbose", "tcp=loud", "=debug", "info,,tcp=debug", "info,", "info,warn", "tcp"}) {
    const auto r = detail::parse_level_spec(bad);
    EXPECT_THAT(r.error, ::testing::HasSubstr("ROOST_LOG_LEVEL")) << bad;
    EXPECT_EQ(r.spec.fallback, log_level::info) << bad;
    EXPECT_TRUE(r.spec.per_source.empty()) << bad;
  }
}

TEST(LogSettings, FormatIsHumanOnATerminalAndJsonOtherwise) {
  using detail::log_format;
  EXPECT_EQ(detail::choose_log_format("", true).format, log_format::human);
  EXPECT_EQ(detail::choose_log_format("", false).format, log_format::json);
  EXPECT_EQ(detail::choose_log_format("auto", false).format, log_format::json);
  EXPECT_EQ(detail::choose_log_format("human", false).format, log_format::human);
  EXPECT_EQ(detail::choose_log_format("JSON", true).format, log_format::json);
  const auto bad = detail::choose_log_format("xml", false);
  EXPECT_EQ(bad.format, log_format::json);
  EXPECT_THAT(bad.error, ::testing::HasSubstr("ROOST_LOG_FORMAT"));
}

TEST(LogSettings, ARuleCoversItsNameAndWhatItIsTheFirstWordOf) {
  EXPECT_TRUE(detail::source_matches("tcp", "tcp"));
  EXPECT_TRUE(detail::source_matches("tcp", "tcp server"));
  EXPECT_TRUE(detail::source_matches("TCP", "tcp client"));
  EXPECT_TRUE(detail::source_matches("tcp server", "tcp server"));
  EXPECT_FALSE(detail::source_matches("tc", "tcp server"));
  EXPECT_FALSE(detail::source_matches("tcp", "tcpx"));
  EXPECT_FALSE(detail::source_matches("tcp server", "tcp client"));
}

struct captured {
  std::vector<std::string> lines;
  logger::sink sink() {
    return [this](log_level, std::string_view source, std::string_view message) {
      lines.push_back(std::string(source) + ": " + std::string(message));
    };
  }
};

TEST(Logger, LevelsPerSourceOverrideTheDefault) {
  captured out;
  const auto log = logger(log_level::warn, out.sink())
                       .with_level("tcp", log_level::debug)
                       .with_level("redis client", log_level::off);
  EXPECT_TRUE(log.enabled(log_level::debug));  // some source does
  EXPECT_TRUE(log.enabled(log_level::debug, "tcp server"));
  EXPECT_FALSE(log.enabled(log_level::debug, "dispatcher"));
  EXPECT_FALSE(log.enabled(log_level::error, "redis client"));
  log.debug("tcp server", "a");
  log.debug("dispatcher", "b");
  log.info("redis server", "c");
  log.warn("redis server", "d");
  log.error("redis client", "e");
  EXPECT_THAT(out.lines, ::testing::ElementsAre("tcp server: a", "redis server: d"));
}

TEST(Logger, TheExactNameWinsOverTheFirstWord) {
  captured out;
  const auto log = logger(log_level::info, out.sink())
                       .with_level("tcp client", log_level::debug)
                       .with_level("tcp", log_level::error);
  log.debug("tcp client", "a");
  log.warn("tcp server", "b");
  log.error("tcp server", "c");
  EXPECT_THAT(out.lines, ::testing::ElementsAre("tcp client: a", "tcp server: c"));
}

TEST(Logger, WithoutRulesOneLevelForAll) {
  captured out;
  const logger log(log_level::info, out.sink());
  EXPECT_FALSE(log.enabled(log_level::debug));
  EXPECT_FALSE(log.enabled(log_level::debug, "tcp server"));
  log.debug("tcp server", "a");
  log.info("tcp server", "b");
  EXPECT_THAT(out.lines, ::testing::ElementsAre("tcp server: b"));
  EXPECT_FALSE(logger::silent().enabled(log_level::error));
}

// The default logger reads the environment when it is made.
class env_var {
 public:
  env_var(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~env_var() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Logger, DefaultLoggerReadsRoostLogLevel) {
  {
    env_var v("ROOST_LOG_LEVEL", "warn,tcp=debug");
    const logger log;
    EXPECT_TRUE(log.enabled(log_level::debug, "tcp server"));
    EXPECT_FALSE(log.enabled(log_level::info, "dispatcher"));
    EXPECT_TRUE(log.enabled(log_level::warn, "dispatcher"));
  }
  {
    env_var v("ROOST_LOG_LEVEL", "loud");  // reported once on stderr, then the default
    const logger log;
    EXPECT_TRUE(log.enabled(log_level::info, "dispatcher"));
    EXPECT_FALSE(log.enabled(log_level::debug, "tcp server"));
  }
}

}  // namespace
}  // namespace roost
