#pragma once
/// \file roost::observability::prometheus_writer: the Prometheus text exposition format
/// (version 0.0.4), written into a string. Sans-I/O.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace roost::observability {

/// One label of a sample. The value is escaped by the writer (backslash, double quote,
/// line feed); the name must be a valid label name.
struct label {
  std::string_view name;
  std::string_view value;
};

enum class metric_type { counter, gauge, histogram, untyped };

/// Appends metric families to a string in the text format scrapers read:
///
/// \code
/// std::string text;
/// prometheus_writer w(text);
/// w.family("jobs_total", "Jobs done.", metric_type::counter);
/// const label l[] = {{"queue", "mail"}};
/// w.sample("jobs_total", l, 42);
/// \endcode
///
/// Every function checks the names it is given and returns false, writing nothing, for one
/// the format does not allow: a bad name costs the one family or sample, not the scrape.
class prometheus_writer {
 public:
  explicit prometheus_writer(std::string& out) noexcept : out_(out) {}

  /// The `# HELP` and `# TYPE` lines that start a family; its samples follow.
  bool family(std::string_view name, std::string_view help, metric_type type);
  /// One sample line: `name{labels} value`.
  bool sample(std::string_view name, std::span<const label> labels, double value);
  bool sample(std::string_view name, std::span<const label> labels, std::uint64_t value);
  /// A histogram's samples: `name_bucket{..., le="b"}` for each upper bound (ascending), then
  /// `le="+Inf"`, `name_sum` and `name_count`. `counts` holds, per bucket, the observations
  /// at most its bound and above the previous one, the last (one more than `bounds`) those
  /// above every bound: the writer makes them cumulative.
  bool histogram(std::string_view name, std::span<const label> labels,
                 std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum);

  /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
  static bool valid_metric_name(std::string_view name) noexcept;
  /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved)
  static bool valid_label_name(std::string_view name) noexcept;

 private:
  void write_labels(std::span<const label> labels, std::string_view le);
  // One sample line, `name` + `suffix`, its labels (and `le`), and the value.
  template <class Number>
  void line(std::string_view name, std::string_view suffix, std::span<const label> labels,
            std::string_view le, Number value);
  std::string& out_;
};

}  // namespace roost::observability
