#pragma once
// One HTTP request per connection to an OAuth2 / OpenID Connect provider: GET a document or
// POST a form, over TLS unless plain HTTP was allowed, under one deadline.

#include <roost/auth/http_options.hpp>
#include <roost/awaitable.hpp>

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::auth::detail {

/// The parts of an `https://host[:port][/path][?query]` URL a request needs.
struct http_url {
  bool tls = true;
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 443;
  std::string target;  // path and query as written; "/" when none
  std::string host_header;
};

/// The URL's parts, or why it cannot be used (not http(s), plain http not allowed, user info,
/// a fragment, no host, a bad port).
std::optional<std::string> parse_http_url(std::string_view text, bool allow_http, http_url& out);

struct http_response {
  unsigned status = 0;
  std::string body;
  std::string cache_control;
};

/// `max-age` of a Cache-Control value; nullopt without one, 0 for `no-store` or `no-cache`.
std::optional<std::chrono::seconds> max_age(std::string_view cache_control);

/// application/x-www-form-urlencoded (RFC 6749 appendix B).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
/// `Basic <base64(urlencode(id):urlencode(secret))>` (RFC 6749 §2.3.1).
std::string basic_authorization(std::string_view id, std::string_view secret);

/// Requests with one set of http_options; the TLS context is made once. Thread-safe.
class http_fetcher {
 public:
  /// Throws oauth_error when the TLS settings do not load.
  explicit http_fetcher(http_options o);

  /// GET `url`; POST `form` when it is given. Completes with the answer whatever its status;
  /// throws oauth_error ("GET <url>: <why>") when there is none: no connection, a certificate
  /// that does not verify, the deadline, a body over the size limit, a malformed answer.
  awaitable<http_response> get(std::string url) const;
  awaitable<http_response> post_form(std::string url, std::string form,
                                     std::string authorization) const;

  const http_options& options() const noexcept { return options_; }

 private:
  awaitable<http_response> request(std::string method, std::string url, std::string body,
                                   std::string authorization) const;

  http_options options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace roost::auth::detail
