#include <roost/grpc/context.hpp>

namespace roost::grpc {

context::context(json::value pattern, std::string method, roost::headers h,
                 std::optional<std::chrono::system_clock::time_point> deadline,
                 std::shared_ptr<const std::atomic<bool>> cancelled,
                 std::shared_ptr<roost::detail::request_channel> requests)
    : roost::context("grpc", std::move(pattern), std::nullopt, std::move(h)),
      method_(std::move(method)),
      deadline_(deadline),
      cancelled_(std::move(cancelled)),
      requests_(std::move(requests)) {
  // The base's deadline() is gRPC's too: call_options::from(ctx) and the dispatcher read it.
  if (deadline) set_deadline(deadline);
}

}  // namespace roost::grpc
