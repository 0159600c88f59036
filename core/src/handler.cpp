#include <roost/detail/handler.hpp>

namespace roost::detail {

awaitable<handler_result> erased_handler::operator()(json::value& data, context& ctx) const {
  if (sync_) co_return sync_(data, ctx);
  auto r = co_await async_(data, ctx);
  co_return r;
}

}  // namespace roost::detail

namespace roost::detail {

std::shared_ptr<request_channel> requests_of(json::value& data, context& ctx) {
  if (auto requests = ctx.request_stream()) return requests;
  return single_request(std::move(data));
}

}  // namespace roost::detail
