#include <roost/kafka/context.hpp>
#include <roost/kafka/retriable_exception.hpp>

namespace roost::kafka {

retriable_exception::retriable_exception(roost::context& ctx, std::string message)
    : rpc_exception(std::move(message)) {
  if (auto* k = ctx.as<kafka::context>(); k && k->retriable_) k->retriable_(error());
}

retriable_exception::retriable_exception(roost::context& ctx, json::object error)
    : rpc_exception(std::move(error)) {
  if (auto* k = ctx.as<kafka::context>(); k && k->retriable_) k->retriable_(this->error());
}

}  // namespace roost::kafka
