#pragma once

#include <boost/json/value.hpp>

namespace roost {

/// Boost.JSON is roost's JSON document model; `roost::json::value` is what patterns, payloads and
/// packets are made of.
namespace json = boost::json;

}  // namespace roost
