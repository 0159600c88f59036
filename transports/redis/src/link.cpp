#include "link.hpp"

#include <roost/errors.hpp>
#include <roost/net/tls_context.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace roost::redis::detail {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {
std::exception_ptr closed_error() {
  return std::make_exception_ptr(
      connection_error(make_error_code(error::connection_closed), "Connection closed"));
}
}  // namespace

link::link(connection_options o, logger log, std::string_view side, bool pub_replies)
    : opts_(std::move(o)),
      log_(std::move(log)),
      side_(side),
      pub_replies_(pub_replies),
      tls_(opts_.tls ? std::optional(net::make_tls_context(*opts_.tls, net::tls_side::client))
                     : std::nullopt) {}

std::shared_ptr<connection> link::pub() const {
  std::lock_guard lock(mutex_);
  return pub_;
}
std::shared_ptr<connection> link::sub() const {
  std::lock_guard lock(mutex_);
  return sub_;
}
bool link::is_up() const {
  std::lock_guard lock(mutex_);
  return state_ == state::up;
}

awaitable<void> link::ensure_up() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state::up) co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  auto self = shared_from_this();
  // A failed attempt's exception is rethrown here by use_awaitable.
  auto wait = [self, ex](auto handler) {
    std::unique_lock lock(self->mutex_);
    if (self->state_ == state::up) {
      lock.unlock();
      auto hex = asio::get_associated_executor(handler);
      asio::post(hex, asio::append(std::move(handler), std::exception_ptr()));
      return;
    }
    const bool start = self->state_ == state::idle;
    if (start) {
      self->state_ = state::connecting;
      self->ex_ = ex;
    }
    auto hex = asio::get_associated_executor(handler);
    self->waiters_.emplace_back(std::move(hex), std::move(handler));
    const unsigned generation = self->generation_;
    lock.unlock();
    // co_spawn may start the loop inline, which takes the mutex.
    if (start) asio::co_spawn(ex, connect_loop(self, false, generation), asio::detached);
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void(std::exception_ptr)>(
      std::move(wait), use_awaitable);
}

void link::wake(std::exception_ptr e) {
  std::vector<waiter> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(waiters_);
  }
  for (auto& [ex, h] : all) asio::post(ex, asio::append(std::move(h), e));
}

bool link::may_retry(unsigned failures) const {
  return !opts_.retry.attempts || failures <= *opts_.retry.attempts;
}

std::chrono::milliseconds link::delay(unsigned failures) const {
  if (opts_.retry.attempts) return opts_.retry.delay;
  auto d = std::chrono::milliseconds(50);
  for (unsigned i = 1; i < failures && d < opts_.retry.max_delay; ++i) d *= 2;
  return std::min(d, opts_.retry.max_delay);
}

awaitable<void> link::connect_loop(std::shared_ptr<link> self, bool reconnecting,
                                   unsigned generation) {
  auto ex = co_await asio::this_coro::executor;
  unsigned failures = 0;
  if (reconnecting) {
    // NestJS (ioredis) waits its retry delay before the first reconnection attempt too.
    if (!self->may_retry(1)) co_return;
    failures = 1;
  }
  for (;;) {
    if (failures > 0) {
      asio::steady_timer t(ex, self->delay(failures));
      co_await t.async_wait(asio::as_tuple(use_awaitable));
    }
    {
      std::lock_guard lock(self->mutex_);
      if (self->generation_ != generation) co_return;
    }
    if (self->hooks_.on_status) {
      self->hooks_.on_status(failures > 0 ? connection_status::reconnecting
                                          : connection_status::connecting);
    }
    std::exception_ptr failure;
    std::shared_ptr<connection> pub, sub;
    try {
      // Each call in a statement of its own: GCC 12 destroys by-value arguments (the strand,
      // the logger) of a coroutine called inside a co_await expression twice.
      auto* tls = self->tls_ ? &*self->tls_ : nullptr;
      auto open_pub = connection::open(self->opts_, tls, asio::make_strand(ex), self->log_,
                                       self->side_, self->pub_replies_);
      pub = co_await std::move(open_pub);
      auto open_sub =
          connection::open(self->opts_, tls, asio::make_strand(ex), self->log_, self->side_);
      sub = co_await std::move(open_sub);
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure) {
      std::weak_ptr<link> weak = self;
      const connection* pub_id = pub.get();
      const connection* sub_id = sub.get();
      // Started before they are published below: from then on any thread may send on them,
      // and sending reads what start() sets.
      sub->start(
          true,
          [weak](const redisReply& r) {
            if (auto s = weak.lock(); s && s->hooks_.on_push) s->hooks_.on_push(r);
          },
          [weak, sub_id](std::string_view why) {
            if (auto s = weak.lock()) s->lost(sub_id, why);
          },
          // What the pushes published (a server's replies, a client's next requests) leaves
          // as they are served, not after the whole batch.
          [weak_pub = std::weak_ptr<connection>(pub)] {
            if (auto p = weak_pub.lock()) p->flush_now();
          });
      pub->start(false, {}, [weak, pub_id](std::string_view why) {
        if (auto s = weak.lock()) s->lost(pub_id, why);
      });
      bool published = false;
      {
        std::lock_guard lock(self->mutex_);
        if (self->generation_ != generation) {
          pub->close();
          sub->close();
          co_return;
        }
        // One that closed before it is published goes unreported (lost() ignores a connection
        // that is not the current one): the attempt failed then. One that closes after is
        // reported.
        if (pub->is_open() && sub->is_open()) {
          self->pub_ = pub;
          self->sub_ = sub;
          self->state_ = state::up;
          published = true;
        }
      }
      if (!published) {
        sub->close();
        failure = std::make_exception_ptr(connection_error(make_error_code(error::connection_lost),
                                                           "connection closed while connecting"));
      }
    }
    if (!failure) {
      if (self->hooks_.on_up) self->hooks_.on_up(*pub, *sub);
      self->log_.info(self->side_, std::string(reconnecting ? "reconnected to " : "connected to ") +
                                       self->opts_.host + ":" + std::to_string(self->opts_.port));
      self->wake(nullptr);
      if (self->hooks_.on_status) self->hooks_.on_status(connection_status::connected);
      co_return;
    }
    if (pub) pub->close();
    ++failures;
    std::string why = "connection failed";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      why = e.what();
    }
    // Callers waiting now get this attempt's error at once; the loop goes on behind them.
    self->wake(failure);
    if (!self->may_retry(failures)) {
      self->log_.error(self->side_, why + "; giving up");
      {
        std::lock_guard lock(self->mutex_);
        if (self->generation_ == generation) self->state_ = state::idle;
      }
      if (self->hooks_.on_status) self->hooks_.on_status(connection_status::disconnected);
      co_return;
    }
    self->log_.warn(self->side_,
                    why + "; retrying in " + std::to_string(self->delay(failures).count()) + " ms");
  }
}

void link::lost(const connection* which, std::string_view why) {
  std::shared_ptr<connection> pub, sub;
  bool reconnect = false;
  unsigned generation = 0;
  {
    std::lock_guard lock(mutex_);
    generation = generation_;
    if (state_ != state::up || (pub_.get() != which && sub_.get() != which)) return;
    pub = std::move(pub_);
    sub = std::move(sub_);
    reconnect = may_retry(1);
    state_ = reconnect ? state::connecting : state::idle;
  }
  // The other connection goes too: the pair is re-made as one.
  if (pub) pub->close();
  if (sub) sub->close();
  log_.warn(side_, "connection to " + opts_.host + ":" + std::to_string(opts_.port) + " lost" +
                       (why.empty() ? std::string() : " (" + std::string(why) + ")") +
                       (reconnect ? "; reconnecting" : ""));
  if (hooks_.on_down) hooks_.on_down(why);
  if (hooks_.on_status) {
    hooks_.on_status(reconnect ? connection_status::reconnecting : connection_status::disconnected);
  }
  if (reconnect) {
    asio::co_spawn(ex_, connect_loop(shared_from_this(), true, generation), asio::detached);
  }
}

void link::close() {
  shut(std::nullopt);
}

void link::close_when_flushed(std::chrono::milliseconds deadline) {
  shut(deadline);
}

void link::shut(std::optional<std::chrono::milliseconds> flush_within) {
  std::shared_ptr<connection> pub, sub;
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    state_ = state::idle;
    pub = std::move(pub_);
    sub = std::move(sub_);
    if (flush_within) flushing_ = pub;
  }
  if (pub && flush_within) {
    pub->close_when_flushed(*flush_within);
  } else if (pub) {
    pub->close();
  }
  if (sub) sub->close();
  wake(closed_error());
  if (hooks_.on_status) hooks_.on_status(connection_status::closed);
}

bool link::closed() const {
  std::lock_guard lock(mutex_);
  const auto open = [](const std::shared_ptr<connection>& c) { return c && c->is_open(); };
  return !open(pub_) && !open(sub_) && !open(flushing_);
}

}  // namespace roost::redis::detail
