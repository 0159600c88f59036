#include "balancer.hpp"

#include "client_impl.hpp"

#include <roost/errors.hpp>
#include <roost/net/resolve.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <unordered_set>

namespace roost::tcp::detail {

namespace asio = boost::asio;
using asio::use_awaitable;

// One address of one configured server.
struct balancer::member {
  endpoint configured;  // as the options name it
  std::string address;  // one address it resolved to
  std::uint16_t port = 0;
  std::shared_ptr<client::impl> link;
  // The rest under balancer::mutex_.
  std::unordered_set<std::string> calls;  // requests in flight on it
  bool up = true;                         // not known to be unreachable
  bool retrying = false;                  // a background retry runs
  bool gone = false;                      // its address no longer resolves
  std::chrono::milliseconds backoff{0};
  std::shared_ptr<asio::steady_timer> timer;  // the retry's wait, on the balancer's strand
};

// What one server's connection reports: replies go to the client's listener; a lost
// connection fails only the calls that were on it.
class balancer::member_listener final : public client_listener {
 public:
  member_listener(std::weak_ptr<balancer> owner, std::weak_ptr<member> m)
      : owner_(std::move(owner)), member_(std::move(m)) {}

  void on_reply(inbound_reply reply) override {
    if (auto b = owner_.lock(); b && b->listener_) b->listener_->on_reply(std::move(reply));
  }
  void on_connection_lost(boost::system::error_code ec, std::string_view why) override {
    auto b = owner_.lock();
    auto m = member_.lock();
    if (b && m) b->lost(*m, ec, why);
  }
  void on_status(connection_status s) override {
    if (s == connection_status::connecting) return;
    if (auto b = owner_.lock()) b->report_status();
  }

 private:
  std::weak_ptr<balancer> owner_;
  std::weak_ptr<member> member_;
};

namespace {

bool is_address(const std::string& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

std::string names_of(const std::vector<endpoint>& eps) {
  std::string out;
  for (const auto& ep : eps) {
    if (!out.empty()) out += ",";
    out += ep.host + ":" + std::to_string(ep.port);
  }
  return out;
}

}  // namespace

balancer::balancer(client_options opts) : opts_(std::move(opts)) {}

balancer::~balancer() = default;

void balancer::set_listener(std::shared_ptr<client_listener> l) noexcept {
  listener_ = std::move(l);
}

awaitable<bool> balancer::start() {
  auto ex = co_await asio::this_coro::executor;
  {
    std::lock_guard lock(mutex_);
    base_ex_ = ex;
    ex_ = asio::make_strand(ex);
  }
  for (const auto& ep : opts_.endpoints) {
    auto r = refresh(ep);
    co_await std::move(r);
  }
  {
    std::lock_guard lock(mutex_);
    if (members_.empty()) {
      throw connection_error(make_error_code(error::not_connected),
                             "cannot resolve any of " + names_of(opts_.endpoints));
    }
    resolved_ = true;
  }
  if (opts_.resolve_interval.count() > 0) {
    asio::co_spawn(*ex_, resolve_periodically(), asio::detached);
  }
  co_return true;
}

// Resolves `ep` again: adds the addresses it has now, drops those it lost whose connection is
// down (one that is up is kept until it goes).
awaitable<void> balancer::refresh(endpoint ep) {
  auto found = net::resolve(ep.host, ep.port);
  auto [ec, addresses] = co_await std::move(found);
  if (ec) {
    opts_.log.warn(client_source, "cannot resolve " + ep.host + ": " + ec.message());
    co_return;
  }
  std::lock_guard lock(mutex_);
  if (closed_) co_return;
  std::unordered_set<std::string> now;
  for (const auto& a : addresses) {
    std::string text = a.address().to_string();
    now.insert(text);
    const bool known = std::any_of(members_.begin(), members_.end(), [&](const auto& m) {
      return m->configured.host == ep.host && m->address == text && m->port == a.port();
    });
    if (known) continue;
    auto m = std::make_shared<member>();
    m->configured = ep;
    m->address = std::move(text);
    m->port = a.port();
    client_options o = opts_;
    o.endpoints.clear();
    o.host = m->address;
    o.port = m->port;
    // The certificate names the server, not the address it resolved to.
    if (o.tls && o.tls->server_name.empty() && !is_address(ep.host)) o.tls->server_name = ep.host;
    m->link = std::make_shared<client::impl>(std::move(o));
    m->link->listener = std::make_shared<member_listener>(weak_from_this(), m);
    members_.push_back(std::move(m));
  }
  for (auto& m : members_) {
    if (m->configured.host == ep.host && m->configured.port == ep.port && !m->up &&
        !now.contains(m->address)) {
      m->gone = true;
    }
  }
  std::erase_if(members_, [](const auto& m) { return m->gone; });
}

awaitable<void> balancer::resolve_periodically() {
  auto self = shared_from_this();
  auto timer = std::make_shared<asio::steady_timer>(*ex_);
  {
    std::lock_guard lock(mutex_);
    if (closed_) co_return;
    resolve_timer_ = timer;
  }
  for (;;) {
    timer->expires_after(opts_.resolve_interval);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    {
      std::lock_guard lock(mutex_);
      if (closed_) co_return;
    }
    for (const auto& ep : opts_.endpoints) {
      if (is_address(ep.host)) continue;
      auto r = refresh(ep);
      co_await std::move(r);
    }
  }
}

std::shared_ptr<balancer::member> balancer::choose(const std::vector<member*>& tried) {
  std::lock_guard lock(mutex_);
  const std::size_t n = members_.size();
  if (n == 0) return nullptr;
  auto untried = [&](const member* m) {
    return std::find(tried.begin(), tried.end(), m) == tried.end();
  };
  // Those up; when none is, every one not tried yet (a call is not failed without trying).
  bool any_up = false;
  for (const auto& m : members_) any_up = any_up || (m->up && untried(m.get()));
  std::size_t best = n;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (next_ + k) % n;
    const auto& m = members_[i];
    if ((any_up && !m->up) || !untried(m.get())) continue;
    if (best == n) {
      best = i;
      if (opts_.balance == balance_policy::round_robin) break;
    } else if (m->calls.size() < members_[best]->calls.size()) {
      best = i;
    }
  }
  if (best == n) return nullptr;
  next_ = best + 1;
  return members_[best];
}

template <class Send>
awaitable<void> balancer::send_to_one(const std::string* id, Send send) {
  bool ready = false;
  {
    std::lock_guard lock(mutex_);
    ready = resolved_;
  }
  if (!ready) {
    auto started = started_.run([this] { return resolved_now(); }, [this] { return start(); });
    co_await std::move(started);
  }
  std::vector<member*> tried;
  std::exception_ptr failure;
  for (;;) {
    auto m = choose(tried);
    if (!m) break;
    tried.push_back(m.get());
    auto c = m->link->open_connection();
    if (!c) {
      try {
        auto opened = m->link->connection_for_call();
        c = co_await std::move(opened);
      } catch (const connection_error&) {
        failure = std::current_exception();
      }
    }
    if (!c) {
      mark_down(m);
      continue;
    }
    if (id) {
      std::lock_guard lock(mutex_);
      m->calls.insert(*id);
    }
    if (!send(*c)) throw_closed();
    co_return;
  }
  if (failure) std::rethrow_exception(failure);
  throw connection_error(make_error_code(error::not_connected),
                         "no server to send to among " + names_of(opts_.endpoints));
}

awaitable<void> balancer::connect() {
  bool ready = false;
  {
    std::lock_guard lock(mutex_);
    ready = resolved_;
  }
  if (!ready) {
    auto started = started_.run([this] { return resolved_now(); }, [this] { return start(); });
    co_await std::move(started);
  }
  std::vector<std::shared_ptr<member>> all;
  {
    std::lock_guard lock(mutex_);
    all = members_;
  }
  std::exception_ptr failure;
  bool any = false;
  for (auto& m : all) {
    try {
      auto opened = m->link->connection_for_call();
      (void)co_await std::move(opened);
      any = true;
    } catch (const connection_error&) {
      failure = std::current_exception();
      mark_down(m);
    }
  }
  if (!any && failure) std::rethrow_exception(failure);
}

awaitable<void> balancer::send_request(const outbound_message& m) {
  auto sent = send_to_one(&m.id, [&m](connection& c) {
    return c.send_with([&m](std::string& out) {
      encode_request(out, m.pattern, m.data, std::string_view(m.id), m.metadata);
    });
  });
  co_await std::move(sent);
}

awaitable<void> balancer::send_event(const outbound_message& m) {
  std::string text;
  // NestJS's ClientTCP sends an event's pattern as its normalized route string.
  encode_event(text, json::value(m.route), m.data, m.metadata);
  auto sent = send_to_one(nullptr, [&text](connection& c) { return c.send(text); });
  co_await std::move(sent);
}

void balancer::end_request(const outbound_message& m) noexcept {
  std::lock_guard lock(mutex_);
  for (auto& mem : members_) {
    if (mem->calls.erase(m.id) > 0) return;
  }
}

bool balancer::resolved_now() {
  std::lock_guard lock(mutex_);
  return resolved_;
}

void balancer::mark_down(const std::shared_ptr<member>& m) {
  bool retry_it = false;
  {
    std::lock_guard lock(mutex_);
    m->up = false;
    retry_it = claim_retry(*m);
  }
  if (retry_it) spawn_retry(m);
}

void balancer::lost(member& m, boost::system::error_code ec, std::string_view why) {
  std::vector<std::string> ids;
  std::shared_ptr<member> retry_it;
  {
    std::lock_guard lock(mutex_);
    ids.assign(m.calls.begin(), m.calls.end());
    m.calls.clear();
    m.up = false;
    auto it = std::find_if(members_.begin(), members_.end(),
                           [&](const auto& p) { return p.get() == &m; });
    if (it != members_.end() && claim_retry(m)) retry_it = *it;
  }
  if (retry_it) spawn_retry(retry_it);
  if (!ids.empty() && listener_) listener_->on_calls_lost(ids, ec, why);
  report_status();
}

// Under mutex_: whether the caller is to start `m`'s retry (none runs yet).
bool balancer::claim_retry(member& m) {
  if (closed_ || m.retrying || m.gone || !ex_) return false;
  m.retrying = true;
  m.timer = std::make_shared<asio::steady_timer>(*ex_);
  return true;
}

// Not under mutex_: the strand may start the retry at once, on this thread.
void balancer::spawn_retry(const std::shared_ptr<member>& m) {
  std::optional<asio::any_io_executor> ex;
  {
    std::lock_guard lock(mutex_);
    ex = ex_;
  }
  asio::co_spawn(*ex, retry(m), asio::detached);
}

awaitable<void> balancer::retry(std::shared_ptr<member> m) {
  auto self = shared_from_this();
  for (;;) {
    std::shared_ptr<asio::steady_timer> timer;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || m->gone) {
        m->retrying = false;
        co_return;
      }
      m->backoff = std::clamp(m->backoff * 2, opts_.reconnect_min, opts_.reconnect_max);
      timer = m->timer;
      timer->expires_after(m->backoff);
    }
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    if (!is_address(m->configured.host)) {
      // The server may have moved to another address (a restarted pod).
      auto r = refresh(m->configured);
      co_await std::move(r);
    }
    {
      std::lock_guard lock(mutex_);
      if (closed_ || m->gone) {
        m->retrying = false;
        co_return;
      }
    }
    bool back = false;
    try {
      // Opened from the client's executor, not this strand, which would then serialize every
      // server's connection.
      auto opened = asio::co_spawn(*base_ex_, m->link->connection_for_call(), use_awaitable);
      (void)co_await std::move(opened);
      back = true;
    } catch (const connection_error&) {
    }
    if (back) {
      {
        std::lock_guard lock(mutex_);
        m->up = true;
        m->retrying = false;
        m->backoff = std::chrono::milliseconds(0);
      }
      opts_.log.info(client_source, "server " + m->address + ":" + std::to_string(m->port) +
                                        " is back; sending to it again");
      co_return;
    }
  }
}

void balancer::report_status() {
  if (!listener_) return;
  bool any = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& m : members_) any = any || m->link->open_connection() != nullptr;
  }
  listener_->on_status(any ? connection_status::connected : connection_status::disconnected);
}

void balancer::close() {
  std::vector<std::shared_ptr<member>> all;
  std::vector<std::shared_ptr<asio::steady_timer>> timers;
  std::optional<asio::any_io_executor> ex;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    all = members_;
    ex = ex_;
    for (const auto& m : members_) {
      if (m->timer) timers.push_back(m->timer);
    }
    if (resolve_timer_) timers.push_back(resolve_timer_);
  }
  if (ex && !timers.empty()) {
    // The timers run on the strand: cancelled there.
    asio::post(*ex, [timers = std::move(timers)] {
      for (const auto& t : timers) t->cancel();
    });
  }
  for (auto& m : all) m->link->close();
}

}  // namespace roost::tcp::detail
