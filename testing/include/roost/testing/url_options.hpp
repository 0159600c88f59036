#pragma once
/// \file A transport's options from a URL text, for tests against a broker.

#include <roost/log.hpp>
#include <roost/url.hpp>

#include <stdexcept>
#include <string>

namespace roost::testing {

/// Whether the tests should log (ROOST_TEST_LOG is set).
bool test_log_wanted();

/// `text` as a URL; throws std::runtime_error("bad url TEXT") when it is not one.
url parse_url(const std::string& text);

/// The options `read` (a transport's `server_options_from` or `client_options_from`, wrapped
/// in a lambda) makes of the URL `text`, silent unless ROOST_TEST_LOG is set; throws
/// std::runtime_error("bad url TEXT") when the URL or its options are bad.
///
/// \code
/// auto o = roost::testing::options_from_url(text, [](const roost::url& u) {
///   return roost::nats::server_options_from(u);
/// });
/// \endcode
template <class Read>
auto options_from_url(const std::string& text, Read read) {
  auto o = read(parse_url(text));
  if (!o) throw std::runtime_error("bad url " + text);
  if (!test_log_wanted()) o->log = logger::silent();
  return *o;
}

}  // namespace roost::testing
