// Feeds arbitrary bytes to the gRPC transport's direct conversion from a message's wire bytes
// to JSON (roost::grpc_codec), for a message holding every kind of field it converts: each
// scalar type, an enum, strings and bytes, packed and unpacked repeated fields, maps with
// scalar and message values, and nested messages (protobuf itself, which builds the
// descriptor, stays uninstrumented). Checked, besides the sanitizers: what it reads converts
// back to wire bytes, and those read back to the same JSON, but for empty lists: an empty
// packed run reads as `[]`, as protobuf's own conversion has it, and writes as nothing (the
// same message).
#include "wire_json.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

namespace pb = google::protobuf;

constexpr const char* schema = R"pb(
  name: "fuzz.proto"
  package: "fuzz"
  syntax: "proto3"
  enum_type {
    name: "Kind"
    value { name: "ZERO" number: 0 }
    value { name: "ONE" number: 1 }
  }
  message_type {
    name: "All"
    field { name: "i32" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "i32" }
    field { name: "i64" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "i64" }
    field { name: "u32" number: 3 label: LABEL_OPTIONAL type: TYPE_UINT32 json_name: "u32" }
    field { name: "u64" number: 4 label: LABEL_OPTIONAL type: TYPE_UINT64 json_name: "u64" }
    field { name: "s32" number: 5 label: LABEL_OPTIONAL type: TYPE_SINT32 json_name: "s32" }
    field { name: "s64" number: 6 label: LABEL_OPTIONAL type: TYPE_SINT64 json_name: "s64" }
    field { name: "f32" number: 7 label: LABEL_OPTIONAL type: TYPE_FIXED32 json_name: "f32" }
    field { name: "f64" number: 8 label: LABEL_OPTIONAL type: TYPE_FIXED64 json_name: "f64" }
    field { name: "sf32" number: 9 label: LABEL_OPTIONAL type: TYPE_SFIXED32 json_name: "sf32" }
    field { name: "sf64" number: 10 label: LABEL_OPTIONAL type: TYPE_SFIXED64 json_name: "sf64" }
    field { name: "fl" number: 11 label: LABEL_OPTIONAL type: TYPE_FLOAT json_name: "fl" }
    field { name: "db" number: 12 label: LABEL_OPTIONAL type: TYPE_DOUBLE json_name: "db" }
    field { name: "b" number: 13 label: LABEL_OPTIONAL type: TYPE_BOOL json_name: "b" }
    field { name: "s" number: 14 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "s" }
    field { name: "by" number: 15 label: LABEL_OPTIONAL type: TYPE_BYTES json_name: "by" }
    field {
      name: "kind"
      number: 16
      label: LABEL_OPTIONAL
      type: TYPE_ENUM
      type_name: ".fuzz.Kind"
      json_name: "kind"
    }
    field {
      name: "packed_ints"
      number: 17
      label: LABEL_REPEATED
      type: TYPE_SINT64
      json_name: "packedInts"
    }
    field {
      name: "doubles"
      number: 18
      label: LABEL_REPEATED
      type: TYPE_DOUBLE
      json_name: "doubles"
      options { packed: false }
    }
    field { name: "names" number: 19 label: LABEL_REPEATED type: TYPE_STRING json_name: "names" }
    field {
      name: "counts"
      number: 20
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".fuzz.All.CountsEntry"
      json_name: "counts"
    }
    field {
      name: "children"
      number: 21
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".fuzz.All.ChildrenEntry"
      json_name: "children"
    }
    field {
      name: "child"
      number: 22
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".fuzz.All"
      json_name: "child"
    }
    field {
      name: "list"
      number: 23
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".fuzz.All"
      json_name: "list"
    }
    field {
      name: "kinds"
      number: 24
      label: LABEL_REPEATED
      type: TYPE_ENUM
      type_name: ".fuzz.Kind"
      json_name: "kinds"
    }
    nested_type {
      name: "CountsEntry"
      options { map_entry: true }
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "key" }
      field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "value" }
    }
    nested_type {
      name: "ChildrenEntry"
      options { map_entry: true }
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "key" }
      field {
        name: "value"
        number: 2
        label: LABEL_OPTIONAL
        type: TYPE_MESSAGE
        type_name: ".fuzz.All"
        json_name: "value"
      }
    }
  }
)pb";

const pb::Descriptor* all() {
  // One pool for the whole run; libFuzzer calls the entry point many times.
  static const pb::Descriptor* d = [] {
    static pb::DescriptorPool pool;
    pb::FileDescriptorProto file;
    if (!pb::TextFormat::ParseFromString(schema, &file)) std::abort();
    const auto* f = pool.BuildFile(file);
    if (!f) std::abort();
    const auto* m = f->FindMessageTypeByName("All");
    if (!m || !roost::grpc::detail::direct(m)) std::abort();
    return m;
  }();
  return d;
}

// Leaves out the members that are empty lists, at every depth.
void drop_empty_lists(roost::json::value& v) {
  if (auto* o = v.if_object()) {
    for (auto it = o->begin(); it != o->end();) {
      if (it->value().is_array() && it->value().get_array().empty()) {
        it = o->erase(it);
      } else {
        drop_empty_lists(it->value());
        ++it;
      }
    }
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) drop_empty_lists(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)all();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace gd = roost::grpc::detail;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  roost::json::value json;
  if (!gd::wire_to_json(all(), bytes, json)) return 0;
  std::string wire;
  if (!gd::json_to_wire(all(), json, wire)) std::abort();
  roost::json::value again;
  const bool read_back = gd::wire_to_json(all(), wire, again);
  drop_empty_lists(json);
  drop_empty_lists(again);
  if (!read_back || again != json) {
    std::fprintf(stderr, "read:      %s\nread back: %s\n", boost::json::serialize(json).c_str(),
                 boost::json::serialize(again).c_str());
    std::abort();
  }
  return 0;
}
