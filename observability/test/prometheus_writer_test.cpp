// The Prometheus text format as scrapers read it: HELP/TYPE lines, label escaping, histograms.

#include <roost/observability/prometheus_writer.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace roost::observability {
namespace {

TEST(prometheus_writer, family_has_help_then_type) {
  std::string text;
  prometheus_writer w(text);
  EXPECT_TRUE(w.family("jobs_total", "Jobs done.", metric_type::counter));
  EXPECT_TRUE(w.family("queue_depth", "Waiting.", metric_type::gauge));
  EXPECT_TRUE(w.family("wait_seconds", "Waits.", metric_type::histogram));
  EXPECT_EQ(text,
            "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\n"
            "# HELP queue_depth Waiting.\n# TYPE queue_depth gauge\n"
            "# HELP wait_seconds Waits.\n# TYPE wait_seconds histogram\n");
}

TEST(prometheus_writer, help_escapes_backslash_and_line_feed_only) {
  std::string text;
  prometheus_writer w(text);
  w.family("a", "C:\\dir \"quoted\"\nnext", metric_type::untyped);
  EXPECT_EQ(text, "# HELP a C:\\\\dir \"quoted\"\\nnext\n# TYPE a untyped\n");
}

TEST(prometheus_writer, label_values_escape_backslash_quote_and_line_feed) {
  std::string text;
  prometheus_writer w(text);
  const label l[] = {{"pattern", "a\"b\\c\nd"}, {"transport", "tcp"}};
  EXPECT_TRUE(w.sample("m", l, std::uint64_t{3}));
  EXPECT_EQ(text, "m{pattern=\"a\\\"b\\\\c\\nd\",transport=\"tcp\"} 3\n");
}

TEST(prometheus_writer, a_sample_without_labels_has_no_braces) {
  std::string text;
  prometheus_writer w(text);
  w.sample("up", {}, 1.0);
  w.sample("ratio", {}, 0.25);
  EXPECT_EQ(text, "up 1\nratio 0.25\n");
}

TEST(prometheus_writer, special_values_are_spelled_as_the_format_wants) {
  std::string text;
  prometheus_writer w(text);
  w.sample("a", {}, std::numeric_limits<double>::infinity());
  w.sample("b", {}, -std::numeric_limits<double>::infinity());
  w.sample("c", {}, std::nan(""));
  w.sample("d", {}, std::uint64_t{18446744073709551615u});
  EXPECT_EQ(text, "a +Inf\nb -Inf\nc NaN\nd 18446744073709551615\n");
}

TEST(prometheus_writer, histogram_buckets_are_cumulative_and_end_with_inf) {
  std::string text;
  prometheus_writer w(text);
  const label l[] = {{"pattern", "sum"}};
  const double bounds[] = {0.005, 0.1, 1};
  const std::uint64_t counts[] = {2, 0, 3, 1};  // per bucket; the last is above 1
  EXPECT_TRUE(w.histogram("t_seconds", l, bounds, counts, 4.5));
  EXPECT_EQ(text,
            "t_seconds_bucket{pattern=\"sum\",le=\"0.005\"} 2\n"
            "t_seconds_bucket{pattern=\"sum\",le=\"0.1\"} 2\n"
            "t_seconds_bucket{pattern=\"sum\",le=\"1\"} 5\n"
            "t_seconds_bucket{pattern=\"sum\",le=\"+Inf\"} 6\n"
            "t_seconds_sum{pattern=\"sum\"} 4.5\n"
            "t_seconds_count{pattern=\"sum\"} 6\n");
}

TEST(prometheus_writer, bad_names_write_nothing) {
  std::string text;
  prometheus_writer w(text);
  EXPECT_FALSE(w.family("1abc", "x", metric_type::gauge));
  EXPECT_FALSE(w.family("a-b", "x", metric_type::gauge));
  EXPECT_FALSE(w.sample("", {}, 1.0));
  const label bad_label[] = {{"a:b", "x"}};
  EXPECT_FALSE(w.sample("m", bad_label, 1.0));
  const label reserved[] = {{"__name", "x"}};
  EXPECT_FALSE(w.sample("m", reserved, 1.0));
  const label le[] = {{"le", "x"}};
  const double bounds[] = {1};
  const std::uint64_t counts[] = {1, 1};
  EXPECT_FALSE(w.histogram("h", le, bounds, counts, 1));
  const std::uint64_t short_counts[] = {1};
  EXPECT_FALSE(w.histogram("h", {}, bounds, short_counts, 1));
  EXPECT_EQ(text, "");
  EXPECT_TRUE(prometheus_writer::valid_metric_name("roost:server_x_total"));
  EXPECT_TRUE(prometheus_writer::valid_label_name("_x9"));
  EXPECT_FALSE(prometheus_writer::valid_label_name("9x"));
}

}  // namespace
}  // namespace roost::observability
