#pragma once
/// \file roost::kafka::client: the client side of the Kafka transport.

#include <roost/client_transport.hpp>
#include <roost/kafka/options.hpp>

#include <memory>

namespace roost::kafka {

/// Talks to a NestJS `Transport.KAFKA` server (or a roost one), as NestJS's ClientKafka: a
/// call to pattern P produces its data to topic P with the headers `kafka_correlationId`,
/// `kafka_replyTopic` (`P.reply`) and `kafka_replyPartition`, and reads the replies from that
/// partition of `P.reply`. The reply topics of `reply_patterns` are read from connect() in the
/// client group (`group_id` + `postfix_id`), each client on the partitions the group gives it
/// (the lowest one named in requests, as NestJS); any other's from its first call, on its
/// partition 0, shared with other clients. A call whose reply topic cannot be read fails at
/// once. A call's headers go out as record headers.
class client final : public client_transport {
 public:
  explicit client(client_options opts = {});
  client(client&&) noexcept;
  ~client() override;

  std::string_view name() const noexcept override { return "kafka"; }
  void set_listener(std::shared_ptr<client_listener> l) noexcept override;
  awaitable<void> connect() override;
  awaitable<void> send_request(const outbound_message& m) override;
  void end_request(const outbound_message& m) noexcept override;
  awaitable<void> send_event(const outbound_message& m) override;
  void close() override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::kafka
