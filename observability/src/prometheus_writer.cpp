#include <roost/observability/prometheus_writer.hpp>

#include <charconv>
#include <cmath>

namespace roost::observability {
namespace {

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon)) return false;
  }
  return true;
}

bool valid_labels(std::span<const label> labels) {
  for (const auto& l : labels) {
    if (!prometheus_writer::valid_label_name(l.name)) return false;
  }
  return true;
}

// HELP text escapes backslash and line feed; label values double quotes too.
void escape(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

std::string_view type_name(metric_type t) {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
    case metric_type::untyped:
      break;
  }
  return "untyped";
}

}  // namespace

bool prometheus_writer::valid_metric_name(std::string_view name) noexcept {
  return valid_name(name, true);
}

bool prometheus_writer::valid_label_name(std::string_view name) noexcept {
  return valid_name(name, false) && !name.starts_with("__");
}

bool prometheus_writer::family(std::string_view name, std::string_view help, metric_type type) {
  if (!valid_metric_name(name)) return false;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  escape(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
  return true;
}

void prometheus_writer::write_labels(std::span<const label> labels, std::string_view le) {
  if (labels.empty() && le.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += l.name;
    out_ += "=\"";
    escape(out_, l.value, true);
    out_ += '"';
  }
  if (!le.empty()) {
    if (!first) out_ += ',';
    out_ += "le=\"";
    out_ += le;
    out_ += '"';
  }
  out_ += '}';
}

template <class Number>
void prometheus_writer::line(std::string_view name, std::string_view suffix,
                             std::span<const label> labels, std::string_view le, Number value) {
  out_ += name;
  out_ += suffix;
  write_labels(labels, le);
  out_ += ' ';
  append_number(out_, value);
  out_ += '\n';
}

bool prometheus_writer::sample(std::string_view name, std::span<const label> labels, double value) {
  if (!valid_metric_name(name) || !valid_labels(labels)) return false;
  line(name, {}, labels, {}, value);
  return true;
}

bool prometheus_writer::sample(std::string_view name, std::span<const label> labels,
                               std::uint64_t value) {
  if (!valid_metric_name(name) || !valid_labels(labels)) return false;
  line(name, {}, labels, {}, value);
  return true;
}

bool prometheus_writer::histogram(std::string_view name, std::span<const label> labels,
                                  std::span<const double> bounds,
                                  std::span<const std::uint64_t> counts, double sum) {
  if (!valid_metric_name(name) || !valid_labels(labels) || counts.size() != bounds.size() + 1) {
    return false;
  }
  for (const auto& l : labels) {
    if (l.name == "le") return false;  // the buckets' own label
  }
  std::uint64_t total = 0;
  std::string le;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    total += counts[i];
    le.clear();
    if (i < bounds.size()) {
      append_number(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    line(name, "_bucket", labels, le, total);
  }
  line(name, "_sum", labels, {}, sum);
  line(name, "_count", labels, {}, total);
  return true;
}

}  // namespace roost::observability
