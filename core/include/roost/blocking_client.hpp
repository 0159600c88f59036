#pragma once
/// \file roost::blocking_client: a client_proxy for code without coroutines.

#include <roost/client_proxy.hpp>

#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <memory>
#include <vector>

namespace roost {

/// Wraps a client_proxy with its own I/O thread, so plain functions can call a service:
///
/// \code
/// roost::blocking_client math(roost::tcp::client({.port = 3000}));
/// int six = math.send<int>("sum", std::vector{1, 2, 3});
/// \endcode
///
/// Every call blocks the calling thread until it completes and throws what the coroutine API
/// throws (rpc_error, timeout_error, connection_error). Thread-safe. Do not call it from a
/// roost handler or from its own I/O thread: that would block the thread the reply needs.
class blocking_client {
 public:
  explicit blocking_client(std::unique_ptr<client_transport> transport, client_options opts = {});
  template <class T>
  requires std::derived_from<std::remove_cvref_t<T>, client_transport>
  explicit blocking_client(T&& transport, client_options opts = {})
      : blocking_client(std::unique_ptr<client_transport>(
                            std::make_unique<std::remove_cvref_t<T>>(std::forward<T>(transport))),
                        opts) {}
  ~blocking_client();
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  /// Sends a request and returns its (last) reply value.
  template <class R = json::value, class T = json::value>
  R send(json::value pattern, const T& data, call_options opts = {}) {
    json::value v = send_value(std::move(pattern), json::value_from(data), std::move(opts));
    if constexpr (std::is_same_v<R, json::value>) {
      return v;
    } else if constexpr (!std::is_void_v<R>) {
      return json::value_to<R>(v);
    }
  }

  /// Sends a request and returns every value of its streamed reply.
  template <class R = json::value, class T = json::value>
  std::vector<R> collect(json::value pattern, const T& data, call_options opts = {}) {
    auto values = collect_values(std::move(pattern), json::value_from(data), std::move(opts));
    if constexpr (std::is_same_v<R, json::value>) {
      return values;
    } else {
      std::vector<R> out;
      out.reserve(values.size());
      for (auto& v : values) out.push_back(json::value_to<R>(v));
      return out;
    }
  }

  /// Sends an event; returns when the transport accepted it.
  template <class T = json::value>
  void emit(json::value pattern, const T& data, call_options opts = {}) {
    emit_value(std::move(pattern), json::value_from(data), std::move(opts));
  }

  /// Closes the connection; pending calls fail with connection_error.
  void close();

  json::value send_value(json::value pattern, json::value data, call_options opts);
  std::vector<json::value> collect_values(json::value pattern, json::value data, call_options opts);
  void emit_value(json::value pattern, json::value data, call_options opts);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace roost
