#pragma once
/// \file roost::nats::context, as NestJS's NatsContext.

#include <roost/context.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::nats {

/// NATS message headers, in the order they came, a key possibly repeated.
using headers = std::vector<std::pair<std::string, std::string>>;

/// What a handler knows about a message that came over NATS.
class context final : public roost::context {
 public:
  /// `metadata` (the headers as an object, first value of each key) must outlive the context.
  context(json::value pattern, std::string subject, nats::headers h, const json::object* metadata);

  /// The subject the message was published to (NestJS's `getSubject()`); with a wildcard
  /// handler, the concrete subject.
  const std::string& subject() const noexcept { return subject_; }
  /// Every header of the message (NestJS's `getHeaders()`); empty when it had none.
  const nats::headers& headers() const noexcept { return headers_; }
  /// The first value of header `key`, or nullptr.
  const std::string* header(std::string_view key) const noexcept;

 private:
  std::string subject_;
  nats::headers headers_;
};

}  // namespace roost::nats
