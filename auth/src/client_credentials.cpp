#include <roost/auth/client_credentials.hpp>

#include <roost/auth/detail/printable.hpp>
#include <roost/auth/oauth_error.hpp>
#include <roost/detail/single_flight.hpp>

#include "http_fetch.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <mutex>

namespace roost::auth {

namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr std::string_view source_name = "ClientCredentials";

// A token and when it is to be replaced.
struct cached_token {
  std::string value;
  steady_clock::time_point refresh_at;
};

bool is_bearer(std::string_view type) {
  constexpr std::string_view bearer = "bearer";
  return type.size() == bearer.size() &&
         std::equal(type.begin(), type.end(), bearer.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// `expires_in` as RFC 6749 §5.1 has it (a number), or as a numeric string, which some servers
// send; nullopt when absent or unusable.
std::optional<double> lifetime_of(const json::object& answer) {
  const json::value* v = answer.if_contains("expires_in");
  if (!v) return std::nullopt;
  double seconds = -1;
  if (v->is_number()) {
    seconds = v->to_number<double>();
  } else if (v->is_string()) {
    const std::string text(v->get_string());
    char* end = nullptr;
    seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) seconds = -1;
  }
  if (!std::isfinite(seconds) || seconds <= 0) return std::nullopt;
  return std::min(seconds, 10.0 * 365 * 24 * 3600);
}

// The refusal of a token endpoint (RFC 6749 §5.2): its `error` and `error_description`,
// quoted, as they come from the server.
std::string refusal(const detail::http_response& r) {
  std::string why = "answered HTTP " + std::to_string(r.status);
  boost::system::error_code ec;
  json::value v = boost::json::parse(r.body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o) return why;
  if (const json::value* e = o->if_contains("error"); e && e->is_string()) {
    why += ": " + detail::printable(e->get_string());
  }
  if (const json::value* d = o->if_contains("error_description"); d && d->is_string()) {
    why += " (" + detail::printable(d->get_string()) + ")";
  }
  return why;
}

}  // namespace

struct client_credentials::impl : std::enable_shared_from_this<impl> {
  using token_ptr = std::shared_ptr<const cached_token>;

  explicit impl(client_credentials_options o) : options(std::move(o)), http(options.http) {
    detail::http_url checked;
    if (auto why = detail::parse_http_url(options.token_url, options.http.allow_http, checked)) {
      throw oauth_error("client_credentials: " + options.token_url + ": " + *why);
    }
    if (options.client_id.empty()) throw oauth_error("client_credentials: no client_id");
  }

  steady_clock::time_point now() const {
    return options.clock ? options.clock() : steady_clock::now();
  }

  awaitable<std::string> token() {
    auto self = shared_from_this();
    auto ready = [self]() -> token_ptr {
      std::lock_guard lock(self->mutex);
      if (self->current && self->now() < self->current->refresh_at) return self->current;
      return nullptr;
    };
    auto start = [self]() { return self->fetch(); };
    auto t = co_await flight.run(ready, start);
    co_return t->value;
  }

  awaitable<token_ptr> fetch() {
    fetch_count.fetch_add(1);
    std::vector<std::pair<std::string, std::string>> form{{"grant_type", "client_credentials"}};
    if (!options.scope.empty()) form.emplace_back("scope", options.scope);
    if (!options.audience.empty()) form.emplace_back("audience", options.audience);
    std::string authorization;
    if (options.authentication == client_authentication::basic) {
      authorization = detail::basic_authorization(options.client_id, options.client_secret);
    } else {
      form.emplace_back("client_id", options.client_id);
      if (!options.client_secret.empty()) form.emplace_back("client_secret", options.client_secret);
    }
    const std::string prefix = "POST " + options.token_url + ": ";
    const auto asked = now();
    token_ptr t;
    try {
      auto posted = http.post_form(options.token_url, detail::form_encode(form), authorization);
      const detail::http_response r = co_await std::move(posted);
      if (r.status != 200) throw oauth_error(prefix + refusal(r));
      t = std::make_shared<const cached_token>(accept(r, asked, prefix));
    } catch (const oauth_error& e) {
      if (options.log.enabled(log_level::warn)) options.log.warn(source_name, e.what());
      throw;
    }
    {
      std::lock_guard lock(mutex);
      current = t;
    }
    co_return t;
  }

  // The token of a 200 answer (RFC 6749 §5.1), or why there is none.
  cached_token accept(const detail::http_response& r, steady_clock::time_point asked,
                      const std::string& prefix) const {
    boost::system::error_code ec;
    json::value v = boost::json::parse(r.body, ec);
    const json::object* answer = ec ? nullptr : v.if_object();
    if (!answer) throw oauth_error(prefix + "the answer is not a JSON object");
    const json::value* token = answer->if_contains("access_token");
    if (!token || !token->is_string() || token->get_string().empty()) {
      throw oauth_error(prefix + "the answer has no access_token");
    }
    const json::value* type = answer->if_contains("token_type");
    if (!type || !type->is_string() || !is_bearer(type->get_string())) {
      throw oauth_error(prefix + "token_type " +
                        (type && type->is_string() ? detail::printable(type->get_string())
                                                   : std::string("missing")) +
                        ", not Bearer");
    }
    const auto lifetime =
        std::chrono::duration_cast<steady_clock::duration>(std::chrono::duration<double>(
            lifetime_of(*answer).value_or(static_cast<double>(options.assumed_lifetime.count()))));
    // Counted from when the token was asked for: the server's clock started before ours.
    const auto margin = std::min<steady_clock::duration>(options.refresh_margin, lifetime / 2);
    if (options.log.enabled(log_level::debug)) {
      options.log.debug(source_name,
                        "new token from " + options.token_url + " for " +
                            std::to_string(std::chrono::duration_cast<seconds>(lifetime).count()) +
                            " s");
    }
    return {std::string(token->get_string()), asked + lifetime - margin};
  }

  void invalidate() {
    std::lock_guard lock(mutex);
    current.reset();
  }

  const client_credentials_options options;
  const detail::http_fetcher http;
  std::mutex mutex;  // guards current
  token_ptr current;
  std::atomic<std::size_t> fetch_count{0};
  roost::detail::single_flight<token_ptr> flight;
};

client_credentials::client_credentials(client_credentials_options options)
    : impl_(std::make_shared<impl>(std::move(options))) {}

client_credentials::~client_credentials() = default;

awaitable<std::string> client_credentials::token() {
  return impl_->token();
}

void client_credentials::invalidate() {
  impl_->invalidate();
}

namespace {

// A coroutine of its own rather than a coroutine lambda: the frame owns `self`.
awaitable<void> attach_bearer(std::shared_ptr<client_credentials::impl> self, call_options& o) {
  auto t = self->token();
  const std::string token = co_await std::move(t);
  o.headers.set("authorization", "Bearer " + token);
}

}  // namespace

std::function<awaitable<void>(call_options&)> client_credentials::bearer() const {
  return [self = impl_](call_options& o) { return attach_bearer(self, o); };
}

std::size_t client_credentials::fetches() const noexcept {
  return impl_->fetch_count.load();
}

}  // namespace roost::auth
