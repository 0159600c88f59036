#include <roost/gateway.hpp>

namespace roost {

void gateway::on_connect(hook h) {
  std::lock_guard lock(mutex_);
  on_connect_.push_back(std::move(h));
}

void gateway::on_disconnect(hook h) {
  std::lock_guard lock(mutex_);
  on_disconnect_.push_back(std::move(h));
}

std::vector<gateway::peer_ptr> gateway::members(std::string_view room) const {
  std::vector<peer_ptr> out;
  std::lock_guard lock(mutex_);
  if (room.empty()) {
    out.reserve(peers_.size());
    for (const auto& [id, p] : peers_) out.push_back(p);
    return out;
  }
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return out;
  out.reserve(r->second.size());
  for (auto id : r->second) {
    if (auto p = peers_.find(id); p != peers_.end()) out.push_back(p->second);
  }
  return out;
}

// Pushed outside the lock: a push that overflows closes its peer, whose removal takes it.
std::size_t gateway::broadcast(std::string_view event, const json::value& data) const {
  std::size_t sent = 0;
  for (const auto& p : members({})) sent += p->push(event, data) ? 1 : 0;
  return sent;
}

std::size_t gateway::to_room(std::string_view room, std::string_view event,
                             const json::value& data) const {
  if (room.empty()) return 0;
  std::size_t sent = 0;
  for (const auto& p : members(room)) sent += p->push(event, data) ? 1 : 0;
  return sent;
}

bool gateway::join(const peer& p, std::string_view room) {
  std::lock_guard lock(mutex_);
  if (room.empty() || !peers_.contains(p.id())) return false;
  auto r = rooms_.find(room);
  if (r == rooms_.end()) r = rooms_.emplace(std::string(room), std::set<std::uint64_t>{}).first;
  r->second.insert(p.id());
  rooms_by_peer_[p.id()].emplace(room);
  return true;
}

void gateway::leave(const peer& p, std::string_view room) {
  std::lock_guard lock(mutex_);
  if (auto r = rooms_.find(room); r != rooms_.end()) {
    r->second.erase(p.id());
    if (r->second.empty()) rooms_.erase(r);
  }
  if (auto b = rooms_by_peer_.find(p.id()); b != rooms_by_peer_.end()) {
    if (auto it = b->second.find(room); it != b->second.end()) b->second.erase(it);
    if (b->second.empty()) rooms_by_peer_.erase(b);
  }
}

std::vector<std::string> gateway::rooms_of(const peer& p) const {
  std::lock_guard lock(mutex_);
  auto b = rooms_by_peer_.find(p.id());
  if (b == rooms_by_peer_.end()) return {};
  return {b->second.begin(), b->second.end()};
}

std::size_t gateway::size() const {
  std::lock_guard lock(mutex_);
  return peers_.size();
}

std::size_t gateway::room_size(std::string_view room) const {
  std::lock_guard lock(mutex_);
  auto r = rooms_.find(room);
  return r == rooms_.end() ? 0 : r->second.size();
}

gateway::peer_ptr gateway::find(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto p = peers_.find(id);
  return p == peers_.end() ? nullptr : p->second;
}

void gateway::add(const peer_ptr& p) {
  std::vector<hook> hooks;
  {
    std::lock_guard lock(mutex_);
    peers_.emplace(p->id(), p);
    hooks = on_connect_;
  }
  for (const auto& h : hooks) h(p);
}

void gateway::remove(const peer_ptr& p) {
  std::vector<hook> hooks;
  {
    std::lock_guard lock(mutex_);
    if (peers_.erase(p->id()) == 0) return;
    if (auto b = rooms_by_peer_.find(p->id()); b != rooms_by_peer_.end()) {
      for (const auto& room : b->second) {
        if (auto r = rooms_.find(room); r != rooms_.end()) {
          r->second.erase(p->id());
          if (r->second.empty()) rooms_.erase(r);
        }
      }
      rooms_by_peer_.erase(b);
    }
    hooks = on_disconnect_;
  }
  for (const auto& h : hooks) h(p);
}

}  // namespace roost
