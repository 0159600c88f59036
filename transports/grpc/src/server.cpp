#include <roost/grpc/server.hpp>

#include "builtin_protos.hpp"
#include "channel_setup.hpp"
#include "health.hpp"
#include "protos.hpp"
#include "reflection.hpp"
#include "status.hpp"

#include <roost/detail/request_channel.hpp>
#include <roost/detail/thread_bridge.hpp>
#include <roost/dispatcher.hpp>
#include <roost/errors.hpp>
#include <roost/grpc/context.hpp>
#include <roost/packet.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>

#include <grpc/grpc.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace roost::grpc {

namespace asio = boost::asio;

namespace {

constexpr std::string_view source = "grpc server";

// A method served by a handler: its route and the pattern its context shows.
struct served_method {
  const detail::method_info* info;
  std::string route;
  json::value pattern;
};

// What the executor's side knows of a call, whichever reactor serves it: its method, what
// its context shows, and where the handler's replies go.
class served_call {
 public:
  served_call(const ::grpc::ServerContextBase& ctx, const served_method& m) : method_(m) {
    const auto deadline = ctx.deadline();
    if (deadline != std::chrono::system_clock::time_point::max()) deadline_ = deadline;
    for (const auto& [k, v] : ctx.client_metadata()) {
      headers_.add(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
  }
  virtual ~served_call() = default;

  // One reply packet of the handler (on the executor).
  virtual void reply(reply_packet r) = 0;

  const served_method& method() const noexcept { return method_; }
  roost::headers take_headers() { return std::move(headers_); }
  std::optional<std::chrono::system_clock::time_point> deadline() const { return deadline_; }
  std::shared_ptr<const std::atomic<bool>> cancelled() const { return cancelled_; }
  std::shared_ptr<roost::detail::request_channel> requests() const { return requests_; }

 protected:
  const served_method& method_;
  roost::headers headers_;
  std::optional<std::chrono::system_clock::time_point> deadline_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<roost::detail::request_channel> requests_;  // a method streaming requests
};

// A request read on a gRPC thread, for the executor to serve.
struct arrival {
  std::shared_ptr<served_call> c;
  json::value data;
};

// What the gRPC threads share with the executor, for as long as either runs.
struct serving {
  std::shared_ptr<const detail::proto_set> protos;
  std::unordered_map<std::string, served_method> methods;  // by path; read-only once serving
  std::shared_ptr<roost::detail::thread_bridge<arrival>> bridge;
  std::shared_ptr<detail::health_service> health;          // null when the options turn it off
  std::shared_ptr<detail::reflection_service> reflection;  // null unless the options ask
  std::atomic<bool> accepting{true};
};

// One call of a served method: reads its one request, then writes what the handler replies,
// one write at a time, and finishes. It keeps itself alive until gRPC is done with it
// (OnDone); a sink of the handler holds it too, and finds it finished when the call was
// cancelled meanwhile.
class call final : public served_call,
                   public ::grpc::ServerGenericBidiReactor,
                   public std::enable_shared_from_this<call> {
 public:
  call(::grpc::GenericCallbackServerContext* ctx, const served_method& m,
       std::shared_ptr<serving> s)
      : served_call(*ctx, m), ctx_(ctx), serving_(std::move(s)) {}

  void start(std::shared_ptr<call> self) {
    self_ = std::move(self);
    if (method_.info->client_streaming) {
      // The handler starts at once and reads the requests as they come, as NestJS's.
      requests_ = roost::detail::request_channel::make();
      serving_->bridge->push({shared_from_this(), json::value()});
    }
    StartRead(&in_);
  }

  void reply(reply_packet r) override {
    std::unique_lock lock(mutex_);
    if (ending_) return;  // finished already (a unary call's later values, a cancelled call)
    const bool streaming = method_.info->server_streaming;
    switch (r.type) {
      case reply_packet::kind::value:
        if (!queue_value(r.body)) break;
        if (!streaming || r.disposed) end(::grpc::Status::OK);
        break;
      case reply_packet::kind::end:
        // A unary handler that returned nothing answers the empty message.
        if (!streaming && !queue_value(nullptr)) break;
        end(::grpc::Status::OK);
        break;
      case reply_packet::kind::error:
        end(detail::status_of_error(r.body));
        break;
      case reply_packet::kind::no_handler:
        end(::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED, std::string(no_handler_message)));
        break;
    }
    pump(lock);
  }

  void OnReadDone(bool ok) override {
    if (!ok && requests_) {
      // The client sent its last request, or the call is over (a read fails before OnCancel).
      if (ctx_->IsCancelled()) {
        cancelled_->store(true);  // before the handler hears of it (OnCancel may come later)
        requests_->fail(cancelled_error());
      } else {
        requests_->finish();
      }
      return;
    }
    if (!ok) {  // the client closed its side without a request
      std::unique_lock lock(mutex_);
      end(::grpc::Status(::grpc::StatusCode::INTERNAL, "no request message"));
      pump(lock);
      return;
    }
    std::string bytes, error;
    json::value data;
    if (!dump(in_, bytes) ||
        !serving_->protos->to_json(method_.info->input_type, bytes, data, error)) {
      // As grpc-js: a request that does not decode is INTERNAL.
      if (requests_) requests_->fail(std::make_exception_ptr(std::runtime_error(error)));
      std::unique_lock lock(mutex_);
      end(::grpc::Status(::grpc::StatusCode::INTERNAL, "Error deserializing request: " + error));
      pump(lock);
      return;
    }
    if (requests_) {
      requests_->push(std::move(data));
      in_.Clear();
      StartRead(&in_);
      return;
    }
    serving_->bridge->push({shared_from_this(), std::move(data)});
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    writing_ = false;
    out_.pop_front();
    if (!ok) out_.clear();  // the stream is broken: only the status is left to send
    pump(lock);
  }

  void OnCancel() override {
    cancelled_->store(true);
    if (requests_) requests_->fail(cancelled_error());
    std::unique_lock lock(mutex_);
    out_.erase(out_.begin() + (writing_ ? 1 : 0), out_.end());
    if (!ending_) end(::grpc::Status::CANCELLED);
    pump(lock);
  }

  void OnDone() override {
    // A handler still reading the requests sees the call end.
    if (requests_) requests_->fail(cancelled_error());
    std::shared_ptr<call> self;
    std::lock_guard lock(mutex_);
    self.swap(self_);  // released once the lock is, which may destroy this
    ctx_ = nullptr;
  }

 private:
  static std::exception_ptr cancelled_error() {
    return std::make_exception_ptr(
        rpc_exception(json::object{{"code", 1}, {"message", "the call was cancelled"}}));
  }

  static bool dump(const ::grpc::ByteBuffer& b, std::string& out) {
    std::vector<::grpc::Slice> slices;
    if (!b.Dump(&slices).ok()) return false;
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return true;
  }

  // Queues the response message of `value`; a value that does not fit it ends the call.
  bool queue_value(const json::value& value) {
    // A handler's null (nothing to say) is the empty message.
    if (value.is_null()) return queue_value(json::object());
    std::string bytes, error;
    if (!serving_->protos->to_binary(method_.info->output_type, value, bytes, error)) {
      end(::grpc::Status(::grpc::StatusCode::INTERNAL, "Error serializing response: " + error));
      return false;
    }
    ::grpc::Slice slice(bytes);
    out_.emplace_back(&slice, 1);
    return true;
  }

  void end(::grpc::Status s) {
    ending_ = true;
    status_ = std::move(s);
  }

  // Starts the next write, or the finish once everything queued is written. gRPC is called
  // with the lock released: it may run a reaction on this thread.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_) return;
    if (!out_.empty() && ending_ && out_.size() == 1 && status_.ok()) {
      // The last message and the status in one step (a unary call's reply): one batch of
      // gRPC's instead of two. It has no OnWriteDone; `writing_` keeps the buffer from OnCancel.
      writing_ = true;
      finished_ = true;
      ::grpc::ByteBuffer* last = &out_.front();
      lock.unlock();
      StartWriteAndFinish(last, ::grpc::WriteOptions(), ::grpc::Status::OK);
      return;
    }
    if (!out_.empty()) {
      writing_ = true;
      ::grpc::ByteBuffer* next = &out_.front();
      lock.unlock();
      StartWrite(next);
      return;
    }
    if (!ending_) return;
    finished_ = true;
    const ::grpc::Status s = status_;
    lock.unlock();
    Finish(s);
  }

  ::grpc::GenericCallbackServerContext* ctx_;
  std::shared_ptr<serving> serving_;
  std::shared_ptr<call> self_;
  ::grpc::ByteBuffer in_;
  std::mutex mutex_;
  std::deque<::grpc::ByteBuffer> out_;
  bool writing_ = false;
  bool ending_ = false;    // the status is set: nothing more is queued
  bool finished_ = false;  // Finish() was called
  ::grpc::Status status_;
};

// A call answered with its status alone (an unknown method, a server shutting down).
class refusal final : public ::grpc::ServerGenericBidiReactor {
 public:
  explicit refusal(::grpc::Status s) { Finish(s); }
  void OnDone() override { delete this; }
};

// A unary call, served through the method registered for it: gRPC reads the request and
// sends the reply with the status in one batch each (the generic reactor takes a read, a write
// and a finish). It keeps itself alive until gRPC is done with it (OnDone).
class unary_call final : public served_call,
                         public ::grpc::ServerUnaryReactor,
                         public std::enable_shared_from_this<unary_call> {
 public:
  unary_call(::grpc::CallbackServerContext* ctx, const served_method& m, std::shared_ptr<serving> s,
             ::grpc::ByteBuffer* response)
      : served_call(*ctx, m), serving_(std::move(s)), response_(response) {}

  void start(std::shared_ptr<unary_call> self, const ::grpc::ByteBuffer& request) {
    self_ = std::move(self);
    std::vector<::grpc::Slice> slices;
    std::string bytes, error;
    json::value data;
    bool read = request.Dump(&slices).ok();
    for (const auto& sl : slices)
      bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    if (!read || !serving_->protos->to_json(method_.info->input_type, bytes, data, error)) {
      finish(::grpc::Status(::grpc::StatusCode::INTERNAL, "Error deserializing request: " + error));
      return;
    }
    serving_->bridge->push({shared_from_this(), std::move(data)});
  }

  void reply(reply_packet r) override {
    switch (r.type) {
      case reply_packet::kind::value:
        respond(r.body);
        break;
      case reply_packet::kind::end:
        respond(nullptr);  // a handler that returned nothing answers the empty message
        break;
      case reply_packet::kind::error:
        finish(detail::status_of_error(r.body));
        break;
      case reply_packet::kind::no_handler:
        finish(::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED, std::string(no_handler_message)));
        break;
    }
  }

  void OnCancel() override {
    cancelled_->store(true);
    finish(::grpc::Status::CANCELLED);
  }

  void OnDone() override {
    std::shared_ptr<unary_call> self;
    std::lock_guard lock(mutex_);
    self.swap(self_);  // released once the lock is, which may destroy this
  }

 private:
  void respond(const json::value& value) {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;  // a later value, a cancelled call
    }
    std::string bytes, error;
    // A handler's null (nothing to say) is the empty message.
    const json::value empty = value.is_null() ? json::value(json::object()) : json::value();
    const json::value& message = value.is_null() ? empty : value;
    if (!serving_->protos->to_binary(method_.info->output_type, message, bytes, error)) {
      finish(::grpc::Status(::grpc::StatusCode::INTERNAL, "Error serializing response: " + error));
      return;
    }
    std::unique_lock lock(mutex_);
    if (finished_) return;
    finished_ = true;
    ::grpc::Slice slice(bytes);
    *response_ = ::grpc::ByteBuffer(&slice, 1);
    lock.unlock();
    Finish(::grpc::Status::OK);
  }

  // Finishes with `s` unless finished already. gRPC is called with the lock released.
  void finish(::grpc::Status s) {
    std::unique_lock lock(mutex_);
    if (finished_) return;
    finished_ = true;
    lock.unlock();
    Finish(s);
  }

  std::shared_ptr<serving> serving_;
  ::grpc::ByteBuffer* response_;  // gRPC's, until OnDone
  std::shared_ptr<unary_call> self_;
  std::mutex mutex_;
  bool finished_ = false;
};

// The unary methods with a handler, registered with gRPC one by one (the others are served by
// the generic service).
class unary_service final : public ::grpc::Service {
 public:
  explicit unary_service(const std::shared_ptr<serving>& s) {
    for (const auto& [path, m] : s->methods) {
      if (m.info->client_streaming || m.info->server_streaming) continue;
      const served_method* method = &m;
      AddMethod(new ::grpc::internal::RpcServiceMethod(
          m.info->path.c_str(), ::grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
      MarkMethodRawCallback(
          count_++,
          new ::grpc::internal::CallbackUnaryHandler<::grpc::ByteBuffer, ::grpc::ByteBuffer>(
              [s, method](::grpc::CallbackServerContext* ctx, const ::grpc::ByteBuffer* request,
                          ::grpc::ByteBuffer* response) -> ::grpc::ServerUnaryReactor* {
                if (!s->accepting.load()) {
                  auto* refused = ctx->DefaultReactor();
                  refused->Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE,
                                                 "the server is shutting down"));
                  return refused;
                }
                auto c = std::make_shared<unary_call>(ctx, *method, s, response);
                unary_call* reactor = c.get();
                c->start(std::move(c), *request);
                return reactor;
              }));
    }
  }
  bool empty() const noexcept { return count_ == 0; }

 private:
  int count_ = 0;
};

// The replies of one call, from the dispatcher to the call.
class call_sink final : public immediate_reply_sink {
 public:
  explicit call_sink(std::shared_ptr<served_call> c) : call_(std::move(c)) {}
  void send_now(reply_packet r, const json::value&) override { call_->reply(std::move(r)); }

 private:
  std::shared_ptr<served_call> call_;
};

struct call_origin {
  std::shared_ptr<served_call> c;
  grpc::context make_context(json::value pattern, std::optional<json::object>) {
    return grpc::context(std::move(pattern), c->method().info->path, c->take_headers(),
                         c->deadline(), c->cancelled(), c->requests());
  }
  call_sink make_sink() { return call_sink(c); }
};

class generic_service final : public ::grpc::CallbackGenericService {
 public:
  explicit generic_service(std::shared_ptr<serving> s) : serving_(std::move(s)) {}

  ::grpc::ServerGenericBidiReactor* CreateReactor(
      ::grpc::GenericCallbackServerContext* ctx) override {
    auto it = serving_->methods.find(ctx->method());
    // The health service answers while the server drains too (NOT_SERVING), unless the
    // application serves it itself.
    if (serving_->health && it == serving_->methods.end()) {
      if (auto* r = serving_->health->reactor(ctx->method())) return r;
    }
    if (serving_->reflection && it == serving_->methods.end()) {
      if (auto* r = serving_->reflection->reactor(ctx->method())) return r;
    }
    if (!serving_->accepting.load()) {
      return new refusal(
          ::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    }
    if (it == serving_->methods.end()) {
      // grpc-js's words for a method without a handler.
      return new refusal(
          ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED,
                         "The server does not implement the method " + ctx->method()));
    }
    auto c = std::make_shared<call>(ctx, it->second, serving_);
    call* reactor = c.get();
    c->start(std::move(c));
    return reactor;
  }

 private:
  std::shared_ptr<serving> serving_;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  explicit impl(server_options o) : opts(std::move(o)) {}

  awaitable<void> listen(dispatcher& d) {
    disp.emplace(d);
    ex = co_await asio::this_coro::executor;
    state = std::make_shared<serving>();
    std::shared_ptr<::grpc::ServerCredentials> credentials;
    try {
      std::vector<std::string> builtins;
      if (opts.health) builtins.emplace_back(detail::health_proto_name);
      if (opts.reflection) {
        builtins.emplace_back(detail::reflection_v1alpha_proto_name);
        builtins.emplace_back(detail::reflection_v1_proto_name);
      }
      state->protos = detail::proto_set::load(opts, builtins);
      credentials = detail::server_credentials(opts);
    } catch (const std::invalid_argument& e) {
      throw connection_error(make_error_code(error::invalid_argument), e.what());
    }
    route_methods(d);
    std::set<std::string> services;  // those with a handler
    for (const auto& [path, m] : state->methods) services.insert(m.info->service_full);
    if (opts.health) {
      state->health = std::make_shared<detail::health_service>(state->protos, services);
    }
    if (opts.reflection) {
      std::set<std::string> listed = services;
      if (opts.health) listed.insert("grpc.health.v1.Health");
      listed.insert("grpc.reflection.v1alpha.ServerReflection");
      listed.insert("grpc.reflection.v1.ServerReflection");
      state->reflection = std::make_shared<detail::reflection_service>(
          state->protos, std::vector<std::string>(listed.begin(), listed.end()));
    }
    state->bridge = roost::detail::thread_bridge<arrival>::make(
        ex, [weak = weak_from_this()](std::vector<arrival>& batch) {
          if (auto s = weak.lock()) s->serve_batch(batch);
        });
    service = std::make_unique<generic_service>(state);
    unary = std::make_unique<unary_service>(state);
    ::grpc::ServerBuilder builder;
    // gRPC shares a port with any other server on it by default (SO_REUSEPORT), splitting the
    // calls between them: a port already taken is refused instead, as other transports do.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    detail::for_each_channel_arg(
        opts, [&](const char* name, int value) { builder.AddChannelArgument(name, value); });
    builder.AddListeningPort(opts.url, credentials, &bound_port);
    if (!unary->empty()) builder.RegisterService(unary.get());
    builder.RegisterCallbackGenericService(service.get());
    grpc_server = builder.BuildAndStart();
    if (!grpc_server || bound_port == 0) {
      grpc_server.reset();
      throw connection_error(make_error_code(error::not_connected),
                             "grpc: cannot listen on " + opts.url);
    }
    if (state->health) state->health->set_serving(true);
    listening = true;
    opts.log.info(source,
                  "serving " + std::to_string(state->methods.size()) + " method(s) on " + opts.url);
  }

  // NestJS's lookup: the handler of {service: Service, rpc}, else of {service:
  // package.Service, rpc}.
  void route_methods(dispatcher& d) {
    const auto& routes = d.routes();
    for (const auto& m : state->protos->methods()) {
      for (const auto* service : {&m.service, &m.service_full}) {
        json::value pattern = json::object{{"service", *service}, {"rpc", m.rpc}};
        std::string route = routes.routes().route(pattern);
        const auto* e = routes.find(route);
        if (!e || !e->message) continue;
        state->methods.emplace(m.path, served_method{&m, std::move(route), std::move(pattern)});
        break;
      }
    }
  }

  void stop_accepting() {
    listening = false;
    state->accepting = false;
    if (state->health) state->health->set_serving(false);
  }

  void serve_batch(std::vector<arrival>& batch) {
    for (auto& a : batch) {
      const auto& m = a.c->method();
      inbound_packet packet;
      packet.pattern = m.pattern;
      packet.data = std::move(a.data);
      packet.id = json::value(++served);
      disp->serve(ex, packet, call_origin{std::move(a.c)}, m.route);
    }
  }

  // Calls that came before the stop were handed to the dispatcher.
  bool stopped() const { return !state || !state->bridge || state->bridge->idle(); }

  void close() {
    if (!grpc_server) return;
    stop_accepting();
    // The calls the drain finished still send their answers (for at most close_grace); the
    // calls still running then are cancelled (each finishes from OnCancel). Waits for gRPC's
    // threads.
    grpc_server->Shutdown(std::chrono::system_clock::now() + close_grace);
    grpc_server->Wait();
    grpc_server.reset();
  }

  server_options opts;
  std::optional<dispatcher> disp;
  executor ex;
  std::shared_ptr<serving> state;
  std::unique_ptr<generic_service> service;
  std::unique_ptr<unary_service> unary;
  std::unique_ptr<::grpc::Server> grpc_server;
  int bound_port = 0;
  std::uint64_t served = 0;
  std::atomic<bool> listening{false};  // from a started server to stop_accepting()
  static constexpr std::chrono::seconds close_grace{2};
};

server::server(server_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
server::server(server&&) noexcept = default;
server::~server() {
  if (impl_) impl_->close();
}

awaitable<void> server::listen(dispatcher& d) {
  return impl_->listen(d);
}

void server::stop_accepting() {
  if (impl_->state) impl_->stop_accepting();
}
bool server::stopped() const noexcept {
  return impl_->stopped();
}

void server::close() {
  impl_->close();
}

bool server::ready() const noexcept {
  return impl_->listening;
}

std::uint16_t server::port() const noexcept {
  return static_cast<std::uint16_t>(impl_->bound_port);
}

}  // namespace roost::grpc
