// The gRPC benchmark's raw programs (bench/grpc.sh), on gRPC C++ alone (no roost):
//
// - the load generator keeps K unary calls of `/interop.Math/Sum` (tests/interop/grpc/
//   roost_test.proto) in flight on one channel for a fixed time, with the request
//   `{numbers: [1,2,3]}` (or --data's numbers, answered by --expect), encoded by hand; one
//   thread drives a completion queue, so the generator is not what is measured. Every reply is
//   checked, warm-up included (bench/reply_check.hpp): its status must be OK and its `total`
//   the expected number. A failed status, a wrong value or a call not answered 2 s after the
//   end (its deadline) fails the run (exit 1).
//     grpc_loadgen --target 127.0.0.1:50051 [--inflight K] [--seconds S] [--warmup W]
//   (--pattern /package.Service/Method calls another method with the same messages)
//
// - with --limit, what a plain gRPC C++ server does at best for this method: a callback
//   service registered for the method itself (the unary fast path a generated service takes,
//   written out here without a code generator), which decodes the request and encodes the
//   reply by hand and does nothing else. Prints READY <port>; stops on SIGTERM.
//     grpc_loadgen --limit --listen 127.0.0.1:0

#include "load_run.hpp"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using bench::clock_type;

namespace {

constexpr const char* method = "/interop.Math/Sum";

struct options : bench::load_options {
  std::string target = "127.0.0.1:50051";
  std::string listen = "127.0.0.1:0";
  bool limit = false;
};

// ---- the two messages, by hand: SumRequest {repeated int32 numbers = 1}, SumReply {int32
// total = 1} ------------------------------------------------------------------------------------

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// The numbers of "[1,2,3]", packed as field 1.
std::string encode_request(const std::string& data) {
  std::string packed;
  std::size_t i = 0;
  while (i < data.size()) {
    const char c = data[i];
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t used = 0;
      const long long n = std::stoll(data.substr(i), &used);
      put_varint(packed, static_cast<std::uint64_t>(static_cast<std::int64_t>(n)));
      i += used;
    } else {
      ++i;
    }
  }
  std::string out;
  if (packed.empty()) return out;
  out += '\x0a';
  put_varint(out, packed.size());
  return out + packed;
}

// The int32 field 1 of a message (packed or not, repeated values summed when `sum`), or false
// when the bytes are not such a message.
bool read_int32_field(std::string_view in, bool sum, std::int32_t& out) {
  out = 0;
  std::uint64_t key = 0, v = 0;
  while (!in.empty()) {
    if (!get_varint(in, key)) return false;
    if (key == 0x08) {
      if (!get_varint(in, v)) return false;
      out = sum ? out + static_cast<std::int32_t>(v) : static_cast<std::int32_t>(v);
    } else if (key == 0x0a && sum) {
      if (!get_varint(in, v) || v > in.size()) return false;
      std::string_view packed = in.substr(0, v);
      in.remove_prefix(v);
      while (!packed.empty()) {
        if (!get_varint(packed, v)) return false;
        out += static_cast<std::int32_t>(v);
      }
    } else {
      return false;  // no other field in these messages
    }
  }
  return true;
}

std::string bytes_of(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!b.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer buffer_of(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// ---- the limit server -------------------------------------------------------------------------

class limit_service final : public grpc::Service {
 public:
  limit_service() {
    AddMethod(new grpc::internal::RpcServiceMethod(method, grpc::internal::RpcMethod::NORMAL_RPC,
                                                   nullptr));
    MarkMethodRawCallback(
        0, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
               [](grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                  grpc::ByteBuffer* reply) {
                 auto* reactor = ctx->DefaultReactor();
                 std::int32_t total = 0;
                 if (!read_int32_field(bytes_of(*request), true, total)) {
                   reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "bad request"));
                   return reactor;
                 }
                 std::string out;
                 if (total != 0) {
                   out += '\x08';
                   put_varint(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(total)));
                 }
                 *reply = buffer_of(out);
                 reactor->Finish(grpc::Status::OK);
                 return reactor;
               }));
  }
};

volatile std::sig_atomic_t stopping = 0;

int serve_limit(const options& o) {
  limit_service service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_loadgen: cannot listen on %s\n", o.listen.c_str());
    return 1;
  }
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::signal(SIGINT, [](int) { stopping = 1; });
  std::printf("READY %d\n", port);
  std::fflush(stdout);
  while (!stopping) pause();
  server->Shutdown(std::chrono::system_clock::now());
  return 0;
}

// ---- the load generator -----------------------------------------------------------------------

struct slot {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call;
  grpc::ByteBuffer reply;
  grpc::Status status;
  clock_type::time_point sent;
};

int generate_load(const options& o) {
  bench::load_run run("grpc_loadgen");
  auto channel = grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    std::fprintf(stderr, "grpc_loadgen: cannot connect to %s\n", o.target.c_str());
    run.report(o, 1, 1);
    return 1;
  }
  grpc::GenericStub stub(channel);
  // --pattern names another method (a method the server lacks fails the run).
  const std::string path = o.pattern == "sum" ? method : o.pattern;
  grpc::CompletionQueue cq;
  const grpc::ByteBuffer request = buffer_of(encode_request(o.data));
  std::vector<slot> slots(static_cast<std::size_t>(o.inflight));
  run.start(o);
  // A call not answered 2 s after the end is lost.
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            run.stop() - clock_type::now() + std::chrono::seconds(2));
  const auto start = [&](slot& s) {
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.ctx->set_deadline(deadline);
    s.reply.Clear();
    s.sent = clock_type::now();
    s.call = stub.PrepareUnaryCall(s.ctx.get(), path, request, &cq);
    s.call->StartCall();
    s.call->Finish(&s.reply, &s.status, &s);
  };
  for (auto& s : slots) start(s);
  std::size_t active = slots.size();
  void* tag = nullptr;
  bool ok = false;
  while (active > 0 && cq.Next(&tag, &ok)) {
    auto& s = *static_cast<slot*>(tag);
    const auto now = clock_type::now();
    if (s.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++run.failed.lost;
    } else if (!s.status.ok()) {
      bench::reply r;
      r.error = true;
      const std::string what =
          std::to_string(s.status.error_code()) + " " + s.status.error_message();
      run.failed.check(r, o.expect, what);
    } else {
      bench::reply r;
      std::int32_t total = 0;
      const std::string bytes = bytes_of(s.reply);
      r.has_value = read_int32_field(bytes, false, total);
      r.value = total;
      if (run.failed.check(r, o.expect, "total " + std::to_string(total))) run.served(s.sent, now);
    }
    if (run.running(now)) {
      start(s);
    } else {
      --active;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return run.finish(o, 1, 0);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  o.expect = 6;
  auto own = [&](std::string_view k, const std::string& v) {
    if (k == "--limit") return o.limit = true;
    if (k == "--target") return o.target = v, true;
    if (k == "--listen") return o.listen = v, true;
    return false;
  };
  if (!bench::read_command_line(argc, argv, "grpc_loadgen", o, own, {"--limit"})) return 2;
  return o.limit ? serve_limit(o) : generate_load(o);
}
