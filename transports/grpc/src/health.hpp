#pragma once
/// \file The standard health service of a roost gRPC server (`grpc.health.v1.Health`, Check and
/// Watch), served from gRPC's threads: the whole server ("") and each served service are
/// SERVING once the server listens, NOT_SERVING once it stops taking calls.

#include "protos.hpp"

#include <grpcpp/generic/async_generic_service.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace roost::grpc::detail {

class health_watch;

class health_service : public std::enable_shared_from_this<health_service> {
 public:
  /// `protos` has the built-in health.proto loaded; `services` are the full names served.
  health_service(std::shared_ptr<const proto_set> protos, std::set<std::string> services);

  /// The reactor of a call of `method`, or nullptr when it is not one of this service's.
  ::grpc::ServerGenericBidiReactor* reactor(const std::string& method);

  /// Every status becomes `serving` (SERVING or NOT_SERVING); watchers hear of it.
  void set_serving(bool serving);

  // For the reactors (any gRPC thread).
  int status_of(const std::string& service);  // HealthCheckResponse.ServingStatus
  bool decode(const std::string& bytes, std::string& service) const;
  std::string encode(int status) const;
  void watch(const std::shared_ptr<health_watch>& w);
  void unwatch(const health_watch* w);

 private:
  int status_locked(const std::string& service) const;

  std::shared_ptr<const proto_set> protos_;
  const std::set<std::string> services_;
  std::mutex mutex_;
  bool serving_ = false;
  std::uint64_t version_ = 0;  // counts the changes, for watchers to drop a stale one
  std::vector<std::weak_ptr<health_watch>> watchers_;
};

}  // namespace roost::grpc::detail
