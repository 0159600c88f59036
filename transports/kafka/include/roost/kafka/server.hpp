#pragma once
/// \file roost::kafka::server: the server side of the Kafka transport.

#include <roost/kafka/options.hpp>
#include <roost/server_transport.hpp>

#include <memory>

namespace roost::kafka {

/// Serves NestJS `Transport.KAFKA` clients (and roost ones), as NestJS's ServerKafka: its
/// consumer group (`groupId` + `-server`) subscribes to the topic of every handler route, each
/// record's value is its data (NestJS's parsing rules), a record with `kafka_correlationId` and
/// `kafka_replyTopic` is a request, answered on that topic and `kafka_replyPartition`. Offsets
/// are committed once the records' handlers returned (at-least-once). librdkafka runs on
/// threads of its own and of the server's; handlers run on the microservice's executor.
class server final : public server_transport {
 public:
  explicit server(server_options opts = {});
  server(server&&) noexcept;
  ~server() override;

  std::string_view name() const noexcept override { return "kafka"; }
  /// Joins the group and completes once it assigned the server its partitions, whose start is
  /// then settled (a record produced after this is read). Throws connection_error when that
  /// does not happen within `connect_timeout`. Routes that are no valid topic names (object
  /// patterns) are left out, with a warning.
  awaitable<void> listen(dispatcher& d) override;
  /// Stops reading records; the replies of those in flight still go out.
  void stop_accepting() override;
  /// Leaves the group (committing the settled offsets) and sends what is queued.
  void close() override;
  /// In its consumer group with its partitions assigned (maybe none, when the group has more
  /// members than partitions): false while a rebalance takes them away until the group
  /// assigns them again, and from stop_accepting() on.
  bool ready() const noexcept override;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace roost::kafka
