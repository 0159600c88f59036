#pragma once
/// \file roost::gateway and roost::peer: the connections of a server that talks to its peers
/// on its own initiative (a WebSocket gateway): pushes to one peer, to all, or to a room, and
/// the hooks that see peers come and go. Transport-neutral: a transport that keeps connections
/// open (WebSocket today, TCP could) makes a roost::peer of each and adds it to its gateway.

#include <roost/headers.hpp>
#include <roost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace roost {

/// One connected peer, as handlers and hooks see it. Made by the transport; thread-safe.
class peer {
 public:
  virtual ~peer() = default;
  /// Unique among the gateway's peers for the life of the process.
  virtual std::uint64_t id() const noexcept = 0;
  /// The peer's address, "ip:port".
  virtual const std::string& remote_endpoint() const noexcept = 0;
  /// What the peer sent when it connected (a WebSocket upgrade's headers, names in lower case).
  virtual const roost::headers& headers() const noexcept = 0;
  /// Queues the message `{"event":E,"data":D}` for the peer. False when the peer is gone, or
  /// when the message would take its unsent output over the transport's bound (the peer is
  /// then disconnected). Never waits.
  virtual bool push(std::string_view event, const json::value& data) = 0;
  /// Closes the connection (a normal close); the disconnect hooks run once it is gone.
  virtual void close() = 0;
};

/// The peers of one server, its rooms, and its connect and disconnect hooks. Thread-safe: a
/// handler on any connection's strand may push, join or leave.
class gateway {
 public:
  using peer_ptr = std::shared_ptr<peer>;
  using hook = std::function<void(const peer_ptr&)>;

  /// Runs `h` for each peer that connects, before its first message is served, on the peer's
  /// strand. Set hooks before the server listens.
  void on_connect(hook h);
  /// Runs `h` once for each peer that was connected when it is gone (closed by either side),
  /// after it has left its rooms.
  void on_disconnect(hook h);

  /// Pushes `{"event":E,"data":D}` to every peer; returns to how many it was queued.
  std::size_t broadcast(std::string_view event, const json::value& data) const;
  /// Same, to the peers in `room`.
  std::size_t to_room(std::string_view room, std::string_view event, const json::value& data) const;
  /// Puts the peer in `room` (made on first use). False when the peer is not connected.
  bool join(const peer& p, std::string_view room);
  /// Takes the peer out of `room` (a room left empty is removed).
  void leave(const peer& p, std::string_view room);
  /// The rooms `p` is in.
  std::vector<std::string> rooms_of(const peer& p) const;

  /// Peers connected now, and in `room`.
  std::size_t size() const;
  std::size_t room_size(std::string_view room) const;
  /// The peer of that id, or nullptr.
  peer_ptr find(std::uint64_t id) const;

  /// For transports: a peer is connected (runs the connect hooks).
  void add(const peer_ptr& p);
  /// For transports: a peer is gone (leaves its rooms, runs the disconnect hooks once).
  void remove(const peer_ptr& p);

 private:
  std::vector<peer_ptr> members(std::string_view room) const;

  mutable std::mutex mutex_;
  std::map<std::uint64_t, peer_ptr> peers_;
  std::map<std::string, std::set<std::uint64_t>, std::less<>> rooms_;
  std::map<std::uint64_t, std::set<std::string, std::less<>>> rooms_by_peer_;
  std::vector<hook> on_connect_, on_disconnect_;
};

}  // namespace roost
