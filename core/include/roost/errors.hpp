#pragma once
/// \file Exceptions thrown by roost's coroutine API and the error codes of its transports.

#include <roost/json.hpp>

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

namespace roost {

/// Conditions shared by every transport (DESIGN §6).
enum class error {
  timeout = 1,        ///< a call did not complete in time
  connection_lost,    ///< the connection dropped while calls were pending
  connection_closed,  ///< the client was closed by the application
  not_connected,      ///< could not connect
  payload_too_large,  ///< a message exceeded a configured limit
  no_handler,         ///< no handler for the pattern
  invalid_payload,    ///< the payload did not convert to the handler's type
  protocol_error,     ///< malformed frame or packet
  invalid_argument,   ///< bad pattern, data or URL given by the application
  circuit_open,       ///< the client's circuit breaker is open: the call was not sent
  bulkhead_full,      ///< the client has its most calls in flight: the call was not sent
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Thrown by a handler to send an error to the caller, as NestJS's RpcException.
/// A string becomes `{"status":"error","message":...}`; an object or an array (an object to
/// JavaScript) is sent as it is.
class rpc_exception : public std::runtime_error {
 public:
  explicit rpc_exception(std::string message);
  explicit rpc_exception(json::object error);
  explicit rpc_exception(json::array error);
  /// the `err` value that goes on the wire
  const json::value& error() const noexcept { return error_; }

 private:
  json::value error_;
};

/// Thrown on the calling side when the remote handler replied with an error (`err`).
class rpc_error : public std::runtime_error {
 public:
  explicit rpc_error(json::value err);
  /// the remote `err` value exactly as received
  const json::value& error() const noexcept { return error_; }
  /// `err.message` when the error is an object with a string message, else the string itself
  std::string message() const;

 private:
  json::value error_;
};

/// Thrown when a call did not complete within its timeout.
class timeout_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown when the transport could not deliver a call or lost it (connection refused, dropped,
/// closed by the application).
class connection_error : public std::runtime_error {
 public:
  connection_error(boost::system::error_code ec, const std::string& what);
  boost::system::error_code code() const noexcept { return code_; }

 private:
  boost::system::error_code code_;
};

}  // namespace roost

namespace boost::system {
template <>
struct is_error_code_enum<roost::error> : std::true_type {};
}  // namespace boost::system
