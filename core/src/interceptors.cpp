#include <roost/interceptors.hpp>

#include "response_cache.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace roost {
namespace {

constexpr std::string_view source = "interceptor";
// Where cache_interceptor's way in leaves the key for its way out.
constexpr std::string_view cache_key_attribute = "roost.cache_key";

std::chrono::nanoseconds elapsed(const context& ctx) {
  return std::chrono::steady_clock::now() - ctx.started();
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

std::string call_name(const context& ctx) {
  return std::string(ctx.is_request() ? "request \"" : "event \"") + ctx.route() + "\" (" +
         std::string(ctx.transport()) + ")";
}

std::string micros(const context& ctx) {
  return std::to_string(
             std::chrono::duration_cast<std::chrono::microseconds>(elapsed(ctx)).count()) +
         " us";
}

}  // namespace

interceptor logging_interceptor(logger log) {
  auto before = [log](context& ctx) -> std::optional<call_result> {
    if (log.enabled(log_level::debug)) log.debug(source, call_name(ctx) + " received");
    return std::nullopt;
  };
  auto after = [log](context& ctx, call_result&) {
    if (log.enabled(log_level::info))
      log.info(source, call_name(ctx) + " handled in " + micros(ctx));
  };
  auto on_error = [log](context& ctx, const std::exception_ptr& e) {
    if (log.enabled(log_level::warn)) {
      log.warn(source, call_name(ctx) + " failed after " + micros(ctx) + ": " + describe(e));
    }
  };
  return interceptor::hooks(std::move(before), std::move(after), std::move(on_error));
}

interceptor timing_interceptor(
    std::function<void(const context&, std::chrono::nanoseconds)> record) {
  auto after = [record](context& ctx, call_result&) { record(ctx, elapsed(ctx)); };
  auto on_error = [record](context& ctx, const std::exception_ptr&) { record(ctx, elapsed(ctx)); };
  return interceptor::hooks({}, std::move(after), std::move(on_error));
}

interceptor timeout_interceptor(std::chrono::milliseconds limit) {
  return interceptor::around([limit](context&, next_handler next) -> awaitable<call_result> {
    using namespace boost::asio::experimental::awaitable_operators;
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(ex);
    timer.expires_after(limit);
    auto call = next();
    auto expiry = timer.async_wait(boost::asio::use_awaitable);
    // Named, not a temporary of the co_await expression (GCC 12, docs/contributing.md).
    auto race = std::move(call) || std::move(expiry);
    auto outcome = co_await std::move(race);
    if (outcome.index() == 1) throw rpc_exception(std::string("Request timed out"));
    co_return std::move(std::get<0>(outcome));
  });
}

interceptor cache_interceptor(cache_options options) {
  if (options.ttl <= std::chrono::milliseconds::zero() || options.max_entries == 0) {
    throw std::invalid_argument("cache_interceptor: ttl and max_entries must be above zero");
  }
  auto cache = std::make_shared<detail::response_cache>(options.ttl, options.max_entries);
  auto before = [cache,
                 headers = std::move(options.headers)](context& ctx) -> std::optional<call_result> {
    const json::value* data = ctx.guarded_data();
    if (!ctx.is_request() || !data) return std::nullopt;
    std::string key = ctx.route();
    key += '\0';
    detail::append_canonical(key, *data);
    for (const std::string& name : headers) {
      const std::string* value = ctx.headers().get(name);
      key += '\0';
      if (value) key += "=" + *value;  // absent and empty differ
    }
    if (auto hit = cache->find(key)) return call_result{std::move(*hit), nullptr};
    ctx.attributes()[cache_key_attribute] = std::move(key);
    return std::nullopt;
  };
  auto after = [cache](context& ctx, call_result& result) {
    json::object& attributes = ctx.attributes();
    const auto it = attributes.find(cache_key_attribute);
    if (it == attributes.end()) return;
    if (!result.stream) cache->store(std::string(it->value().get_string()), result.value);
    attributes.erase(it);
  };
  auto on_error = [](context& ctx, const std::exception_ptr&) {
    ctx.attributes().erase(cache_key_attribute);
  };
  return interceptor::hooks(std::move(before), std::move(after), std::move(on_error));
}

}  // namespace roost
