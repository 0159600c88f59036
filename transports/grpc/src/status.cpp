#include "status.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <string_view>

namespace roost::grpc::detail {

namespace {

constexpr std::array<std::string_view, 17> code_names = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

std::string text_of(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  return boost::json::serialize(v);
}

}  // namespace

::grpc::Status status_of_error(const json::value& err) {
  const auto* o = err.if_object();
  if (!o) return ::grpc::Status(::grpc::StatusCode::UNKNOWN, text_of(err));
  const auto* message = o->if_contains("message");
  std::string details = message ? text_of(*message) : "Unknown Error";
  auto code = ::grpc::StatusCode::UNKNOWN;
  if (const auto* c = o->if_contains("code");
      c && (c->is_int64() || c->is_uint64() || c->is_double())) {
    const double n = c->is_double()  ? c->get_double()
                     : c->is_int64() ? static_cast<double>(c->get_int64())
                                     : static_cast<double>(c->get_uint64());
    if (n >= 1 && n <= 16 && n == static_cast<int>(n)) {
      code = static_cast<::grpc::StatusCode>(static_cast<int>(n));
      if (const auto* d = o->if_contains("details"); d && d->is_string()) {
        details = std::string(d->get_string());
      }
    }
  }
  return ::grpc::Status(code, details);
}

json::value error_of_status(const ::grpc::Status& s) {
  const auto code = static_cast<int>(s.error_code());
  const std::string_view name =
      code >= 0 && code < static_cast<int>(code_names.size()) ? code_names[code] : "UNKNOWN";
  return json::object{
      {"code", code},
      {"details", s.error_message()},
      {"message", std::to_string(code) + " " + std::string(name) + ": " + s.error_message()}};
}

}  // namespace roost::grpc::detail
