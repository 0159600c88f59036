#pragma once
/// \file Options of the gRPC transport (NestJS `Transport.GRPC`), with NestJS's names and
/// defaults.

#include <roost/log.hpp>
#include <roost/tls_options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace roost::grpc {

/// Keepalive pings (NestJS's `keepalive`, the gRPC channel arguments of the same meaning);
/// each one unset keeps gRPC's default.
struct keepalive_options {
  std::optional<std::int64_t> keepalive_time_ms;  ///< `keepaliveTimeMs`: ping this often
  std::optional<std::int64_t>
      keepalive_timeout_ms;  ///< `keepaliveTimeoutMs`: wait this for the ack
  /// `keepalivePermitWithoutCalls`: ping with no call in flight too
  std::optional<bool> keepalive_permit_without_calls;
  /// `http2MaxPingsWithoutData`: pings sent without data before the next data (0: no limit)
  std::optional<std::int64_t> http2_max_pings_without_data;
  /// `http2MinTimeBetweenPingsMs`: the least time between two pings sent without data
  std::optional<std::int64_t> http2_min_time_between_pings_ms;
  /// `http2MinPingIntervalWithoutDataMs` (server): the least time between two pings received
  /// without data, below which a ping is a strike
  std::optional<std::int64_t> http2_min_ping_interval_without_data_ms;
  /// `http2MaxPingStrikes` (server): strikes before the connection is closed (0: no limit)
  std::optional<std::int64_t> http2_max_ping_strikes;
};

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
  /// TLS (`grpcs://`, or the URL's `ca`, `cert`, `key`, `servername`): a server needs a
  /// certificate and key, and with `ca` requires client certificates signed by it (mutual
  /// TLS); a client trusts `ca` (the system's CAs without), and presents `cert` and `key` when
  /// given. Unset: plain text. A client's `verify_peer = false` is refused (gRPC always
  /// verifies).
  std::optional<tls_options> tls;
  /// The largest message this side sends (NestJS's `maxSendMessageLength`); -1 or unset: no
  /// limit. A larger one fails its call with RESOURCE_EXHAUSTED.
  std::optional<int> max_send_message_length;
  /// The largest message this side takes (NestJS's `maxReceiveMessageLength`); unset: 4 MiB,
  /// gRPC's default; -1: no limit. A larger one fails its call with RESOURCE_EXHAUSTED.
  std::optional<int> max_receive_message_length;
  keepalive_options keepalive;
  roost::logger log;
};

struct server_options : proto_options {
  /// Serves the standard health service, `grpc.health.v1.Health` (Check and Watch): the
  /// whole server ("") and each service with a handler are SERVING once listening, and
  /// NOT_SERVING once the server stops taking calls (URL: `health=false` turns it off).
  bool health = true;
  /// Serves server reflection, `grpc.reflection.v1alpha.ServerReflection` and `v1`'s (what
  /// grpcurl and Postman call): the services, and the loaded `.proto` files by name or symbol.
  /// Off by default: it shows the whole API (URL: `reflection=true`).
  bool reflection = false;
};

struct client_options : proto_options {};

}  // namespace roost::grpc
