#pragma once
/// \file roost::kafka::retriable_exception, as NestJS's KafkaRetriableException.

#include <roost/context.hpp>
#include <roost/errors.hpp>

#include <string>

namespace roost::kafka {

/// A failure that may pass if the record is served again (a database briefly away). Thrown by
/// a handler of a record that came over Kafka, it leaves the record's offset uncommitted and
/// the record is read again, up to the server's `max_redeliveries` times: an event whatever
/// the server's `on_failure`, a request without answering it (as NestJS, whose
/// KafkaRetriableException reaches kafkajs instead of the caller) unless it already answered
/// a value or the retries are spent, when the caller gets the error. Once spent, an event's
/// record is poison (the dead-letter topic, or committed past with an error logged).
///
/// It is made for the context of the message being served: `throw retriable_exception(ctx,
/// "database away")`. On another transport's message it is a plain `rpc_exception`.
class retriable_exception : public rpc_exception {
 public:
  retriable_exception(roost::context& ctx, std::string message);
  retriable_exception(roost::context& ctx, json::object error);
};

}  // namespace roost::kafka
