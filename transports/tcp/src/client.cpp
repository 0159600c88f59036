#include <roost/tcp/client.hpp>

#include "balancer.hpp"
#include "client_impl.hpp"

namespace roost::tcp {

client::client(client_options opts) {
  std::shared_ptr<detail::balancer> balanced;
  if (!opts.endpoints.empty()) balanced = std::make_shared<detail::balancer>(opts);
  impl_ = std::make_shared<impl>(std::move(opts));
  impl_->balanced = std::move(balanced);
}
client::client(client&&) noexcept = default;
client::~client() {
  if (impl_) close();
}

void client::set_listener(std::shared_ptr<client_listener> l) noexcept {
  if (impl_->balanced) impl_->balanced->set_listener(l);
  impl_->listener = std::move(l);
}

awaitable<void> client::connect() {
  if (impl_->balanced) {
    auto connected = impl_->balanced->connect();
    co_await std::move(connected);
    co_return;
  }
  co_await impl_->connection_for_call();
}

awaitable<void> client::send_request(const outbound_message& m) {
  // Connected (nearly every call): no coroutine of connection_for_call's to go through. A
  // balancing client has no connection of its own, so it always takes the slower way.
  auto c = impl_->open_connection();
  if (!c) {
    if (impl_->balanced) {
      auto sent = impl_->balanced->send_request(m);
      co_await std::move(sent);
      co_return;
    }
    c = co_await impl_->connection_for_call();
  }
  // Encoded straight into the connection's output.
  const bool sent = c->send_with([&m](std::string& out) {
    encode_request(out, m.pattern, m.data, std::string_view(m.id), m.metadata);
  });
  if (!sent) detail::throw_closed();
}

void client::end_request(const outbound_message& m) noexcept {
  if (impl_->balanced) impl_->balanced->end_request(m);
}

awaitable<void> client::send_event(const outbound_message& m) {
  if (impl_->balanced) {
    auto sent = impl_->balanced->send_event(m);
    co_await std::move(sent);
    co_return;
  }
  auto c = co_await impl_->connection_for_call();
  std::string text;
  // NestJS's ClientTCP sends an event's pattern as its normalized route string.
  encode_event(text, json::value(m.route), m.data, m.metadata);
  if (!c->send(text)) detail::throw_closed();
}

void client::close() {
  if (impl_->balanced) impl_->balanced->close();
  impl_->close();
}

}  // namespace roost::tcp
