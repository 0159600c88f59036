#include <roost/grpc/from_url.hpp>

#include <roost/errors.hpp>

namespace roost::grpc {
namespace {

bool read(const url& u, proto_options& o) {
  if ((u.scheme != "grpc" && u.scheme != "grpcs") || u.host.empty() || u.hosts.size() != 1) {
    return false;
  }
  o.url = u.hosts.front();
  if (!u.port) o.url += ":5000";  // NestJS's default port
  o.packages.clear();
  for (const auto& [key, value] : u.query) {
    if (value.empty() && (key == "package" || key == "protoPath" || key == "includeDirs")) {
      return false;
    }
    if (key == "package") o.packages.push_back(value);
    if (key == "protoPath") o.proto_paths.push_back(value);
    if (key == "includeDirs") o.include_dirs.push_back(value);
  }
  u.param_tls(u.scheme == "grpcs", o.tls);
  std::int64_t n = 0;
  // NestJS's names: maxSendMessageLength, maxReceiveMessageLength, and keepalive's members.
  const auto int_param = [&](std::string_view key, std::optional<int>& out) {
    if (!u.param(key)) return true;
    if (!u.param_number(key, n) || n < -1 || n > INT32_MAX) return false;
    out = static_cast<int>(n);
    return true;
  };
  const auto ms_param = [&](std::string_view key, std::optional<std::int64_t>& out) {
    if (!u.param(key)) return true;
    if (!u.param_number(key, n) || n < 0) return false;
    out = n;
    return true;
  };
  auto& k = o.keepalive;
  if (!int_param("maxSendMessageLength", o.max_send_message_length) ||
      !int_param("maxReceiveMessageLength", o.max_receive_message_length) ||
      !ms_param("keepaliveTimeMs", k.keepalive_time_ms) ||
      !ms_param("keepaliveTimeoutMs", k.keepalive_timeout_ms) ||
      !ms_param("http2MaxPingsWithoutData", k.http2_max_pings_without_data) ||
      !ms_param("http2MinTimeBetweenPingsMs", k.http2_min_time_between_pings_ms) ||
      !ms_param("http2MinPingIntervalWithoutDataMs", k.http2_min_ping_interval_without_data_ms) ||
      !ms_param("http2MaxPingStrikes", k.http2_max_ping_strikes)) {
    return false;
  }
  if (auto permit = u.param("keepalivePermitWithoutCalls")) {
    if (*permit != "true" && *permit != "false") return false;
    k.keepalive_permit_without_calls = *permit == "true";
  }
  return !o.packages.empty() && !o.proto_paths.empty();
}

template <class Options>
boost::system::result<Options> options_from(const url& u) {
  Options o;
  if (!read(u, o)) return make_error_code(error::invalid_argument);
  return o;
}

}  // namespace

boost::system::result<server_options> server_options_from(const url& u) {
  auto o = options_from<server_options>(u);
  if (!o) return o;
  if (auto health = u.param("health")) {
    if (*health != "true" && *health != "false") return make_error_code(error::invalid_argument);
    o->health = *health == "true";
  }
  if (auto reflection = u.param("reflection")) {
    if (*reflection != "true" && *reflection != "false") {
      return make_error_code(error::invalid_argument);
    }
    o->reflection = *reflection == "true";
  }
  return o;
}

boost::system::result<client_options> client_options_from(const url& u) {
  return options_from<client_options>(u);
}

}  // namespace roost::grpc
