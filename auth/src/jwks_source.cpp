#include <roost/auth/jwks_source.hpp>

#include <roost/auth/detail/guard_steps.hpp>
#include <roost/auth/detail/printable.hpp>
#include <roost/auth/oauth_error.hpp>
#include <roost/detail/single_flight.hpp>

#include "http_fetch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace roost::auth {

namespace asio = boost::asio;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

constexpr std::string_view source_name = "JwksSource";

jwt_rules with_issuer(jwt_rules rules, const jwks_options& o) {
  if (!o.issuer.empty() && rules.issuers.empty()) rules.issuers = {o.issuer};
  return rules;
}

std::string discovery_url(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  return issuer + "/.well-known/openid-configuration";
}

// The object of a provider's JSON answer, or why it is not one.
json::object json_document(const std::string& url, const detail::http_response& r) {
  if (r.status != 200) {
    throw oauth_error("GET " + url + ": answered HTTP " + std::to_string(r.status));
  }
  boost::system::error_code ec;
  json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) throw oauth_error("GET " + url + ": the answer is not a JSON object");
  return std::move(v.get_object());
}

}  // namespace

struct jwks_source::impl : std::enable_shared_from_this<impl> {
  // Whether a refresh was made (false: skipped by the rate limit, or failed).
  using outcome = std::shared_ptr<const bool>;

  impl(executor ex, jwt_rules rules, jwks_options o)
      : options(std::move(o)),
        verifier(
            std::make_shared<jwt_verifier>(with_issuer(std::move(rules), options), jwt_key_set())),
        http(options.http),
        strand(asio::make_strand(ex)),
        timer(strand),
        jwks_uri(options.jwks_uri),
        skipped(std::make_shared<const bool>(false)),
        done(std::make_shared<const bool>(true)) {
    if (options.jwks_uri.empty() && options.issuer.empty()) {
      throw oauth_error("jwks_source: give jwks_uri or issuer");
    }
    detail::http_url checked;
    const std::string& first = options.jwks_uri.empty() ? options.issuer : options.jwks_uri;
    if (auto why = detail::parse_http_url(first, options.http.allow_http, checked)) {
      throw oauth_error("jwks_source: " + first + ": " + *why);
    }
  }

  steady_clock::time_point now() const {
    return options.clock ? options.clock() : steady_clock::now();
  }

  // A fetch for an unknown kid, unless one ran within min_refresh_interval; joins one in
  // progress.
  awaitable<bool> refresh_limited() {
    auto self = shared_from_this();
    auto ready = [self]() -> outcome {
      const auto last = self->last_attempt.load();
      const auto since = self->now().time_since_epoch().count() - last;
      const auto interval =
          std::chrono::duration_cast<steady_clock::duration>(self->options.min_refresh_interval);
      if (last != never && since < interval.count()) return self->skipped;
      return nullptr;
    };
    auto start = [self]() { return self->fetch(); };
    auto r = co_await flight.run(ready, start);
    co_return *r;
  }

  // A fetch whatever the rate limit (start, the background refresh); joins one in progress.
  awaitable<bool> refresh_now() {
    auto self = shared_from_this();
    auto ready = []() -> outcome { return nullptr; };
    auto start = [self]() { return self->fetch(); };
    auto r = co_await flight.run(ready, start);
    co_return *r;
  }

  bool rate_limited() const {
    const auto last = last_attempt.load();
    if (last == never) return false;
    const auto interval =
        std::chrono::duration_cast<steady_clock::duration>(options.min_refresh_interval);
    return now().time_since_epoch().count() - last < interval.count();
  }

  // One fetch (single_flight runs one at a time): discovery when needed, then the document.
  awaitable<outcome> fetch() {
    last_attempt.store(now().time_since_epoch().count());
    fetch_count.fetch_add(1);
    std::string failure;
    try {
      auto fetched = fetch_keys();
      co_await std::move(fetched);
    } catch (const oauth_error& e) {
      failure = e.what();
    }
    if (failure.empty()) co_return done;
    {
      std::lock_guard lock(mutex);
      next_refresh = std::max(options.min_refresh_interval, seconds(1));
      last_failure = failure;
    }
    if (options.log.enabled(log_level::warn)) {
      options.log.warn(source_name, failure + " (keeping the keys in use)");
    }
    co_return skipped;
  }

  awaitable<void> fetch_keys() {
    if (jwks_uri.empty()) {
      const std::string url = discovery_url(options.issuer);
      auto got = http.get(url);
      auto r = co_await std::move(got);
      json::object doc = json_document(url, r);
      const json::value* issuer = doc.if_contains("issuer");
      if (!issuer || !issuer->is_string() || issuer->get_string() != options.issuer) {
        throw oauth_error("GET " + url + ": its issuer is not " + options.issuer +
                          " (OpenID Connect Discovery §4.3)");
      }
      const json::value* uri = doc.if_contains("jwks_uri");
      if (!uri || !uri->is_string()) throw oauth_error("GET " + url + ": no jwks_uri");
      detail::http_url checked;
      const std::string found(uri->get_string());
      if (auto why = detail::parse_http_url(found, options.http.allow_http, checked)) {
        throw oauth_error("GET " + url + ": jwks_uri " + detail::printable(found) + ": " + *why);
      }
      jwks_uri = found;
    }
    auto got = http.get(jwks_uri);
    auto r = co_await std::move(got);
    json::object doc = json_document(jwks_uri, r);
    auto keys = jwt_key_set::from_jwks(doc);
    if (!keys) throw oauth_error("GET " + jwks_uri + ": " + keys.error().message());
    if (keys->empty())
      throw oauth_error("GET " + jwks_uri + ": no signing key the verifier can use");
    const std::size_t count = keys->size();
    verifier->replace_keys(std::move(*keys));
    seconds period = options.refresh_period;
    if (period.count() <= 0) {
      const auto age = detail::max_age(r.cache_control);
      period = age ? std::clamp(*age, options.min_refresh_interval, options.max_refresh_period)
                   : options.default_refresh_period;
    }
    period = std::max(period, seconds(1));  // never a loop without a pause
    {
      std::lock_guard lock(mutex);
      next_refresh = period;
      last_failure.clear();
    }
    if (options.log.enabled(log_level::info)) {
      options.log.info(source_name, "keys from " + jwks_uri + ": " + std::to_string(count) +
                                        ", next refresh in " + std::to_string(period.count()) +
                                        " s");
    }
  }

  // The background refresh, on the strand, until stop().
  static awaitable<void> run_refreshes(std::shared_ptr<impl> self) {
    while (!self->stopped) {
      seconds wait;
      {
        std::lock_guard lock(self->mutex);
        wait = self->next_refresh;
      }
      self->timer.expires_after(wait);
      // Cancelled by stop() (or the clock moved): stopped says which.
      (void)co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (self->stopped) co_return;
      auto refreshed = self->refresh_now();
      co_await std::move(refreshed);
    }
  }

  void start_refreshes() {
    asio::post(strand, [self = shared_from_this()] {
      if (self->stopped || self->refreshing) return;
      self->refreshing = true;
      asio::co_spawn(self->strand, run_refreshes(self), asio::detached);
    });
  }

  void stop() {
    asio::post(strand, [self = shared_from_this()] {
      self->stopped = true;
      self->timer.cancel();
    });
  }

  static constexpr steady_clock::rep never = std::numeric_limits<steady_clock::rep>::min();

  const jwks_options options;
  const std::shared_ptr<jwt_verifier> verifier;
  const detail::http_fetcher http;
  asio::strand<executor> strand;
  asio::steady_timer timer;  // on the strand
  bool stopped = false;      // on the strand
  bool refreshing = false;   // on the strand
  // Written by fetches only, which single_flight runs one at a time.
  std::string jwks_uri;
  std::mutex mutex;  // guards the two below
  seconds next_refresh{options.min_refresh_interval};
  std::string last_failure;
  std::atomic<steady_clock::rep> last_attempt{never};
  std::atomic<std::size_t> fetch_count{0};
  roost::detail::single_flight<outcome> flight;
  const outcome skipped;
  const outcome done;
};

jwks_source::jwks_source(executor ex, jwt_rules rules, jwks_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(rules), std::move(options))),
      stop_with_last_copy_(nullptr, [i = impl_](void*) { i->stop(); }) {}

jwks_source::~jwks_source() = default;

awaitable<void> jwks_source::start() {
  auto self = impl_;
  auto fetched = self->refresh_now();
  const bool ok = co_await std::move(fetched);
  self->start_refreshes();
  if (!ok) {
    std::string why;
    {
      std::lock_guard lock(self->mutex);
      why = self->last_failure;
    }
    throw oauth_error(why);
  }
}

std::shared_ptr<const jwt_verifier> jwks_source::verifier() const {
  return impl_->verifier;
}

awaitable<jwt_result<json::object>> jwks_source::verify(std::string token) const {
  auto self = impl_;
  auto claims = self->verifier->verify(token);
  if (claims || claims.error().code != jwt_error::unknown_key) co_return claims;
  // Verified again whatever the refresh did: a fetch that ended just before this one was
  // refused by the rate limit may have brought the key.
  auto refreshed = self->refresh_limited();
  (void)co_await std::move(refreshed);
  co_return self->verifier->verify(token);
}

awaitable<bool> jwks_source::refresh() const {
  return impl_->refresh_limited();
}

void jwks_source::refresh_soon() const {
  if (impl_->rate_limited()) return;
  asio::co_spawn(impl_->strand, impl_->refresh_limited(), asio::detached);
}

std::size_t jwks_source::fetches() const noexcept {
  return impl_->fetch_count.load();
}

namespace {

struct guard_state {
  jwks_source keys;
  std::shared_ptr<const jwt_verifier> verifier;  // keys.verifier(), which never changes
  jwt_guard_options options;
};

// A coroutine of its own rather than a coroutine lambda: the frame owns what it uses.
awaitable<bool> admit_after_fetch(std::shared_ptr<const guard_state> s, context& ctx) {
  const auto token = detail::guard_token(ctx, s->options);
  if (!token) co_return false;
  auto verified = s->keys.verify(std::string(*token));
  auto claims = co_await std::move(verified);
  co_return detail::guard_admit(ctx, s->options, std::move(claims));
}

}  // namespace

roost::guard jwt_guard(jwks_source keys, jwt_guard_options options, unknown_key_policy policy) {
  auto verifier = keys.verifier();
  auto s = std::make_shared<const guard_state>(
      guard_state{std::move(keys), std::move(verifier), std::move(options)});
  if (policy == unknown_key_policy::refuse_and_refresh) {
    return roost::guard([s](context& ctx) {
      const auto token = detail::guard_token(ctx, s->options);
      if (!token) return false;
      auto claims = s->verifier->verify(*token);
      if (!claims && claims.error().code == jwt_error::unknown_key) s->keys.refresh_soon();
      return detail::guard_admit(ctx, s->options, std::move(claims));
    });
  }
  return roost::guard([s](context& ctx) { return admit_after_fetch(s, ctx); });
}

}  // namespace roost::auth
