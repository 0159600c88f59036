// roost::gateway without a transport: peers are fakes that record what is pushed to them.

#include <roost/gateway.hpp>

#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace roost {
namespace {

class fake_peer final : public peer {
 public:
  explicit fake_peer(std::uint64_t id, bool accepts = true) : id_(id), accepts_(accepts) {}
  std::uint64_t id() const noexcept override { return id_; }
  const std::string& remote_endpoint() const noexcept override { return remote_; }
  const roost::headers& headers() const noexcept override { return headers_; }
  bool push(std::string_view event, const json::value& data) override {
    if (!accepts_) return false;
    got.push_back(std::string(event) + " " + json::serialize(data));
    return true;
  }
  void close() override {}
  std::vector<std::string> got;

 private:
  std::uint64_t id_;
  bool accepts_;
  std::string remote_ = "127.0.0.1:1";
  roost::headers headers_;
};

TEST(gateway, broadcasts_to_every_peer_and_rooms_to_their_members) {
  gateway g;
  auto a = std::make_shared<fake_peer>(1), b = std::make_shared<fake_peer>(2);
  auto full = std::make_shared<fake_peer>(3, false);  // over its bound: push refused
  g.add(a);
  g.add(b);
  g.add(full);
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g.broadcast("all", 1), 2u);
  EXPECT_TRUE(g.join(*a, "lobby"));
  EXPECT_TRUE(g.join(*a, "games"));
  EXPECT_EQ(g.to_room("lobby", "said", "hi"), 1u);
  EXPECT_EQ(g.to_room("nowhere", "said", "hi"), 0u);
  EXPECT_EQ(a->got, (std::vector<std::string>{"all 1", R"(said "hi")"}));
  EXPECT_EQ(b->got, (std::vector<std::string>{"all 1"}));
  EXPECT_EQ(g.rooms_of(*a), (std::vector<std::string>{"games", "lobby"}));
  g.leave(*a, "games");
  EXPECT_EQ(g.room_size("games"), 0u);
  EXPECT_EQ(g.find(2), b);
  EXPECT_EQ(g.find(9), nullptr);
}

TEST(gateway, hooks_run_once_and_a_gone_peer_leaves_its_rooms) {
  gateway g;
  std::vector<std::string> seen;
  g.on_connect(
      [&](const std::shared_ptr<peer>& p) { seen.push_back("+" + std::to_string(p->id())); });
  g.on_disconnect(
      [&](const std::shared_ptr<peer>& p) { seen.push_back("-" + std::to_string(p->id())); });
  auto a = std::make_shared<fake_peer>(7);
  g.add(a);
  EXPECT_TRUE(g.join(*a, "lobby"));
  g.remove(a);
  g.remove(a);  // a second report of the same close changes nothing
  EXPECT_EQ(seen, (std::vector<std::string>{"+7", "-7"}));
  EXPECT_EQ(g.room_size("lobby"), 0u);
  EXPECT_TRUE(g.rooms_of(*a).empty());
  EXPECT_FALSE(g.join(*a, "lobby"));  // not connected any more
  EXPECT_EQ(g.size(), 0u);
}

}  // namespace
}  // namespace roost
