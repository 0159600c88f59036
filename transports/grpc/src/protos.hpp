#pragma once
/// \file The `.proto` files of a gRPC server or client, loaded at run time, and the conversion
/// of their messages to and from JSON. No protobuf header here: the server and client sources
/// include gRPC's already, the rest of the build neither.

#include <roost/grpc/options.hpp>
#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roost::grpc::detail {

/// One method of a service of the configured packages.
struct method_info {
  std::string path;          ///< `/package.Service/Method`, as on the wire
  std::string service;       ///< `Service`
  std::string service_full;  ///< `package.Service`
  std::string rpc;           ///< `Method`
  bool client_streaming = false;
  bool server_streaming = false;
  std::string input_type;   ///< type URL of the request message
  std::string output_type;  ///< type URL of the response message
};

/// The loaded protos. Immutable once loaded; its conversions may be called from any thread.
class proto_set {
 public:
  /// Loads `o.proto_paths` and collects the services of `o.packages`; `builtins` names
  /// built-in files (builtin_protos.hpp) loaded too, for their messages (their services count
  /// only when in `o.packages`). Throws std::invalid_argument with the protobuf parser's
  /// errors, or naming the missing package.
  static std::shared_ptr<const proto_set> load(const proto_options& o,
                                               const std::vector<std::string>& builtins = {});
  ~proto_set();

  const std::vector<method_info>& methods() const noexcept { return methods_; }
  /// The method `rpc` of the service named `service` (its name, or its full name).
  const method_info* find(std::string_view service, std::string_view rpc) const noexcept;

  /// A message of `type_url` from its wire bytes to JSON (docs/transports/grpc.md: lowerCamelCase
  /// names, fields at their default value left out, enums as numbers, 64-bit integers and bytes
  /// as strings). False with `error` set on bytes that do not decode.
  /// `direct = false` converts with protobuf's conversion alone (wire_json.hpp; for tests).
  bool to_json(const std::string& type_url, const std::string& binary, json::value& out,
               std::string& error, bool direct = true) const;
  /// JSON to the wire bytes of a message of `type_url` (field names in either case, unknown
  /// ones ignored). False with `error` set when the value does not fit the message.
  bool to_binary(const std::string& type_url, const json::value& value, std::string& out,
                 std::string& error, bool direct = true) const;

  /// The serialized FileDescriptorProto of the file named `name` (`by_symbol`: of the file
  /// declaring the symbol `name`, a service, message, enum...), then of each file it imports,
  /// for server reflection; empty when there is no such file or symbol.
  std::vector<std::string> files_of(std::string_view name, bool by_symbol) const;

  struct impl;

 private:
  explicit proto_set(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
  std::vector<method_info> methods_;
};

}  // namespace roost::grpc::detail
