#include "reflection.hpp"

#include <boost/json/object.hpp>

#include <grpcpp/support/byte_buffer.h>

#include <deque>
#include <mutex>

namespace roost::grpc::detail {

namespace {

constexpr std::string_view v1alpha = "grpc.reflection.v1alpha";
constexpr std::string_view v1 = "grpc.reflection.v1";

// The response is written by hand: its fields are strings, bytes and the request as it came.
void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_field(std::string& out, int number, std::string_view bytes) {
  put_varint(out, (static_cast<std::uint64_t>(number) << 3) | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

std::string error_response(int code, std::string_view message) {
  std::string e;
  e += '\x08';  // error_code = 1
  put_varint(e, static_cast<std::uint64_t>(code));
  put_field(e, 2, message);
  return e;
}

std::string string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// One call: answers each request in order, one write at a time, until the client is done.
class reflection_call final : public ::grpc::ServerGenericBidiReactor {
 public:
  reflection_call(std::shared_ptr<const reflection_service> r, std::string package)
      : reflection_(std::move(r)), package_(std::move(package)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock lock(mutex_);
    if (!ok) {  // the client is done (or gone: then OnCancel says so)
      ending_ = true;
      pump(lock);
      return;
    }
    std::vector<::grpc::Slice> slices;
    std::string request;
    if (in_.Dump(&slices).ok()) {
      for (const auto& s : slices)
        request.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    ::grpc::Slice reply(reflection_->answer(package_, request));
    out_.emplace_back(&reply, 1);
    in_.Clear();
    pump(lock);
    const bool more = !finished_;
    lock.unlock();
    if (more) StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    writing_ = false;
    out_.pop_front();
    if (!ok) {
      out_.clear();
      ending_ = true;
      status_ = ::grpc::Status::CANCELLED;
    }
    pump(lock);
  }

  void OnCancel() override {
    std::unique_lock lock(mutex_);
    out_.erase(out_.begin() + (writing_ ? 1 : 0), out_.end());
    ending_ = true;
    status_ = ::grpc::Status::CANCELLED;
    pump(lock);
  }

  void OnDone() override { delete this; }

 private:
  // gRPC is called with the lock released: it may run a reaction on this thread.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_) return;
    if (!out_.empty()) {
      writing_ = true;
      ::grpc::ByteBuffer* next = &out_.front();
      lock.unlock();
      StartWrite(next);
      lock.lock();
      return;
    }
    if (!ending_) return;
    finished_ = true;
    const ::grpc::Status s = status_;
    lock.unlock();
    Finish(s);
    lock.lock();
  }

  std::shared_ptr<const reflection_service> reflection_;
  const std::string package_;
  ::grpc::ByteBuffer in_;
  std::mutex mutex_;
  std::deque<::grpc::ByteBuffer> out_;
  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
  ::grpc::Status status_ = ::grpc::Status::OK;
};

}  // namespace

reflection_service::reflection_service(std::shared_ptr<const proto_set> protos,
                                       std::vector<std::string> services)
    : protos_(std::move(protos)), services_(std::move(services)) {}

::grpc::ServerGenericBidiReactor* reflection_service::reactor(const std::string& method) {
  for (const auto package : {v1alpha, v1}) {
    if (method == "/" + std::string(package) + ".ServerReflection/ServerReflectionInfo") {
      return new reflection_call(shared_from_this(), std::string(package));
    }
  }
  return nullptr;
}

std::string reflection_service::answer(const std::string& package,
                                       const std::string& request) const {
  json::value decoded;
  std::string error;
  std::string out;
  const bool read = protos_->to_json("type.googleapis.com/" + package + ".ServerReflectionRequest",
                                     request, decoded, error) &&
                    decoded.is_object();
  const json::object req = read ? decoded.get_object() : json::object();
  put_field(out, 1, string_field(req, "host"));  // valid_host
  put_field(out, 2, request);                    // original_request, as it came
  if (!read) {
    put_field(out, 7, error_response(3, "not a ServerReflectionRequest: " + error));
  } else if (req.contains("listServices")) {
    std::string list;
    for (const auto& s : services_) {
      std::string service;
      put_field(service, 1, s);
      put_field(list, 1, service);
    }
    put_field(out, 6, list);
  } else if (req.contains("fileByFilename") || req.contains("fileContainingSymbol")) {
    const bool by_symbol = req.contains("fileContainingSymbol");
    const std::string name =
        string_field(req, by_symbol ? "fileContainingSymbol" : "fileByFilename");
    const auto files = protos_->files_of(name, by_symbol);
    if (files.empty()) {
      put_field(out, 7,
                error_response(5, (by_symbol ? "symbol not found: " : "file not found: ") + name));
    } else {
      std::string list;
      for (const auto& f : files) put_field(list, 1, f);
      put_field(out, 4, list);
    }
  } else if (req.contains("allExtensionNumbersOfType")) {
    // proto3 services declare no extensions: the type's list is empty, when the type exists.
    const std::string type = string_field(req, "allExtensionNumbersOfType");
    if (protos_->files_of(type, true).empty()) {
      put_field(out, 7, error_response(5, "type not found: " + type));
    } else {
      std::string numbers;
      put_field(numbers, 1, type);
      put_field(out, 5, numbers);
    }
  } else if (req.contains("fileContainingExtension")) {
    put_field(out, 7, error_response(5, "extension not found"));
  } else {
    put_field(out, 7, error_response(12, "unknown reflection request"));
  }
  return out;
}

}  // namespace roost::grpc::detail
