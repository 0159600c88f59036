#include <roost/grpc/from_url.hpp>

#include <roost/errors.hpp>

namespace roost::grpc {
namespace {

bool read(const url& u, proto_options& o) {
  if (u.scheme != "grpc" || u.host.empty() || u.hosts.size() != 1) return false;
  o.url = u.hosts.front();
  if (!u.port) o.url += ":5000";  // NestJS's default port
  o.packages.clear();
  for (const auto& [key, value] : u.query) {
    // TLS is not there yet: a URL asking for it is refused rather than served in plain text.
    if (key == "ca" || key == "cert" || key == "key" || key == "verify" || key == "servername") {
      return false;
    }
    if (value.empty() && (key == "package" || key == "protoPath" || key == "includeDirs")) {
      return false;
    }
    if (key == "package") o.packages.push_back(value);
    if (key == "protoPath") o.proto_paths.push_back(value);
    if (key == "includeDirs") o.include_dirs.push_back(value);
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
  return options_from<server_options>(u);
}

boost::system::result<client_options> client_options_from(const url& u) {
  return options_from<client_options>(u);
}

}  // namespace roost::grpc
