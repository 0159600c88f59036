#include <roost/config.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace roost {
namespace {

using namespace std::chrono_literals;

// The message a config of `env` is refused with, "" when it is taken.
std::string refusal(environment env) {
  try {
    config c(std::move(env));
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(config, nothing_set_leaves_the_defaults) {
  const config c(environment{});
  const microservice_options m = c.apply(microservice_options{});
  EXPECT_EQ(m.threads, 0u);
  EXPECT_EQ(m.drain_timeout, 10s);
  EXPECT_TRUE(m.handle_signals);
  const client_options o = c.apply(client_options{});
  EXPECT_EQ(o.default_timeout, 0ms);
  EXPECT_EQ(o.retry.max_attempts, 1);
  EXPECT_FALSE(o.breaker);
  EXPECT_FALSE(o.bulkhead);
  EXPECT_TRUE(o.send_deadline);
  const limits l = c.apply(limits{});
  EXPECT_EQ(l.max_message_size, limits{}.max_message_size);
  EXPECT_FALSE(c.server_url());
  EXPECT_FALSE(c.client_url());
}

TEST(config, each_variable_sets_its_option) {
  const config c(environment{
      {"ROOST_THREADS", "3"},
      {"ROOST_DRAIN_TIMEOUT", "2s"},
      {"ROOST_HANDLE_SIGNALS", "off"},
      {"ROOST_CONCURRENCY_LIMIT", "adaptive,initial=9,min=2"},
      {"ROOST_LOG_LEVEL", "warn,tcp=debug"},
      {"ROOST_LOG_FORMAT", "json"},
      {"ROOST_SERVER_URL", "tcp://0.0.0.0:3000"},
      {"ROOST_CLIENT_URL", "nats://127.0.0.1:4222"},
      {"ROOST_MAX_MESSAGE_SIZE", "4096"},
      {"ROOST_MAX_IN_FLIGHT", "100"},
      {"ROOST_MAX_IN_FLIGHT_PER_CONNECTION", "10"},
      {"ROOST_MAX_CONNECTIONS", "50"},
      {"ROOST_CLIENT_TIMEOUT", "1500"},
      {"ROOST_SEND_DEADLINE", "false"},
      {"ROOST_RETRY_MAX_ATTEMPTS", "4"},
      {"ROOST_RETRY_INITIAL_BACKOFF", "20ms"},
      {"ROOST_RETRY_MAX_BACKOFF", "1m"},
      {"ROOST_BREAKER_FAILURES", "7"},
      {"ROOST_BREAKER_OPEN_FOR", "30s"},
      {"ROOST_BULKHEAD_MAX_IN_FLIGHT", "16"},
      {"ROOST_BULKHEAD_MAX_WAITING", "8"},
      {"ROOST_BULKHEAD_MAX_WAIT", "250ms"},
      {"ROOST_SIDE_PORT", "0.0.0.0:9464"},
      {"OTEL_SERVICE_NAME", "orders"},
      {"ROOST_SOMETHING_ELSE", "left alone"},
  });
  const microservice_options m = c.apply(microservice_options{});
  EXPECT_EQ(m.threads, 3u);
  EXPECT_EQ(m.drain_timeout, 2s);
  EXPECT_FALSE(m.handle_signals);
  ASSERT_TRUE(m.concurrency_limit);
  EXPECT_EQ(m.concurrency_limit->initial_limit, 9u);
  EXPECT_EQ(m.concurrency_limit->min_limit, 2u);

  const client_options o = c.apply(client_options{});
  EXPECT_EQ(o.default_timeout, 1500ms);
  EXPECT_FALSE(o.send_deadline);
  EXPECT_EQ(o.retry.max_attempts, 4);
  EXPECT_EQ(o.retry.initial_backoff, 20ms);
  EXPECT_EQ(o.retry.max_backoff, 60s);
  ASSERT_TRUE(o.breaker);
  ASSERT_TRUE(o.bulkhead);
  // The breaker opens after its 7th failure in a row, not before.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(o.breaker->try_acquire());
    o.breaker->on_failure();
  }
  EXPECT_EQ(o.breaker->state(), circuit_state::closed);
  ASSERT_TRUE(o.breaker->try_acquire());
  o.breaker->on_failure();
  EXPECT_EQ(o.breaker->state(), circuit_state::open);

  const limits l = c.apply(limits{});
  EXPECT_EQ(l.max_message_size, 4096u);
  EXPECT_EQ(l.max_in_flight, 100u);
  EXPECT_EQ(l.max_in_flight_per_connection, 10u);
  EXPECT_EQ(l.max_connections, 50u);

  EXPECT_EQ(c.server_url(), "tcp://0.0.0.0:3000");
  EXPECT_EQ(c.client_url(), "nats://127.0.0.1:4222");
  EXPECT_EQ(c.get("ROOST_SIDE_PORT"), "0.0.0.0:9464");
  EXPECT_EQ(c.get("OTEL_SERVICE_NAME"), "orders");
}

TEST(config, what_is_not_set_keeps_the_program_s_own_values) {
  const config c(environment{{"ROOST_THREADS", "2"}, {"ROOST_THREADS_TYPO", "x"}});
  microservice_options mine;
  mine.drain_timeout = 3s;
  mine.handle_signals = false;
  const auto m = c.apply(mine);
  EXPECT_EQ(m.threads, 2u);
  EXPECT_EQ(m.drain_timeout, 3s);
  EXPECT_FALSE(m.handle_signals);
  // An empty value counts as unset.
  const config empty(environment{{"ROOST_THREADS", ""}});
  EXPECT_EQ(empty.apply(mine).threads, 0u);
}

TEST(config, bad_values_are_refused_naming_variable_value_and_what_it_takes) {
  EXPECT_EQ(refusal({{"ROOST_THREADS", "lots"}}),
            "ROOST_THREADS=\"lots\": expected a whole number (0: one thread per hardware thread)");
  EXPECT_EQ(refusal({{"ROOST_DRAIN_TIMEOUT", "10 seconds"}}),
            "ROOST_DRAIN_TIMEOUT=\"10 seconds\": expected a duration: a whole number of "
            "milliseconds, or with a unit: 250ms, 10s, 2m");
  EXPECT_EQ(refusal({{"ROOST_HANDLE_SIGNALS", "maybe"}}),
            "ROOST_HANDLE_SIGNALS=\"maybe\": expected true or false (also 1/0, yes/no, on/off)");
  EXPECT_NE(refusal({{"ROOST_CONCURRENCY_LIMIT", "adaptive,fast=yes"}})
                .find("ROOST_CONCURRENCY_LIMIT=\"adaptive,fast=yes\": expected off, or adaptive"),
            std::string::npos);
  EXPECT_NE(refusal({{"ROOST_LOG_LEVEL", "loud"}}).find("ROOST_LOG_LEVEL=\"loud\": expected"),
            std::string::npos);
  EXPECT_NE(refusal({{"ROOST_LOG_FORMAT", "xml"}}).find("ROOST_LOG_FORMAT=\"xml\": expected"),
            std::string::npos);
  EXPECT_NE(refusal({{"ROOST_SERVER_URL", "not a url"}}).find("ROOST_SERVER_URL="),
            std::string::npos);
  EXPECT_NE(refusal({{"ROOST_MAX_IN_FLIGHT", "-1"}}).find("ROOST_MAX_IN_FLIGHT=\"-1\""),
            std::string::npos);
  EXPECT_NE(refusal({{"ROOST_RETRY_MAX_ATTEMPTS", "0"}}).find("1 or more"), std::string::npos);
  EXPECT_NE(refusal({{"ROOST_CLIENT_TIMEOUT", "5d"}}).find("ROOST_CLIENT_TIMEOUT"),
            std::string::npos);
  EXPECT_NE(refusal({{"ROOST_SEND_DEADLINE", "2"}}).find("ROOST_SEND_DEADLINE"), std::string::npos);
  EXPECT_NE(refusal({{"ROOST_BULKHEAD_MAX_WAIT", "99999999999999999999"}}).find("MAX_WAIT"),
            std::string::npos);
  // Every bad one at once, one a line, so that one run shows them all.
  EXPECT_EQ(refusal({{"ROOST_THREADS", "x"}, {"ROOST_MAX_CONNECTIONS", "y"}}),
            "ROOST_THREADS=\"x\": expected a whole number (0: one thread per hardware thread)\n"
            "ROOST_MAX_CONNECTIONS=\"y\": expected a whole number (0: no limit)");
  // A bad URL's password is masked in the message too.
  const std::string bad_url = refusal({{"ROOST_CLIENT_URL", "amqp://u:hunter2@h:notaport/"}});
  EXPECT_EQ(bad_url.find("hunter2"), std::string::npos) << bad_url;
  EXPECT_NE(bad_url.find("amqp://u:***@h:notaport/"), std::string::npos) << bad_url;
}

TEST(config, secrets_are_masked) {
  EXPECT_EQ(config::mask("ROOST_CLIENT_SECRET", "s3cret"), "***");
  EXPECT_EQ(config::mask("MY_API_TOKEN", "abc"), "***");
  EXPECT_EQ(config::mask("DB_PASSWORD", "abc"), "***");
  EXPECT_EQ(config::mask("ROOST_CLIENT_ID", "billing"), "billing");
  EXPECT_EQ(config::mask("ROOST_SERVER_URL", "amqp://guest:guest@host:5672/?queue=orders"),
            "amqp://guest:***@host:5672/?queue=orders");
  EXPECT_EQ(config::mask("ROOST_SERVER_URL", "redis://:p%40ss@host"), "redis://:***@host");
  EXPECT_EQ(config::mask("ROOST_CLIENT_URL", "nats://s3cr3tt0ken@a:4222,b:4222"),
            "nats://***@a:4222,b:4222");
  EXPECT_EQ(config::mask("ROOST_CLIENT_URL", "nats://user:pw@a:4222"), "nats://user:***@a:4222");
  EXPECT_EQ(config::mask("ROOST_CLIENT_URL",
                         "kafka://b1:9092/?sasl.password=pw&groupId=g&token=t&key=client.key"),
            "kafka://b1:9092/?sasl.password=***&groupId=g&token=***&key=client.key");
  EXPECT_EQ(config::mask("ROOST_SERVER_URL", "tcp://0.0.0.0:3000"), "tcp://0.0.0.0:3000");
  EXPECT_EQ(config::mask("ROOST_LOG_LEVEL", "info"), "info");

  const config c(environment{{"ROOST_CLIENT_SECRET", "s3cret"},
                             {"ROOST_SERVER_URL", "amqps://app:hunter2@mq:5671/?queue=q"}});
  const std::string lines = c.to_lines();
  const std::string json = c.to_json();
  for (const auto* text : {&lines, &json}) {
    EXPECT_EQ(text->find("s3cret"), std::string::npos) << *text;
    EXPECT_EQ(text->find("hunter2"), std::string::npos) << *text;
  }
  EXPECT_NE(lines.find("ROOST_CLIENT_SECRET=***\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("ROOST_SERVER_URL=amqps://app:***@mq:5671/?queue=q\n"), std::string::npos);
}

TEST(config, effective_configuration_as_lines_and_json) {
  const config c(environment{{"ROOST_THREADS", "4"}});
  const std::string lines = c.to_lines();
  EXPECT_NE(lines.find("ROOST_THREADS=4\n"), std::string::npos);
  EXPECT_NE(lines.find("ROOST_DRAIN_TIMEOUT=10s\n"), std::string::npos);
  EXPECT_NE(lines.find("ROOST_SIDE_PORT=(unset)\n"), std::string::npos);
  // One line per variable, in the table's order.
  std::istringstream in(lines);
  std::string line;
  std::size_t i = 0;
  for (; std::getline(in, line); ++i) {
    ASSERT_LT(i, config::variables().size());
    EXPECT_TRUE(line.starts_with(std::string(config::variables()[i].name) + "=")) << line;
  }
  EXPECT_EQ(i, config::variables().size());

  const auto json = boost::json::parse(c.to_json()).as_object();
  EXPECT_EQ(json.size(), config::variables().size());
  EXPECT_EQ(json.at("ROOST_THREADS").at("value"), "4");
  EXPECT_EQ(json.at("ROOST_THREADS").at("source"), "environment");
  EXPECT_EQ(json.at("ROOST_DRAIN_TIMEOUT").at("value"), "10s");
  EXPECT_EQ(json.at("ROOST_DRAIN_TIMEOUT").at("source"), "default");
  EXPECT_TRUE(json.at("ROOST_SIDE_PORT").at("value").is_null());
}

TEST(config, print_if_asked) {
  const config c(environment{{"ROOST_THREADS", "4"}});
  std::FILE* out = std::tmpfile();
  ASSERT_TRUE(out);
  const char* plain[] = {"svc", "3000"};
  EXPECT_FALSE(c.print_if_asked(2, plain, out));
  const char* asked[] = {"svc", "3000", "--print-config=json"};
  EXPECT_EQ(c.print_if_asked(3, asked, out), 0);
  std::rewind(out);
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, out)) text.append(buf, n);
  std::fclose(out);
  EXPECT_EQ(text, c.to_json());
}

// docs/operations.md's table of variables is this table: a variable added, renamed or
// changed in the code fails here until the page says the same.
TEST(config, the_docs_table_is_the_code_s) {
  std::ifstream f(ROOST_DOCS_DIR "/operations.md");
  ASSERT_TRUE(f) << "cannot read " ROOST_DOCS_DIR "/operations.md";
  std::vector<std::string> documented;
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with("| `ROOST_") || line.starts_with("| `OTEL_")) documented.push_back(line);
  }
  std::vector<std::string> expected;
  std::string table;
  for (const auto& v : config::variables()) {
    expected.push_back("| `" + std::string(v.name) + "` | " + std::string(v.sets) + " | " +
                       std::string(v.expected) + " | " + std::string(v.fallback) +
                       (v.secret ? " (secret: printed masked)" : "") + " |");
    table += expected.back() + "\n";
  }
  EXPECT_EQ(documented, expected) << "docs/operations.md should list, under its heading "
                                     "\"| variable | sets | takes | default |\":\n"
                                  << table;
}

}  // namespace
}  // namespace roost
