#pragma once
// A TCP client over several servers (client_options::endpoints): one connection per server
// address, each call sent on the one the policy picks. A server whose connection is refused or
// lost is left out and tried again in the background, with backoff; the calls in flight on it
// fail, the others go on.

#include <roost/awaitable.hpp>
#include <roost/client_transport.hpp>
#include <roost/detail/single_flight.hpp>
#include <roost/tcp/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace roost::tcp::detail {

class balancer : public std::enable_shared_from_this<balancer> {
 public:
  explicit balancer(client_options opts);
  ~balancer();

  void set_listener(std::shared_ptr<client_listener> l) noexcept;
  /// Resolves the servers' names (once) and connects to every address; completes once one
  /// connection is up. Throws connection_error(not_connected) when none can be reached.
  awaitable<void> connect();
  awaitable<void> send_request(const outbound_message& m);
  void end_request(const outbound_message& m) noexcept;
  awaitable<void> send_event(const outbound_message& m);
  void close();

  struct member;
  class member_listener;

 private:
  awaitable<bool> start();
  awaitable<void> refresh(endpoint ep);
  // Picks the server of the next call among those up and not in `tried`; null when none.
  std::shared_ptr<member> choose(const std::vector<member*>& tried);
  // Sends one frame (built by `send`) to a server, connecting to it if needed, moving on to
  // another when one cannot be reached. `id` is registered on the server that takes it.
  template <class Send>
  awaitable<void> send_to_one(const std::string* id, Send send);
  bool resolved_now();
  void mark_down(const std::shared_ptr<member>& m);
  void lost(member& m, boost::system::error_code ec, std::string_view why);
  bool claim_retry(member& m);
  void spawn_retry(const std::shared_ptr<member>& m);
  awaitable<void> retry(std::shared_ptr<member> m);
  awaitable<void> resolve_periodically();
  void report_status();

  client_options opts_;
  std::shared_ptr<client_listener> listener_;
  roost::detail::single_flight<bool> started_;
  std::mutex mutex_;
  bool resolved_ = false;
  bool closed_ = false;
  std::optional<boost::asio::any_io_executor> base_ex_;  // where connections are opened
  std::optional<boost::asio::any_io_executor> ex_;       // a strand of it: retries, resolving
  std::shared_ptr<boost::asio::steady_timer> resolve_timer_;
  std::vector<std::shared_ptr<member>> members_;
  std::size_t next_ = 0;  // where the next choice starts looking (round robin, ties)
};

}  // namespace roost::tcp::detail
