// The replica of remote users (docs/CLUSTER.md, "Failures": every remote user who leaves a node's
// view leaves it with one line). Whichever path takes a user out of the replica — its node's QUIT
// event (at once or from a degraded queue), the reaper's QUIT, the replica check's (all reach the
// core through Server::deliver_from_cluster), a PART — the local members get one line for it, and
// a second path for the same user shows them nothing. The paths race after a resync (beta's queue
// and alpha's replica check both fall at TTL + a heartbeat): both orders are here, in one process.
#include "fake_peer.hpp"

#include "sockit/irc/cluster.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace sockit::irc;
using sockit::irc::test::Harness;

/// A link that relays and publishes nowhere (channels local): the core's side of the replica only.
struct Link final : ClusterLink {
  std::vector<ClusterNode> nodes() const override { return {{"alpha", "irc.a", 1, true}, {"beta", "irc.b", 1, false}}; }
  bool relaying() const override { return true; }
};

constexpr const char* kErin = "erin!~erin@10.0.0.2";

ClusterEvent event(ClusterEvent::Kind kind, std::string target, std::string rest, std::string node = "beta",
                   std::string mask = kErin) {
  ClusterEvent e;
  e.kind = kind;
  e.node = std::move(node);
  e.mask = std::move(mask);
  e.target = std::move(target);
  e.rest = std::move(rest);
  return e;
}

ClusterEvent quit(std::string reason, std::string node = "beta") {
  return event(ClusterEvent::Kind::quit, "", ":" + std::string(kErin) + " QUIT :" + reason, std::move(node));
}

/// The lines of `lines` that are `cmd` lines of erin.
std::vector<std::string> erins(const std::vector<std::string>& lines, std::string_view cmd) {
  std::vector<std::string> out;
  for (const std::string& l : Harness::only(lines, cmd)) {
    if (l.starts_with(":erin!")) out.push_back(l);
  }
  return out;
}

/// Whether NAMES #net shows erin to `c` (reads the reply).
bool names_show_erin(Harness& h, Harness::Cli& c) {
  h.send(c, "NAMES #net");
  const auto rows = Harness::only(c.take(), "353");
  return std::any_of(rows.begin(), rows.end(), [](const std::string& l) { return l.find(" erin") != std::string::npos; });
}

struct ClusterReplica : ::testing::Test {
  Harness h;
  Link link;
  Harness::Cli* alice = nullptr;
  Harness::Cli* dave = nullptr;

  void SetUp() override {
    h.server->set_cluster(&link);
    auto [a, d] = h.in_channel("#net", "alice", "dave");
    alice = &a;
    dave = &d;
    h.send(*alice, "JOIN #other");
    h.send(*dave, "JOIN #other");
    alice->take();
    dave->take();
    // erin, on beta, in #net and #other: both show her JOIN.
    h.server->deliver_from_cluster(event(ClusterEvent::Kind::join, "#net", "Erin"));
    h.server->deliver_from_cluster(event(ClusterEvent::Kind::join, "#other", "Erin"));
    ASSERT_EQ(erins(alice->take(), "JOIN").size(), 2u);
    ASSERT_EQ(erins(dave->take(), "JOIN").size(), 2u);
    ASSERT_TRUE(names_show_erin(h, *alice));
  }

  /// erin's QUIT with reason `first`, then another with `second` (two paths, as delivered): each
  /// member gets one QUIT, `first`'s, and NAMES no longer shows her.
  void two_paths(const std::string& first, const std::string& second) {
    h.server->deliver_from_cluster(quit(first));
    h.server->deliver_from_cluster(quit(second));
    for (Harness::Cli* c : {alice, dave}) {
      const auto quits = erins(c->take(), "QUIT");
      ASSERT_EQ(quits.size(), 1u);
      EXPECT_TRUE(quits[0].ends_with(" QUIT :" + first)) << quits[0];
    }
    EXPECT_FALSE(names_show_erin(h, *alice));
    h.check();
  }
};

// beta's queued QUIT comes first, alpha's replica check second: one QUIT (hers) per member, though
// erin shares two channels with each; the check finds her gone and shows nothing.
TEST_F(ClusterReplica, QueuedQuitThenReplicaCheckIsOneQuit) { two_paths("Quit: bye", "*.net *.split"); }

// The replica check first (`*.net *.split`), beta's queued QUIT second: one QUIT, the check's.
TEST_F(ClusterReplica, ReplicaCheckThenQueuedQuitIsOneQuit) { two_paths("*.net *.split", "Quit: bye"); }

// Two nodes' reapers, or a reaper and the replica check, quit the same user: one QUIT.
TEST_F(ClusterReplica, TwoReapersQuitTheSameUserOnce) {
  for (int i = 0; i < 3; ++i) h.server->deliver_from_cluster(quit("*.net *.split"));
  EXPECT_EQ(erins(alice->take(), "QUIT").size(), 1u);
  EXPECT_EQ(erins(dave->take(), "QUIT").size(), 1u);
}

// A PART takes her out of #net with a PART line; her QUIT later goes to the members of the
// channel she is still in (#other), once; NAMES #net lost her with the PART, not silently.
TEST_F(ClusterReplica, PartThenQuitGivesOnePartAndOneQuit) {
  h.server->deliver_from_cluster(event(ClusterEvent::Kind::part, "#net", ":" + std::string(kErin) + " PART #net :later"));
  auto lines = alice->take();
  EXPECT_EQ(erins(lines, "PART").size(), 1u);
  EXPECT_FALSE(names_show_erin(h, *alice));
  h.send(*alice, "PART #other");
  alice->take();
  h.server->deliver_from_cluster(quit("Quit: bye"));
  EXPECT_TRUE(erins(alice->take(), "QUIT").empty());  // no channel shared with her any more
  EXPECT_EQ(erins(dave->take(), "QUIT").size(), 1u);  // #other: dave is there
  h.check();
}

// A QUIT from another node for a user of that nick (after a resync collision) is not about erin:
// no line, and she stays (her own node's QUIT still takes her out, once).
TEST_F(ClusterReplica, AQuitFromAnotherNodeIsNotHers) {
  h.server->deliver_from_cluster(quit("Quit: not her", "gamma"));
  EXPECT_TRUE(erins(alice->take(), "QUIT").empty());
  EXPECT_TRUE(names_show_erin(h, *alice));
  h.server->deliver_from_cluster(quit("Quit: bye"));
  EXPECT_EQ(erins(alice->take(), "QUIT").size(), 1u);
  EXPECT_FALSE(names_show_erin(h, *alice));
}

// A PART missed while cut off comes from the replica check (no reason) after the resync; her node's
// own PART may still arrive too (a degraded queue published late), before or after it: each member
// of #net gets one PART, the first path's, and NAMES loses her; #other keeps her.
TEST_F(ClusterReplica, ReplicaCheckPartAndHerOwnPartAreOnePart) {
  const std::string check = ":" + std::string(kErin) + " PART #net";
  const std::string hers = ":" + std::string(kErin) + " PART #net :later";
  for (const auto& [first, second] : {std::pair{check, hers}, std::pair{hers, check}}) {
    h.server->deliver_from_cluster(event(ClusterEvent::Kind::part, "#net", first));
    h.server->deliver_from_cluster(event(ClusterEvent::Kind::part, "#net", second));
    for (Harness::Cli* c : {alice, dave}) {
      const auto parts = erins(c->take(), "PART");
      ASSERT_EQ(parts.size(), 1u);
      EXPECT_EQ(parts[0], first);
    }
    EXPECT_FALSE(names_show_erin(h, *alice));
    h.server->deliver_from_cluster(event(ClusterEvent::Kind::join, "#net", "Erin"));  // back, for the other order
    ASSERT_EQ(erins(alice->take(), "JOIN").size(), 1u);
    dave->take();
  }
  h.check();
}

// A PART from another node for a user of that nick (a resync collision) is not about erin: no
// line, and she stays in #net.
TEST_F(ClusterReplica, APartFromAnotherNodeIsNotHers) {
  h.server->deliver_from_cluster(event(ClusterEvent::Kind::part, "#net", ":" + std::string(kErin) + " PART #net", "gamma"));
  EXPECT_TRUE(erins(alice->take(), "PART").empty());
  EXPECT_TRUE(names_show_erin(h, *alice));
}

}  // namespace
