#pragma once
/// \file The coroutine type of roost's API.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace roost {

/// roost's coroutines are Asio's: `co_await` any Asio operation with `use_awaitable`.
template <class T = void>
using awaitable = boost::asio::awaitable<T>;

using executor = boost::asio::any_io_executor;

}  // namespace roost
