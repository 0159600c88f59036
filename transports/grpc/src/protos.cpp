#include "protos.hpp"

#include "builtin_protos.hpp"
#include "wire_json.hpp"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace roost::grpc::detail {

namespace pb = google::protobuf;

namespace {

constexpr std::string_view type_url_prefix = "type.googleapis.com";

// The parser's errors, kept to be thrown together.
class error_list final : public pb::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column, const std::string& msg) override {
    text_ += "\n  " + file + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
             ": " + msg;
  }
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

bool in_package(std::string_view name, std::string_view package) {
  return name.size() > package.size() && name.substr(0, package.size()) == package &&
         name[package.size()] == '.';
}

// Each message type of `d` and nested in it that wire_json converts, by type URL.
void collect_direct(const pb::Descriptor* d,
                    std::unordered_map<std::string, const pb::Descriptor*>& out) {
  if (direct(d)) out.emplace(std::string(type_url_prefix) + "/" + d->full_name(), d);
  for (int i = 0; i < d->nested_type_count(); ++i) collect_direct(d->nested_type(i), out);
}

void collect_files(const pb::FileDescriptor* f, std::set<const pb::FileDescriptor*>& seen) {
  if (!seen.insert(f).second) return;
  for (int i = 0; i < f->dependency_count(); ++i) collect_files(f->dependency(i), seen);
}

// The files on disk, and the built-in ones (builtin_protos.hpp) by their names.
class source_tree final : public pb::compiler::SourceTree {
 public:
  pb::compiler::DiskSourceTree disk;

  pb::io::ZeroCopyInputStream* Open(const std::string& name) override {
    const std::string_view text = builtin_proto(name);
    if (!text.empty()) {
      return new pb::io::ArrayInputStream(text.data(), static_cast<int>(text.size()));
    }
    return disk.Open(name);
  }
  std::string GetLastErrorMessage() override { return disk.GetLastErrorMessage(); }
};

}  // namespace

struct proto_set::impl {
  source_tree tree;
  error_list errors;
  pb::compiler::Importer importer{&tree, &errors};
  std::unique_ptr<pb::util::TypeResolver> resolver;
  // The messages converted by wire_json (the others by protobuf's JSON conversion), by type URL.
  std::unordered_map<std::string, const pb::Descriptor*> direct_types;
};

proto_set::proto_set(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
proto_set::~proto_set() = default;

std::shared_ptr<const proto_set> proto_set::load(const proto_options& o,
                                                 const std::vector<std::string>& builtins) {
  if (o.proto_paths.empty()) throw std::invalid_argument("grpc: no protoPath given");
  if (o.packages.empty()) throw std::invalid_argument("grpc: no package given");
  auto i = std::make_unique<impl>();
  // A file is imported by its name, found beside the file named (a path that exists, or an
  // absolute one), in the include directories, then among the system's protobuf includes.
  std::vector<std::string> imports;
  for (const auto& p : o.proto_paths) {
    std::filesystem::path path(p);
    std::error_code ec;
    if (!path.is_absolute() && std::filesystem::exists(path, ec)) {
      path = std::filesystem::absolute(path, ec).lexically_normal();
    }
    if (!builtin_proto(p).empty()) {
      imports.push_back(p);
    } else if (path.is_absolute()) {
      i->tree.disk.MapPath("", path.parent_path().string());
      imports.push_back(path.filename().string());
    } else {
      imports.push_back(path.lexically_normal().string());
    }
  }
  for (const auto& d : o.include_dirs) i->tree.disk.MapPath("", d);
  i->tree.disk.MapPath("", "/usr/include");
  imports.insert(imports.end(), builtins.begin(), builtins.end());
  std::set<const pb::FileDescriptor*> files;
  for (const auto& name : imports) {
    const pb::FileDescriptor* f = i->importer.Import(name);
    if (!f) {
      throw std::invalid_argument(
          "grpc: cannot load " + name +
          (i->errors.text().empty() ? ": file not found" : ":" + i->errors.text()));
    }
    collect_files(f, files);
  }
  std::vector<method_info> methods;
  for (const auto& package : o.packages) {
    bool found = false;
    for (const auto* f : files) {
      if (f->package() == package || in_package(f->package(), package)) found = true;
      for (int s = 0; s < f->service_count(); ++s) {
        const pb::ServiceDescriptor* svc = f->service(s);
        if (!in_package(svc->full_name(), package)) continue;
        for (int m = 0; m < svc->method_count(); ++m) {
          const pb::MethodDescriptor* md = svc->method(m);
          method_info info;
          info.path = "/" + svc->full_name() + "/" + md->name();
          info.service = svc->name();
          info.service_full = svc->full_name();
          info.rpc = md->name();
          info.client_streaming = md->client_streaming();
          info.server_streaming = md->server_streaming();
          info.input_type = std::string(type_url_prefix) + "/" + md->input_type()->full_name();
          info.output_type = std::string(type_url_prefix) + "/" + md->output_type()->full_name();
          methods.push_back(std::move(info));
        }
      }
    }
    // NestJS's InvalidGrpcPackageException.
    if (!found) throw std::invalid_argument("grpc: the invalid gRPC package " + package);
  }
  for (const auto* f : files) {
    for (int m = 0; m < f->message_type_count(); ++m) {
      collect_direct(f->message_type(m), i->direct_types);
    }
  }
  i->resolver.reset(
      pb::util::NewTypeResolverForDescriptorPool(std::string(type_url_prefix), i->importer.pool()));
  auto set = std::shared_ptr<proto_set>(new proto_set(std::move(i)));
  set->methods_ = std::move(methods);
  return set;
}

const method_info* proto_set::find(std::string_view service, std::string_view rpc) const noexcept {
  for (const auto& m : methods_) {
    if ((m.service == service || m.service_full == service) && m.rpc == rpc) return &m;
  }
  return nullptr;
}

std::vector<std::string> proto_set::files_of(std::string_view name, bool by_symbol) const {
  const pb::DescriptorPool* pool = impl_->importer.pool();
  const pb::FileDescriptor* file = by_symbol ? pool->FindFileContainingSymbol(std::string(name))
                                             : pool->FindFileByName(std::string(name));
  std::vector<std::string> out;
  if (!file) return out;
  std::set<const pb::FileDescriptor*> seen;
  std::vector<const pb::FileDescriptor*> todo{file};
  while (!todo.empty()) {  // the file first, then what it imports
    const pb::FileDescriptor* f = todo.front();
    todo.erase(todo.begin());
    if (!seen.insert(f).second) continue;
    pb::FileDescriptorProto proto;
    f->CopyTo(&proto);
    out.push_back(proto.SerializeAsString());
    for (int i = 0; i < f->dependency_count(); ++i) todo.push_back(f->dependency(i));
  }
  return out;
}

bool proto_set::to_json(const std::string& type_url, const std::string& binary, json::value& out,
                        std::string& error, bool direct) const {
  // The direct conversion; anything it does not take goes through protobuf's, which says why.
  if (auto it = impl_->direct_types.find(type_url); direct && it != impl_->direct_types.end()) {
    if (wire_to_json(it->second, binary, out)) return true;
  }
  pb::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;  // proto-loader's default `enums: Number`
  std::string text;
  const auto status =
      pb::util::BinaryToJsonString(impl_->resolver.get(), type_url, binary, &text, options);
  if (!status.ok()) {
    error = std::string(status.message());
    return false;
  }
  boost::system::error_code ec;
  out = boost::json::parse(text, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  return true;
}

bool proto_set::to_binary(const std::string& type_url, const json::value& value, std::string& out,
                          std::string& error, bool direct) const {
  if (!value.is_object()) {
    error = "a message must be a JSON object, not " + boost::json::serialize(value);
    return false;
  }
  if (auto it = impl_->direct_types.find(type_url); direct && it != impl_->direct_types.end()) {
    if (json_to_wire(it->second, value, out)) return true;
    out.clear();
  }
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // as protobuf.js's fromObject
  const auto status = pb::util::JsonToBinaryString(impl_->resolver.get(), type_url,
                                                   boost::json::serialize(value), &out, options);
  if (!status.ok()) {
    error = std::string(status.message());
    return false;
  }
  return true;
}

}  // namespace roost::grpc::detail
