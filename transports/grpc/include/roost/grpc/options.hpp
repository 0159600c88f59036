#pragma once
/// \file Options of the gRPC transport (NestJS `Transport.GRPC`), with NestJS's names and
/// defaults.

#include <roost/log.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace roost::grpc {

/// What both sides share: where the peer is and which `.proto` files describe its services.
/// The files are loaded when the server listens or the client connects.
struct proto_options {
  /// `host:port` to listen on or to call (NestJS's `url`, default `localhost:5000`).
  std::string url = "localhost:5000";
  /// The proto packages whose services are served or called (NestJS's `package`, one or
  /// several); every service declared in one of them, or in a package nested in it, counts.
  std::vector<std::string> packages;
  /// The `.proto` files (NestJS's `protoPath`): absolute, or relative to the working
  /// directory or to one of `include_dirs`. Their imports are looked up beside them, in
  /// `include_dirs`, then in the system's protobuf includes (`google/protobuf/...`).
  std::vector<std::string> proto_paths;
  /// More directories to find `.proto` files and their imports in (NestJS's
  /// `loader.includeDirs`).
  std::vector<std::string> include_dirs;
  roost::logger log;
};

struct server_options : proto_options {};

struct client_options : proto_options {};

}  // namespace roost::grpc
