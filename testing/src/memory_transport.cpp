#include <roost/testing/memory_transport.hpp>

#include <roost/context.hpp>
#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace roost::testing {

struct memory_broker::state {
  std::mutex mutex;
  std::optional<dispatcher> server;  // set while the server listens
  executor server_executor;
  bool accepting = false;
  std::atomic<std::size_t> packets{0};
};

namespace {

class memory_context final : public context {
 public:
  memory_context(json::value pattern, std::optional<json::object> metadata)
      : context("memory", std::move(pattern), std::move(metadata)) {}
};

class memory_server final : public server_transport {
 public:
  explicit memory_server(std::shared_ptr<memory_broker::state> s) : state_(std::move(s)) {}
  // A broker that outlives the server delivers nothing more to its dispatcher.
  ~memory_server() override { close(); }
  std::string_view name() const noexcept override { return "memory"; }
  awaitable<void> listen(dispatcher& d) override {
    std::lock_guard lock(state_->mutex);
    state_->server.emplace(d);
    state_->server_executor = co_await boost::asio::this_coro::executor;
    state_->accepting = true;
  }
  void stop_accepting() override {
    std::lock_guard lock(state_->mutex);
    state_->accepting = false;
  }
  void close() override {
    std::lock_guard lock(state_->mutex);
    state_->accepting = false;
    state_->server.reset();
  }

 private:
  std::shared_ptr<memory_broker::state> state_;
};

class memory_client final : public client_transport {
 public:
  explicit memory_client(std::shared_ptr<memory_broker::state> s) : state_(std::move(s)) {}
  ~memory_client() override { *alive_ = false; }
  std::string_view name() const noexcept override { return "memory"; }
  void set_listener(std::shared_ptr<client_listener> l) noexcept override {
    listener_ = std::move(l);
  }

  awaitable<void> connect() override {
    server();
    if (!connected_.exchange(true)) listener_->on_status(connection_status::connected);
    co_return;
  }

  awaitable<void> send_request(const outbound_message& m) override {
    co_await connect();
    std::string text;
    encode_request(text, m.pattern, m.data, json::value(m.id), m.metadata);
    deliver(std::move(text), true);
  }

  awaitable<void> send_event(const outbound_message& m) override {
    co_await connect();
    std::string text;
    // As on TCP, an event carries the normalized route as its pattern.
    encode_event(text, json::value(m.route), m.data, m.metadata);
    deliver(std::move(text), false);
  }

  void close() override {
    if (connected_.exchange(false)) {
      *alive_ = false;
      alive_ = std::make_shared<bool>(true);
      listener_->on_connection_lost(make_error_code(error::connection_closed), "Connection closed");
      listener_->on_status(connection_status::disconnected);
    }
  }

 private:
  class sink final : public reply_sink {
   public:
    sink(memory_client& c, std::shared_ptr<bool> alive) : client_(c), alive_(std::move(alive)) {}
    awaitable<void> send(reply_packet reply, const json::value& id) override {
      if (!*alive_) co_return;  // the client closed: the reply is lost, as on a socket
      std::string text;
      encode_reply(text, reply, id);
      client_.state_->packets++;
      auto r = decode_reply(text);
      if (r) client_.listener_->on_reply(std::move(*r));
    }

   private:
    memory_client& client_;
    std::shared_ptr<bool> alive_;
  };

  dispatcher server() {
    std::lock_guard lock(state_->mutex);
    if (!state_->server || !state_->accepting) {
      throw connection_error(make_error_code(error::not_connected),
                             "memory transport: no server is listening");
    }
    return *state_->server;
  }

  void deliver(std::string text, bool request) {
    auto d = server();
    state_->packets++;
    boost::asio::co_spawn(
        state_->server_executor,
        [this, d, text = std::move(text), request, alive = alive_]() mutable -> awaitable<void> {
          if (!*alive) co_return;
          auto p = decode_inbound(text);
          if (!p) co_return;
          memory_context ctx(std::move(p->pattern), std::move(p->metadata));
          if (request) {
            sink s(*this, alive);
            co_await d.dispatch(*p, ctx, &s);
          } else {
            co_await d.dispatch(*p, ctx, nullptr);
          }
        },
        boost::asio::detached);
  }

  std::shared_ptr<memory_broker::state> state_;
  std::shared_ptr<client_listener> listener_;
  std::atomic<bool> connected_{false};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

memory_broker::memory_broker() : state_(std::make_shared<state>()) {}
memory_broker::memory_broker(std::shared_ptr<state> s) : state_(std::move(s)) {}

memory_broker memory_broker::named(const std::string& name) {
  // The one shared table the project allows itself (STYLE: no globals): a name must reach the
  // same broker from any two URLs, and the table holds no broker alive, only finds live ones.
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<state>, std::less<>> brokers;
  std::lock_guard lock(mutex);
  std::erase_if(brokers, [](const auto& b) { return b.second.expired(); });
  auto& slot = brokers[name];
  auto s = slot.lock();
  if (!s) {
    s = std::make_shared<state>();
    slot = s;
  }
  return memory_broker(std::move(s));
}
memory_broker::~memory_broker() = default;

std::unique_ptr<server_transport> memory_broker::server() {
  return std::make_unique<memory_server>(state_);
}

std::unique_ptr<client_transport> memory_broker::client() {
  return std::make_unique<memory_client>(state_);
}

std::size_t memory_broker::packets() const noexcept {
  return state_->packets;
}

}  // namespace roost::testing
