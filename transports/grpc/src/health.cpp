#include "health.hpp"

#include <boost/json/object.hpp>

#include <grpcpp/support/byte_buffer.h>

namespace roost::grpc::detail {

namespace {

constexpr int status_serving = 1;
constexpr int status_not_serving = 2;
constexpr int status_service_unknown = 3;

const std::string request_type = "type.googleapis.com/grpc.health.v1.HealthCheckRequest";
const std::string response_type = "type.googleapis.com/grpc.health.v1.HealthCheckResponse";

bool dump(const ::grpc::ByteBuffer& b, std::string& out) {
  std::vector<::grpc::Slice> slices;
  if (!b.Dump(&slices).ok()) return false;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return true;
}

::grpc::ByteBuffer buffer_of(const std::string& bytes) {
  ::grpc::Slice slice(bytes);
  return ::grpc::ByteBuffer(&slice, 1);
}

// Check: one request, one response (NOT_FOUND for a service the server does not serve, as
// the protocol says).
class health_check final : public ::grpc::ServerGenericBidiReactor {
 public:
  explicit health_check(std::shared_ptr<health_service> h) : health_(std::move(h)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    std::string bytes, service;
    if (!ok) {
      Finish(::grpc::Status(::grpc::StatusCode::CANCELLED, "no request message"));
      return;
    }
    if (!dump(in_, bytes) || !health_->decode(bytes, service)) {
      Finish(::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, "not a HealthCheckRequest"));
      return;
    }
    const int status = health_->status_of(service);
    if (status == status_service_unknown) {
      Finish(::grpc::Status(::grpc::StatusCode::NOT_FOUND, "unknown service " + service));
      return;
    }
    out_ = buffer_of(health_->encode(status));
    StartWriteAndFinish(&out_, ::grpc::WriteOptions(), ::grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  std::shared_ptr<health_service> health_;
  ::grpc::ByteBuffer in_;
  ::grpc::ByteBuffer out_;
};

}  // namespace

// Watch: the status now, then each change, until the client cancels or the server closes.
class health_watch final : public ::grpc::ServerGenericBidiReactor,
                           public std::enable_shared_from_this<health_watch> {
 public:
  explicit health_watch(std::shared_ptr<health_service> h) : health_(std::move(h)) {}

  void start(std::shared_ptr<health_watch> self) {
    self_ = std::move(self);
    StartRead(&in_);
  }

  const std::string& service() const noexcept { return service_; }

  // The status as of change `version`; an older one than already heard is ignored.
  void notify(int status, std::uint64_t version) {
    std::unique_lock lock(mutex_);
    if (version < version_) return;
    version_ = version;
    pending_ = status;
    pump(lock);
  }

  void OnReadDone(bool ok) override {
    std::string bytes;
    if (!ok || !dump(in_, bytes) || !health_->decode(bytes, service_)) {
      std::unique_lock lock(mutex_);
      end(ok ? ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, "not a HealthCheckRequest")
             : ::grpc::Status::CANCELLED);
      pump(lock);
      return;
    }
    health_->watch(shared_from_this());
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    writing_ = false;
    if (!ok) end(::grpc::Status::CANCELLED);
    pump(lock);
  }

  void OnCancel() override {
    std::unique_lock lock(mutex_);
    end(::grpc::Status::CANCELLED);
    pump(lock);
  }

  void OnDone() override {
    health_->unwatch(this);
    std::shared_ptr<health_watch> self;
    std::lock_guard lock(mutex_);
    self.swap(self_);  // released once the lock is, which may destroy this
  }

 private:
  void end(::grpc::Status s) {
    if (ending_) return;
    ending_ = true;
    status_ = std::move(s);
  }

  // Writes the latest status when it differs from the one sent, or finishes once ending.
  // gRPC is called with the lock released: it may run a reaction on this thread.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_) return;
    if (ending_) {
      finished_ = true;
      const ::grpc::Status s = status_;
      lock.unlock();
      Finish(s);
      return;
    }
    if (pending_ < 0 || pending_ == sent_) return;
    sent_ = pending_;
    out_ = buffer_of(health_->encode(sent_));
    writing_ = true;
    lock.unlock();
    StartWrite(&out_);
  }

  std::shared_ptr<health_service> health_;
  std::shared_ptr<health_watch> self_;
  ::grpc::ByteBuffer in_;
  std::string service_;
  std::mutex mutex_;
  ::grpc::ByteBuffer out_;
  std::uint64_t version_ = 0;
  int pending_ = -1;  // the status to send; -1 before the first
  int sent_ = -1;
  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
  ::grpc::Status status_;
};

health_service::health_service(std::shared_ptr<const proto_set> protos,
                               std::set<std::string> services)
    : protos_(std::move(protos)), services_(std::move(services)) {}

::grpc::ServerGenericBidiReactor* health_service::reactor(const std::string& method) {
  if (method == "/grpc.health.v1.Health/Check") return new health_check(shared_from_this());
  if (method == "/grpc.health.v1.Health/Watch") {
    auto w = std::make_shared<health_watch>(shared_from_this());
    health_watch* reactor = w.get();
    w->start(std::move(w));
    return reactor;
  }
  return nullptr;
}

void health_service::set_serving(bool serving) {
  std::vector<std::shared_ptr<health_watch>> watchers;
  std::uint64_t version = 0;
  {
    std::lock_guard lock(mutex_);
    if (serving_ == serving) return;
    serving_ = serving;
    version = ++version_;
    for (const auto& w : watchers_) {
      if (auto p = w.lock()) watchers.push_back(std::move(p));
    }
  }
  // Outside the lock: a write may run a reaction, which may unwatch, on this thread.
  for (const auto& w : watchers) w->notify(status_of(w->service()), version);
}

int health_service::status_of(const std::string& service) {
  std::lock_guard lock(mutex_);
  return status_locked(service);
}

int health_service::status_locked(const std::string& service) const {
  if (!service.empty() && !services_.count(service)) return status_service_unknown;
  return serving_ ? status_serving : status_not_serving;
}

bool health_service::decode(const std::string& bytes, std::string& service) const {
  json::value request;
  std::string error;
  if (!protos_->to_json(request_type, bytes, request, error) || !request.is_object()) return false;
  const auto* s = request.as_object().if_contains("service");
  service = s && s->is_string() ? std::string(s->get_string()) : std::string();
  return true;
}

std::string health_service::encode(int status) const {
  std::string bytes, error;
  protos_->to_binary(response_type, json::object{{"status", status}}, bytes, error);
  return bytes;
}

void health_service::watch(const std::shared_ptr<health_watch>& w) {
  int status = 0;
  std::uint64_t version = 0;
  {
    std::lock_guard lock(mutex_);
    watchers_.push_back(w);
    status = status_locked(w->service());
    version = version_;
  }
  w->notify(status, version);
}

void health_service::unwatch(const health_watch* w) {
  std::lock_guard lock(mutex_);
  std::erase_if(watchers_, [w](const std::weak_ptr<health_watch>& p) {
    auto locked = p.lock();
    return !locked || locked.get() == w;
  });
}

}  // namespace roost::grpc::detail
