#pragma once
/// \file roost::grpc::context: what a handler knows about a gRPC call.

#include <roost/context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace roost::grpc {

/// The context of one gRPC call. Its headers() are the call's metadata (names lowercased, as
/// gRPC gives them), so guards such as the JWT guard read `authorization` as on any transport.
/// The call's gRPC deadline is the base's deadline() (and remaining()), which handlers, the
/// dispatcher and call_options::from(ctx) read on every transport.
class context final : public roost::context {
 public:
  context(json::value pattern, std::string method, roost::headers h,
          std::optional<std::chrono::system_clock::time_point> deadline,
          std::shared_ptr<const std::atomic<bool>> cancelled,
          std::shared_ptr<roost::detail::request_channel> requests = nullptr);

  /// The method's path, `/package.Service/Method`.
  const std::string& method() const noexcept { return method_; }
  /// The first value of metadata `key` (lowercase), or nullptr.
  const std::string* header(std::string_view key) const { return headers().get(key); }
  /// True once the client cancelled the call, its deadline passed or the server closed: any
  /// reply is then dropped, and a long handler may stop early.
  bool cancelled() const noexcept { return cancelled_ && cancelled_->load(); }
  /// The requests of a client or bidirectional streaming method.
  std::shared_ptr<roost::detail::request_channel> request_stream() override { return requests_; }

 private:
  std::string method_;
  std::shared_ptr<const std::atomic<bool>> cancelled_;
  std::shared_ptr<roost::detail::request_channel> requests_;
};

}  // namespace roost::grpc
