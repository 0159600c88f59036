#include <roost/saga/record.hpp>

#include <array>
#include <utility>

namespace roost::saga {

namespace {

constexpr std::array<std::pair<status, std::string_view>, 5> status_names{{
    {status::running, "running"},
    {status::compensating, "compensating"},
    {status::completed, "completed"},
    {status::compensated, "compensated"},
    {status::failed_compensation, "failed_compensation"},
}};

constexpr std::array<std::pair<event_kind, std::string_view>, 8> kind_names{{
    {event_kind::saga_started, "saga_started"},
    {event_kind::step_started, "step_started"},
    {event_kind::step_succeeded, "step_succeeded"},
    {event_kind::step_failed, "step_failed"},
    {event_kind::compensation_started, "compensation_started"},
    {event_kind::compensation_succeeded, "compensation_succeeded"},
    {event_kind::compensation_failed, "compensation_failed"},
    {event_kind::saga_finished, "saga_finished"},
}};

std::string string_at(const json::value& data, std::string_view key) {
  if (const auto* o = data.if_object()) {
    if (const auto* v = o->if_contains(key)) {
      if (const auto* s = v->if_string()) return std::string(*s);
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(status s) noexcept {
  for (const auto& [v, name] : status_names) {
    if (v == s) return name;
  }
  return "unknown";
}

std::optional<status> status_from_string(std::string_view s) noexcept {
  for (const auto& [v, name] : status_names) {
    if (name == s) return v;
  }
  return std::nullopt;
}

std::string_view to_string(event_kind k) noexcept {
  for (const auto& [v, name] : kind_names) {
    if (v == k) return name;
  }
  return "unknown";
}

std::optional<event_kind> event_kind_from_string(std::string_view s) noexcept {
  for (const auto& [v, name] : kind_names) {
    if (name == s) return v;
  }
  return std::nullopt;
}

void apply(record& r, const event& e) {
  r.seq = e.seq;
  r.updated_ms = e.at_ms;
  switch (e.kind) {
    case event_kind::saga_started:
      r.state = status::running;
      r.input = e.data;
      r.step = 0;
      r.in_flight = false;
      r.created_ms = e.at_ms;
      break;
    case event_kind::step_started:
    case event_kind::compensation_started:
      r.step = e.step;
      r.in_flight = true;
      break;
    case event_kind::step_succeeded:
      if (const auto* o = e.data.if_object()) {
        const auto* reply = o->if_contains("reply");
        r.replies[string_at(e.data, "name")] = reply ? *reply : json::value();
      }
      r.step = e.step + 1;
      r.in_flight = false;
      break;
    case event_kind::step_failed: {
      r.state = status::compensating;
      r.error = string_at(e.data, "error");
      // An action whose outcome is unknown (timeout, lost connection) may have taken effect:
      // its own compensation runs first.
      const auto* o = e.data.if_object();
      const auto* known = o ? o->if_contains("outcome_known") : nullptr;
      const bool outcome_known = known && known->is_bool() && known->get_bool();
      r.step = outcome_known ? e.step - 1 : e.step;
      r.in_flight = false;
      break;
    }
    case event_kind::compensation_succeeded:
      r.step = e.step - 1;
      r.in_flight = false;
      break;
    case event_kind::compensation_failed:
      r.error = string_at(e.data, "error");
      r.step = e.step;
      r.in_flight = false;
      break;
    case event_kind::saga_finished:
      r.state = status_from_string(string_at(e.data, "status")).value_or(status::completed);
      r.in_flight = false;
      break;
  }
}

record fold(const std::vector<event>& events) {
  record r;
  for (const auto& e : events) apply(r, e);
  return r;
}

json::value to_json(const record& r) {
  return json::object{{"id", r.id},
                      {"name", r.name},
                      {"status", to_string(r.state)},
                      {"step", r.step},
                      {"in_flight", r.in_flight},
                      {"input", r.input},
                      {"replies", r.replies},
                      {"error", r.error},
                      {"seq", r.seq},
                      {"created_ms", r.created_ms},
                      {"updated_ms", r.updated_ms}};
}

json::value to_json(const event& e) {
  return json::object{{"seq", e.seq},
                      {"kind", to_string(e.kind)},
                      {"step", e.step},
                      {"data", e.data},
                      {"at_ms", e.at_ms}};
}

}  // namespace roost::saga
