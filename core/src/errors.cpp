#include <roost/errors.hpp>

#include <roost/detail/json_writer.hpp>

namespace roost {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "roost"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::timeout:
        return "timed out";
      case error::connection_lost:
        return "connection lost";
      case error::connection_closed:
        return "connection closed";
      case error::not_connected:
        return "not connected";
      case error::payload_too_large:
        return "payload too large";
      case error::no_handler:
        return "no matching handler";
      case error::invalid_payload:
        return "invalid payload";
      case error::protocol_error:
        return "protocol error";
      case error::invalid_argument:
        return "invalid argument";
      case error::circuit_open:
        return "circuit open";
      case error::bulkhead_full:
        return "bulkhead full";
    }
    return "unknown roost error";
  }
};

std::string describe(const json::value& err) {
  if (auto* s = err.if_string()) return std::string(*s);
  if (auto* o = err.if_object()) {
    if (auto* m = o->if_contains("message"); m && m->is_string())
      return std::string(m->get_string());
  }
  return detail::to_json(err);
}

}  // namespace

const boost::system::error_category& error_category() noexcept {
  // A category must have one address for the life of the program; this constant object holds
  // no state.
  static const category instance;
  return instance;
}

rpc_exception::rpc_exception(std::string message)
    : std::runtime_error(message),
      error_(json::object{{"status", "error"}, {"message", message}}) {}

rpc_exception::rpc_exception(json::object error)
    : std::runtime_error(describe(error)), error_(std::move(error)) {}

rpc_exception::rpc_exception(json::array error)
    : std::runtime_error(describe(error)), error_(std::move(error)) {}

rpc_error::rpc_error(json::value err) : std::runtime_error(describe(err)), error_(std::move(err)) {}

std::string rpc_error::message() const {
  return describe(error_);
}

connection_error::connection_error(boost::system::error_code ec, const std::string& what)
    : std::runtime_error(what), code_(ec) {}

}  // namespace roost
