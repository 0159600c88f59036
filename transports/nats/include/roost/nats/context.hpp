#pragma once
/// \file roost::nats::context, as NestJS's NatsContext.

#include <roost/context.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::nats {

/// NATS message headers, in the order they came, a name possibly repeated.
using headers = roost::headers;

/// What a handler knows about a message that came over NATS. Its headers() are the message's
/// NATS headers; metadata() gives them as an object (the first value of each name).
class context final : public roost::context {
 public:
  /// `ack`: for a JetStream event, how it is settled (roost/acknowledgement.hpp).
  context(json::value pattern, std::string subject, roost::headers h, acknowledgement ack = {});

  /// The subject the message was published to (NestJS's `getSubject()`); with a wildcard
  /// handler, the concrete subject.
  const std::string& subject() const noexcept { return subject_; }
  /// The first value of header `key`, or nullptr (NestJS's `getHeaders()` is headers()).
  const std::string* header(std::string_view key) const { return headers().get(key); }

 private:
  std::string subject_;
};

}  // namespace roost::nats
