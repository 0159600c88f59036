#pragma once
// A small OAuth2 / OpenID Connect provider for tests, on loopback with TLS: a discovery
// document, a JWKS document and a client-credentials token endpoint that issues RS256 or ES256
// JWTs. It records every request, can answer with any status, and can hold token answers until
// released. Runs on a thread of its own.

#include "test_pki.hpp"

#include <roost/auth/jwt_key.hpp>
#include <roost/auth/jwt_signer.hpp>
#include <roost/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace roost::auth::test {

struct seen_request {
  std::string method;
  std::string target;
  std::string authorization;
  std::string body;
};

/// A signing key of the provider, with the `kid` it publishes.
struct provider_key {
  jwt_key key;  // private
  jwt_algorithm alg;
  std::string kid;

  json::object public_jwk() const {
    json::object jwk = key.public_jwk();
    jwk["kid"] = kid;
    jwk["use"] = "sig";
    jwk["alg"] = alg == jwt_algorithm::rs256 ? "RS256" : "ES256";
    return jwk;
  }
  std::string sign(const json::object& claims) const {
    return jwt_signer(key, alg, kid).sign(claims).value();
  }
};

class test_provider {
 public:
  explicit test_provider(const test_pki& pki)
      : tls_(boost::asio::ssl::context::tls_server), acceptor_(ioc_) {
    tls_.use_certificate_chain(boost::asio::buffer(pki.server_cert_pem));
    tls_.use_private_key(boost::asio::buffer(pki.server_key_pem), boost::asio::ssl::context::pem);
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    base_ = "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    boost::asio::co_spawn(ioc_, accept_loop(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~test_provider() {
    boost::asio::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      ioc_.stop();
    });
    thread_.join();
  }

  const std::string& base() const { return base_; }

  /// The keys published in the JWKS document; tokens are signed with the first.
  void set_keys(std::vector<provider_key> keys) {
    std::lock_guard lock(mutex_);
    keys_ = std::move(keys);
  }
  void set_jwks_status(unsigned status) {
    std::lock_guard lock(mutex_);
    jwks_status_ = status;
  }
  void set_cache_control(std::string value) {
    std::lock_guard lock(mutex_);
    cache_control_ = std::move(value);
  }
  /// The next token answers: status and body; empty body: a JWT for `expires_in` seconds.
  void set_token_answer(unsigned status, std::string body = {}) {
    std::lock_guard lock(mutex_);
    token_status_ = status;
    token_body_ = std::move(body);
  }
  void set_expires_in(int seconds) {
    std::lock_guard lock(mutex_);
    expires_in_ = seconds;
  }
  /// Token answers wait until release().
  void hold_tokens() {
    std::lock_guard lock(mutex_);
    hold_ = true;
  }
  void release_tokens() {
    boost::asio::post(ioc_, [this] {
      std::lock_guard lock(mutex_);
      hold_ = false;
      for (auto& t : held_) t->cancel();
      held_.clear();
    });
  }

  std::vector<seen_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count(std::string_view target) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : requests_) n += r.target == target;
    return n;
  }

  /// The token the provider issues to `client`: signed with its first key.
  std::string issue(const std::string& client, const std::string& scope, int ttl) const {
    std::lock_guard lock(mutex_);
    return sign_locked(client, scope, ttl);
  }

 private:
  std::string sign_locked(const std::string& client, const std::string& scope, int ttl) const {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    json::object claims{{"iss", base_}, {"sub", client},    {"aud", "orders"},
                        {"iat", now},   {"exp", now + ttl}, {"scope", scope}};
    return keys_.front().sign(claims);
  }

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;
      boost::asio::co_spawn(ioc_, session(std::move(socket)), boost::asio::detached);
    }
  }

  static std::string form_value(const std::string& body, const std::string& name) {
    const std::string key = name + "=";
    std::size_t at = 0;
    while (at < body.size()) {
      const auto end = body.find('&', at);
      const std::string item = body.substr(at, end - at);
      if (item.rfind(key, 0) == 0) {
        std::string v = item.substr(key.size()), out;
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (v[i] == '+') {
            out += ' ';
          } else if (v[i] == '%' && i + 2 < v.size()) {
            out += static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16));
            i += 2;
          } else {
            out += v[i];
          }
        }
        return out;
      }
      if (end == std::string::npos) break;
      at = end + 1;
    }
    return {};
  }

  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> s(std::move(socket), tls_);
    auto [hec] =
        co_await s.async_handshake(boost::asio::ssl::stream_base::server, as_tuple(use_awaitable));
    if (hec) co_return;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(s, buffer, req, as_tuple(use_awaitable));
    if (rec) co_return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    std::shared_ptr<boost::asio::steady_timer> gate;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back({std::string(req.method_string()), std::string(req.target()),
                           std::string(req[http::field::authorization]), req.body()});
      if (req.target().ends_with("/.well-known/openid-configuration")) {
        res.body() = boost::json::serialize(json::object{{"issuer", base_},
                                                         {"jwks_uri", base_ + "/jwks"},
                                                         {"token_endpoint", base_ + "/token"}});
      } else if (req.target() == "/jwks") {
        json::array keys;
        for (const auto& k : keys_) keys.push_back(k.public_jwk());
        res.result(jwks_status_);
        res.body() = boost::json::serialize(json::object{{"keys", std::move(keys)}});
        if (!cache_control_.empty()) res.set(http::field::cache_control, cache_control_);
      } else if (req.target() == "/token" && req.method() == http::verb::post) {
        res.result(token_status_);
        if (!token_body_.empty()) {
          res.body() = token_body_;
        } else {
          const std::string client = form_value(req.body(), "client_id");
          const std::string who = client.empty() ? "basic-client" : client;
          res.body() = boost::json::serialize(json::object{
              {"access_token", sign_locked(who, form_value(req.body(), "scope"), expires_in_)},
              {"token_type", "Bearer"},
              {"expires_in", expires_in_}});
        }
        res.set(http::field::cache_control, "no-store");
        if (hold_) {
          gate = std::make_shared<boost::asio::steady_timer>(
              ioc_, std::chrono::steady_clock::time_point::max());
          held_.push_back(gate);
        }
      } else {
        res.result(http::status::not_found);
        res.body() = R"({"error":"not_found"})";
      }
    }
    if (gate) co_await gate->async_wait(as_tuple(use_awaitable));
    res.prepare_payload();
    co_await http::async_write(s, res, as_tuple(use_awaitable));
    co_await s.async_shutdown(as_tuple(use_awaitable));
  }

  boost::asio::io_context ioc_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string base_;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::vector<provider_key> keys_;
  unsigned jwks_status_ = 200;
  std::string cache_control_;
  unsigned token_status_ = 200;
  std::string token_body_;
  int expires_in_ = 3600;
  bool hold_ = false;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> held_;
  std::vector<seen_request> requests_;
};

}  // namespace roost::auth::test
