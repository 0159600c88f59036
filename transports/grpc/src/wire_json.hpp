#pragma once
/// \file A direct conversion between a message's wire bytes and JSON, by its descriptor, for
/// the messages made of plain fields (scalars, enums, strings, bytes, maps, repeated fields and
/// messages of the same kind): what protobuf's own JSON conversion (through its type resolver
/// and object writers) gives, at a fraction of its cost. A message with anything else (a
/// well-known type, a group) is not `direct()`, and anything these functions do not take
/// (a value that does not fit, bytes that do not decode) makes them return false: the caller
/// then converts with protobuf's own, which says what is wrong.

#include <roost/json.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace google::protobuf {
class Descriptor;
}

namespace roost::grpc::detail {

/// Whether the messages of `d` are converted here: no well-known type, group or extension in it,
/// nor in the messages it holds.
bool direct(const google::protobuf::Descriptor* d);

/// The wire bytes of a message of `d` to JSON (docs/transports/grpc.md: the fields on the wire,
/// lowerCamelCase names, enums as numbers, 64-bit integers as strings, bytes in base64). False
/// when the bytes do not decode.
bool wire_to_json(const google::protobuf::Descriptor* d, std::string_view bytes, json::value& out);

/// A JSON object to the wire bytes of a message of `d` (names in either case, unknown ones and
/// nulls left out). False when a value does not fit its field.
bool json_to_wire(const google::protobuf::Descriptor* d, const json::value& value,
                  std::string& out);

}  // namespace roost::grpc::detail
