#include <roost/dispatcher.hpp>

#include <roost/detail/json_writer.hpp>
#include <roost/errors.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <span>

namespace roost {
namespace {

constexpr std::string_view source = "dispatcher";

struct in_flight_guard {
  std::atomic<std::size_t>& n;
  explicit in_flight_guard(std::atomic<std::size_t>& c) : n(c) { n.fetch_add(1); }
  ~in_flight_guard() { n.fetch_sub(1); }
};

json::value internal_error() {
  return json::object{{"status", "error"}, {"message", "Internal server error"}};
}

}  // namespace

awaitable<void> immediate_reply_sink::send(reply_packet reply) {
  send_now(std::move(reply));
  co_return;
}

dispatcher::dispatcher(const router& r, logger log) : router_(r), log_(std::move(log)) {}

awaitable<void> dispatcher::dispatch(inbound_packet& packet, context& ctx, reply_sink* sink) {
  in_flight_guard guard(in_flight_);
  ctx.set_route(router_.routes().lookup_route(ctx.pattern()));
  ctx.set_request(packet.id.has_value() && sink != nullptr);
  const router::entry* e = router_.find(ctx.route());
  if (ctx.is_request()) {
    co_await serve_request(e, packet, ctx, *sink);
  } else {
    co_await serve_event(e, packet, ctx);
  }
}

bool dispatcher::try_dispatch(inbound_packet& p, context& ctx, reply_sink* sink) {
  return try_dispatch_route(router_.routes().lookup_route(ctx.pattern()), p, ctx, sink);
}

bool dispatcher::try_dispatch_route(std::string route, inbound_packet& p, context& ctx,
                                    reply_sink* sink) {
  ctx.set_route(std::move(route));
  ctx.set_request(p.id.has_value() && sink != nullptr);
  const router::entry* e = router_.find(ctx.route());
  if (ctx.is_request()) {
    // A request to event handlers only (NestJS's forkJoin reply) takes the general path.
    if (!sink->can_send_now() || (e && !(e->message && e->message.is_sync()))) return false;
    in_flight_guard guard(in_flight_);
    if (!e) {
      sink->send_now(reply_packet::no_handler());
      return true;
    }
    std::exception_ptr failure;
    try {
      auto r = e->message.call(p.data, ctx);
      reply_packet reply =
          r.value ? reply_packet::value(std::move(*r.value), true) : reply_packet::end();
      sink->send_now(std::move(reply));
      return true;
    } catch (...) {
      failure = std::current_exception();
    }
    ctx.set_handler_failed();
    sink->send_now(reply_packet::error(error_value(failure, ctx)));
    return true;
  }
  if (e) {
    const auto& handlers = e->events.empty() ? std::span(&e->message, 1) : std::span(e->events);
    for (const auto& h : handlers) {
      if (!h.is_sync()) return false;
    }
    in_flight_guard guard(in_flight_);
    for (std::size_t i = 0; i < handlers.size(); ++i) {
      try {
        if (i + 1 == handlers.size()) {
          handlers[i].call(p.data, ctx);
        } else {
          json::value copy = p.data;
          handlers[i].call(copy, ctx);
        }
      } catch (...) {
        ctx.set_handler_failed();
        (void)error_value(std::current_exception(), ctx);
      }
    }
    return true;
  }
  log_.error(source,
             "There is no matching event handler defined in the remote service. Event pattern: " +
                 ctx.route());
  return true;
}

awaitable<void> dispatcher::dispatch_route(std::string route, inbound_packet& packet, context& ctx,
                                           reply_sink* sink) {
  in_flight_guard guard(in_flight_);
  ctx.set_route(std::move(route));
  ctx.set_request(packet.id.has_value() && sink != nullptr);
  const router::entry* e = router_.find(ctx.route());
  if (ctx.is_request()) {
    co_await serve_request(e, packet, ctx, *sink);
  } else {
    co_await serve_event(e, packet, ctx);
  }
}

json::value dispatcher::error_value(std::exception_ptr ep, const context& ctx) const {
  try {
    std::rethrow_exception(ep);
  } catch (const rpc_exception& e) {
    return e.error();
  } catch (const std::exception& e) {
    log_.error(source, "handler for \"" + ctx.route() + "\" threw: " + e.what());
  } catch (...) {
    log_.error(source, "handler for \"" + ctx.route() + "\" threw a non-standard exception");
  }
  return internal_error();
}

awaitable<void> dispatcher::serve_request(const router::entry* e, inbound_packet& p, context& ctx,
                                          reply_sink& sink) {
  if (!e) {
    co_await sink.send(reply_packet::no_handler());
    co_return;
  }
  std::exception_ptr failure;
  try {
    if (e->message) {
      auto r = co_await e->message(p.data, ctx);
      co_await send_result(std::move(r), sink);
      co_return;
    }
    // A request to a route that has only event handlers: NestJS chains them and replies with
    // the chain's combined value (forkJoin of {current, next}); undefined members drop out.
    std::vector<std::optional<json::value>> values;
    for (const auto& h : e->events) {
      json::value data = p.data;
      auto r = co_await h(data, ctx);
      values.push_back(std::move(r.value));
    }
    std::optional<json::value> combined = values.back();
    for (std::size_t i = values.size() - 1; i-- > 0;) {
      json::object o;
      if (values[i]) o["current"] = std::move(*values[i]);
      if (combined) o["next"] = std::move(*combined);
      combined = json::value(std::move(o));
    }
    // Built before the co_await: GCC 12 destroys a conditional's temporary twice there.
    reply_packet reply =
        combined ? reply_packet::value(std::move(*combined), true) : reply_packet::end();
    co_await sink.send(std::move(reply));
    co_return;
  } catch (...) {
    failure = std::current_exception();
  }
  ctx.set_handler_failed();
  reply_packet error_reply = reply_packet::error(error_value(failure, ctx));
  co_await sink.send(std::move(error_reply));
}

awaitable<void> dispatcher::send_result(detail::handler_result r, reply_sink& sink) {
  if (!r.stream) {
    // Built before the co_await: GCC 12 destroys a conditional's temporary twice there.
    reply_packet reply =
        r.value ? reply_packet::value(std::move(*r.value), true) : reply_packet::end();
    co_await sink.send(std::move(reply));
    co_return;
  }
  const auto ex = co_await boost::asio::this_coro::executor;
  auto& src = *r.stream;
  // Hold the latest value back until we know whether the stream ends right after it: NestJS
  // merges `isDisposed` into the last packet when the end comes in the same tick.
  std::optional<json::value> pending;
  for (;;) {
    if (!src.poll(ex)) {
      if (pending) {
        reply_packet reply = reply_packet::value(std::move(*pending), false);
        pending.reset();
        co_await sink.send(std::move(reply));
      }
      co_await src.wait_ready();
    }
    std::optional<json::value> v;
    std::exception_ptr failure;
    try {
      v = src.take();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      // NestJS sends the values queued before the error, then the error with isDisposed.
      if (pending) {
        reply_packet reply = reply_packet::value(std::move(*pending), false);
        co_await sink.send(std::move(reply));
      }
      std::rethrow_exception(failure);
    }
    if (!v) {
      reply_packet reply =
          pending ? reply_packet::value(std::move(*pending), true) : reply_packet::end();
      co_await sink.send(std::move(reply));
      co_return;
    }
    if (pending) {
      reply_packet reply = reply_packet::value(std::move(*pending), false);
      co_await sink.send(std::move(reply));
    }
    pending = std::move(v);
  }
}

awaitable<void> dispatcher::serve_event(const router::entry* e, inbound_packet& p, context& ctx) {
  if (!e) {
    log_.error(source,
               "There is no matching event handler defined in the remote service. Event pattern: " +
                   ctx.route());
    co_return;  // not a failure: delivering it again would not find a handler either
  }
  const auto ex = co_await boost::asio::this_coro::executor;
  auto run = [&](const detail::erased_handler& h, json::value& data) -> awaitable<void> {
    try {
      auto r = co_await h(data, ctx);
      // A streamed result still runs to its end, as NestJS connects the observable.
      if (r.stream) {
        for (;;) {
          if (!r.stream->poll(ex)) co_await r.stream->wait_ready();
          if (!r.stream->take()) break;
        }
      }
    } catch (...) {
      ctx.set_handler_failed();
      (void)error_value(std::current_exception(), ctx);
    }
  };
  if (e->events.empty()) {
    co_await run(e->message, p.data);
    co_return;
  }
  for (std::size_t i = 0; i < e->events.size(); ++i) {
    if (i + 1 == e->events.size()) {
      co_await run(e->events[i], p.data);
    } else {
      json::value copy = p.data;
      co_await run(e->events[i], copy);
    }
  }
}

awaitable<bool> dispatcher::drain(std::chrono::steady_clock::duration deadline) const {
  const auto until = std::chrono::steady_clock::now() + deadline;
  const executor ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex);
  while (in_flight() > 0) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
  co_return true;
}

}  // namespace roost
