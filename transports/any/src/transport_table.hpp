#pragma once
// The transport modules of this build, in the order of the build's module list (the generated
// transport_table.cpp).

#include <roost/transport_module.hpp>

#include <array>
#include <span>

namespace roost::detail {

std::span<const transport_module* const> transport_table() noexcept;

}  // namespace roost::detail
