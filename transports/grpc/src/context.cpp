#include <roost/grpc/context.hpp>

namespace roost::grpc {

context::context(json::value pattern, std::string method, roost::headers h,
                 std::optional<std::chrono::system_clock::time_point> deadline,
                 std::shared_ptr<const std::atomic<bool>> cancelled,
                 std::shared_ptr<roost::detail::request_channel> requests)
    : roost::context("grpc", std::move(pattern), std::nullopt, std::move(h)),
      method_(std::move(method)),
      cancelled_(std::move(cancelled)),
      requests_(std::move(requests)) {
  // gRPC's deadline wins over an `x-roost-deadline` in the metadata.
  if (deadline) set_deadline(deadline);
}

}  // namespace roost::grpc
