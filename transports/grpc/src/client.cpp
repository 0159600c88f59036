#include <roost/grpc/client.hpp>

#include "channel_setup.hpp"
#include "protos.hpp"
#include "status.hpp"

#include <roost/detail/thread_bridge.hpp>
#include <roost/errors.hpp>
#include <roost/packet.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace roost::grpc {

namespace asio = boost::asio;

namespace {

[[noreturn]] void throw_invalid(const std::string& what) {
  throw connection_error(make_error_code(error::invalid_argument), "grpc: " + what);
}

class client_call;

// The calls in flight, shared by the client and the calls (which outlive neither gRPC's
// threads nor close()).
struct call_table {
  std::mutex mutex;
  std::condition_variable idle;
  std::unordered_map<std::string, client_call*> live;  // by request id
  std::shared_ptr<roost::detail::thread_bridge<inbound_reply>> bridge;
};

// One call: writes the request, reads the responses, and reports them through the bridge (the
// values of a server stream one by one, a unary call's one value with the end). Deletes itself
// once gRPC is done with it.
class client_call final : public ::grpc::ClientBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer> {
 public:
  client_call(std::string id, const detail::method_info& m,
              std::shared_ptr<const detail::proto_set> protos, std::shared_ptr<call_table> table,
              std::string request)
      : id_(std::move(id)), method_(m), protos_(std::move(protos)), table_(std::move(table)) {
    ::grpc::Slice slice(request);
    request_ = ::grpc::ByteBuffer(&slice, 1);
  }

  ::grpc::ClientContext& context() noexcept { return ctx_; }

  // The call's deadline, sent to the server: the proxy's timeout of a call with one response.
  void set_deadline(std::chrono::system_clock::time_point deadline) {
    ctx_.set_deadline(deadline);
    deadline_ = deadline;
  }

  void start(::grpc::GenericStub& stub) {
    stub.PrepareBidiStreamingCall(&ctx_, method_.path, ::grpc::StubOptions(), this);
    // A method streaming requests gets them from write(), then writes_done().
    if (!method_.client_streaming) StartWriteLast(&request_, ::grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }

  const detail::method_info& method() const noexcept { return method_; }

  // The next request of a streaming method, written once those before it are.
  void write(std::string bytes) {
    std::unique_lock lock(write_mutex_);
    if (writes_done_) return;
    ::grpc::Slice slice(bytes);
    out_.emplace_back(&slice, 1);
    pump(lock);
  }

  // The requests are all given: the call half-closes once they are written.
  void writes_done() {
    std::unique_lock lock(write_mutex_);
    if (writes_done_) return;
    writes_done_ = true;
    pump(lock);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(write_mutex_);
    writing_ = false;
    if (!out_.empty()) out_.pop_front();
    if (!ok) {  // the call is over: the status follows
      out_.clear();
      half_closed_ = true;
      return;
    }
    pump(lock);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the status follows (OnDone)
    std::vector<::grpc::Slice> slices;
    std::string bytes, error;
    json::value value;
    const bool read = response_.Dump(&slices).ok();
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    if (!read || !protos_->to_json(method_.output_type, bytes, value, error)) {
      // As grpc-js: a response that does not decode fails the call with INTERNAL.
      failure_ =
          ::grpc::Status(::grpc::StatusCode::INTERNAL, "Failed to parse server response: " + error);
      ctx_.TryCancel();
      return;
    }
    if (method_.server_streaming) {
      inbound_reply r;
      r.id = json::value(id_);
      r.response = std::move(value);
      table_->bridge->push(std::move(r));
    } else {
      value_ = std::move(value);
    }
    response_.Clear();
    StartRead(&response_);
  }

  void OnDone(const ::grpc::Status& s) override {
    if (deadline_ && s.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED &&
        std::chrono::system_clock::now() >= *deadline_) {
      // The proxy's timeout, which set the deadline, fails the call with timeout_error as on
      // any transport: this status tells it nothing more.
      forget();
      return;
    }
    inbound_reply r;
    r.id = json::value(id_);
    r.disposed = true;
    if (failure_) {
      r.err = detail::error_of_status(*failure_);
    } else if (!s.ok()) {
      r.err = detail::error_of_status(s);
    } else if (!method_.server_streaming) {
      if (value_) {
        r.response = std::move(*value_);
      } else {  // grpc-js's words for a unary call answered without a message
        r.err = detail::error_of_status(
            ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED, "No message received"));
      }
    }
    table_->bridge->push(std::move(r));
    forget();
  }

 private:
  // Starts the next write, or the half-close once every request is written. gRPC is called
  // with the lock released: it may run a reaction on this thread.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || half_closed_) return;
    if (!out_.empty()) {
      writing_ = true;
      ::grpc::ByteBuffer* next = &out_.front();
      lock.unlock();
      StartWrite(next);
      return;
    }
    if (!writes_done_) return;
    half_closed_ = true;
    lock.unlock();
    StartWritesDone();
  }

  // Leaves the table of calls in flight, and deletes this.
  void forget() {
    auto table = table_;
    std::lock_guard lock(table->mutex);
    table->live.erase(id_);
    if (table->live.empty()) table->idle.notify_all();
    delete this;
  }

  std::string id_;
  const detail::method_info& method_;
  std::shared_ptr<const detail::proto_set> protos_;
  std::shared_ptr<call_table> table_;
  ::grpc::ClientContext ctx_;
  ::grpc::ByteBuffer request_;
  ::grpc::ByteBuffer response_;
  std::optional<json::value> value_;
  std::optional<::grpc::Status> failure_;
  std::optional<std::chrono::system_clock::time_point> deadline_;
  std::mutex write_mutex_;  // the requests of a streaming method, written one at a time
  std::deque<::grpc::ByteBuffer> out_;
  bool writing_ = false;
  bool writes_done_ = false;  // no request comes after those queued
  bool half_closed_ = false;  // StartWritesDone() was called, or the call is over
};

}  // namespace

struct client::impl {
  explicit impl(client_options o) : opts(std::move(o)) {}

  void open(executor ex) {
    std::lock_guard lock(mutex);
    if (stub) return;
    std::shared_ptr<::grpc::ChannelCredentials> credentials;
    try {
      if (!protos) protos = detail::proto_set::load(opts);
      credentials = detail::client_credentials(opts);
    } catch (const std::invalid_argument& e) {
      throw connection_error(make_error_code(error::invalid_argument), e.what());
    }
    table->bridge = roost::detail::thread_bridge<inbound_reply>::make(
        std::move(ex), [l = listener](std::vector<inbound_reply>& batch) {
          for (auto& r : batch) l->on_reply(std::move(r));
        });
    ::grpc::ChannelArguments args;
    detail::for_each_channel_arg(opts,
                                 [&](const char* name, int value) { args.SetInt(name, value); });
    if (opts.tls && !opts.tls->server_name.empty()) {
      args.SetSslTargetNameOverride(opts.tls->server_name);
    }
    channel = ::grpc::CreateCustomChannel(opts.url, credentials, args);
    stub = std::make_unique<::grpc::GenericStub>(channel);
    listener->on_status(connection_status::connected);
  }

  // `streaming`: the requests follow (open_request_stream), else m.data is the one request.
  void send(const outbound_message& m, bool streaming = false) {
    const auto* pattern = m.pattern.if_object();
    const auto* service = pattern ? pattern->if_contains("service") : nullptr;
    const auto* rpc = pattern ? pattern->if_contains("rpc") : nullptr;
    if (!service || !service->is_string() || !rpc || !rpc->is_string()) {
      throw_invalid("a pattern is {\"service\":S,\"rpc\":M}, not " + m.route);
    }
    const auto* method = protos->find(service->get_string(), rpc->get_string());
    if (!method) throw_invalid("no method " + m.route + " in the loaded protos");
    if (method->client_streaming != streaming) {
      throw_invalid(method->path + (streaming ? " takes one request, not a stream"
                                              : " takes a stream of requests"));
    }
    std::string request, error;
    if (!streaming && !protos->to_binary(method->input_type, m.data, request, error)) {
      throw_invalid("the request of " + method->path + ": " + error);
    }
    auto* c = new client_call(m.id, *method, protos, table, std::move(request));
    // The proxy's timeout is the call's deadline when one response is awaited; for a stream
    // of responses it is the longest wait for the next one, which no deadline says.
    if (m.timeout.count() > 0 && !method->server_streaming) {
      c->set_deadline(std::chrono::system_clock::now() + m.timeout);
    }
    // The call's headers are in its metadata too, with what call_options::metadata adds (the
    // CLI's --header): all of it goes out as gRPC metadata.
    const roost::headers metadata = m.metadata  ? roost::headers::from_metadata(*m.metadata)
                                    : m.headers ? *m.headers
                                                : roost::headers{};
    {
      for (const auto& [k, v] : metadata) {
        std::string key = k;
        for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        c->context().AddMetadata(key, v);
      }
    }
    std::lock_guard lock(mutex);
    if (!stub) {  // closed meanwhile
      delete c;
      throw connection_error(make_error_code(error::connection_closed), "Connection closed");
    }
    {
      std::lock_guard live(table->mutex);
      table->live[m.id] = c;
    }
    c->start(*stub);
  }

  void write(const std::string& id, const json::value& value) {
    std::lock_guard lock(table->mutex);
    auto it = table->live.find(id);
    if (it == table->live.end()) return;  // finished
    const auto& method = it->second->method();
    std::string request, error;
    if (!protos->to_binary(method.input_type, value, request, error)) {
      throw_invalid("the request of " + method.path + ": " + error);
    }
    it->second->write(std::move(request));
  }

  void writes_done(const std::string& id, bool failed) {
    std::lock_guard lock(table->mutex);
    auto it = table->live.find(id);
    if (it == table->live.end()) return;
    if (failed) {
      it->second->context().TryCancel();
    } else {
      it->second->writes_done();
    }
  }

  void cancel(const std::string& id) {
    std::lock_guard lock(table->mutex);
    if (auto it = table->live.find(id); it != table->live.end()) it->second->context().TryCancel();
  }

  // Cancels every call and waits for gRPC to be done with them: nothing reaches the bridge
  // after this returns.
  void cancel_all() {
    std::unique_lock lock(table->mutex);
    for (auto& [id, c] : table->live) c->context().TryCancel();
    table->idle.wait(lock, [&] { return table->live.empty(); });
  }

  client_options opts;
  std::mutex mutex;
  std::shared_ptr<client_listener> listener;
  std::shared_ptr<const detail::proto_set> protos;
  std::shared_ptr<call_table> table = std::make_shared<call_table>();
  std::shared_ptr<::grpc::Channel> channel;
  std::unique_ptr<::grpc::GenericStub> stub;
};

client::client(client_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
client::client(client&&) noexcept = default;
client::~client() {
  if (impl_) impl_->cancel_all();
}

void client::set_listener(std::shared_ptr<client_listener> l) noexcept {
  impl_->listener = std::move(l);
}

awaitable<void> client::connect() {
  impl_->open(co_await asio::this_coro::executor);
}

awaitable<void> client::send_request(const outbound_message& m) {
  impl_->open(co_await asio::this_coro::executor);  // connects after a close() too
  impl_->send(m);
}

awaitable<void> client::open_request_stream(const outbound_message& m) {
  impl_->open(co_await asio::this_coro::executor);
  impl_->send(m, true);
}

void client::send_stream_value(const std::string& id, const json::value& value) {
  impl_->write(id, value);
}

void client::end_request_stream(const std::string& id, bool failed) noexcept {
  impl_->writes_done(id, failed);
}

void client::end_request(const outbound_message& m) noexcept {
  impl_->cancel(m.id);
}

awaitable<void> client::send_event(const outbound_message&) {
  // NestJS's ClientGrpcProxy refuses emit() too.
  throw_invalid("gRPC has no events");
  co_return;
}

void client::close() {
  impl_->cancel_all();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stub.reset();
    impl_->channel.reset();
  }
  impl_->listener->on_connection_lost(make_error_code(error::connection_closed),
                                      "Connection closed");
  impl_->listener->on_status(connection_status::closed);
}

}  // namespace roost::grpc
