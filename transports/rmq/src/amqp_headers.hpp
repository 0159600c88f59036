#pragma once
// What roost reads of an AMQP message's properties, apart from the connection (sans-I/O), so
// that the fuzzer can reach it: the headers table as roost headers, and AMQP short strings
// and byte strings as text.

#include <roost/headers.hpp>

#include <amqp.h>

#include <string_view>

namespace roost::rmq::detail {

std::string_view text_of(const amqp_bytes_t& b) noexcept;
/// The AMQP headers of a message as roost headers: strings as they are, numbers and booleans
/// as their text; other kinds (tables, arrays, timestamps...) are left out.
roost::headers headers_of(const amqp_basic_properties_t& p);

}  // namespace roost::rmq::detail
