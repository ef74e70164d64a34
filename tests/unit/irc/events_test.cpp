// The operator log's events (irc::Server::set_event_log, issue 22 item 2): connections,
// registrations, PASS and OPER failures, OPER, KILL and quits come out with nick, address and
// reason, and never with a password, even one given where OPER wants the operator's name. Fake
// clock, no sockets (the password checks run inline: FakePeer has no waker).
#include "fake_peer.hpp"

#include "sockit/irc/password.hpp"

#include <gtest/gtest.h>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

namespace {

struct Seen {
  Event::Kind kind;
  ClientId id;
  std::string nick, ip, detail;
  bool registered;
};

struct Recorder {
  std::vector<Seen> events;
  void attach(Server& s) {
    s.set_event_log([this](const Event& e) {
      events.push_back({e.kind, e.id, std::string(e.nick), std::string(e.ip), std::string(e.detail), e.registered});
    });
  }
  std::vector<Seen> of(Event::Kind k) const {
    std::vector<Seen> out;
    for (const Seen& s : events) {
      if (s.kind == k) out.push_back(s);
    }
    return out;
  }
  bool mentions(std::string_view text) const {
    for (const Seen& s : events) {
      if (s.nick.find(text) != std::string::npos || s.detail.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

Config with_secrets() {
  Config cfg = quiet();
  cfg.password_hash = hash_password("srv-secret", 1000).value();
  cfg.operators.push_back({"root", hash_password("op-secret", 1000).value(), "*"});
  return cfg;
}

}  // namespace

TEST(IrcEvents, RegistrationOperKillAndQuitsCarryNickAddressAndReason) {
  H h(with_secrets());
  Recorder r;
  r.attach(*h.server);
  auto& a = h.connect("10.0.0.1");
  h.send(a, "PASS srv-secret");
  h.register_as(a, "alice", "Alice");
  auto& b = h.connect("10.0.0.2");
  h.send(b, "PASS srv-secret");
  h.register_as(b, "bob", "Bob");
  H::drain({&a, &b});
  h.send(a, "OPER root op-secret");
  h.send(a, "KILL bob :enough");
  h.send(a, "QUIT :bye");

  auto connected = r.of(Event::Kind::connected);
  ASSERT_EQ(connected.size(), 2u);
  EXPECT_EQ(connected[0].ip, "10.0.0.1");
  EXPECT_EQ(connected[0].nick, "");
  auto registered = r.of(Event::Kind::registered);
  ASSERT_EQ(registered.size(), 2u);
  EXPECT_EQ(registered[0].nick, "alice");
  EXPECT_EQ(registered[1].nick, "bob");
  EXPECT_EQ(registered[1].ip, "10.0.0.2");
  auto oper = r.of(Event::Kind::oper);
  ASSERT_EQ(oper.size(), 1u);
  EXPECT_EQ(oper[0].nick, "alice");
  EXPECT_EQ(oper[0].detail, "root");
  auto killed = r.of(Event::Kind::killed);
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_EQ(killed[0].nick, "bob");
  EXPECT_EQ(killed[0].detail, "by alice!~alice@10.0.0.1: enough");  // whom, who and from where
  auto quits = r.of(Event::Kind::quit);
  ASSERT_EQ(quits.size(), 2u);
  EXPECT_EQ(quits[0].nick, "bob");
  EXPECT_EQ(quits[0].detail, "Killed (alice (enough))");
  EXPECT_TRUE(quits[0].registered);
  EXPECT_EQ(quits[1].nick, "alice");
  EXPECT_EQ(quits[1].detail, "Quit: bye");
  EXPECT_FALSE(r.mentions("secret"));
  h.check();
}

TEST(IrcEvents, FailedPasswordsAreReportedWithoutThePassword) {
  H h(with_secrets());
  Recorder r;
  r.attach(*h.server);
  auto& m = h.connect("10.0.0.3");
  h.send(m, "PASS wrong-srv-secret");
  h.register_as(m, "mallory", "M");
  h.advance(h.cfg.auth_fail_delay_max);
  auto failed = r.of(Event::Kind::password_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].nick, "mallory");
  EXPECT_EQ(failed[0].ip, "10.0.0.3");
  auto quits = r.of(Event::Kind::quit);
  ASSERT_EQ(quits.size(), 1u);
  EXPECT_FALSE(quits[0].registered);

  auto& a = h.connect("10.0.0.4");
  h.send(a, "PASS srv-secret");
  h.register_as(a, "alice", "Alice");
  h.send(a, "OPER root wrong-op-secret");
  h.advance(h.cfg.auth_fail_delay_max);
  h.send(a, "OPER op-secret root");  // the password where the name goes
  h.advance(h.cfg.auth_fail_delay_max);
  auto oper_failed = r.of(Event::Kind::oper_failed);
  ASSERT_EQ(oper_failed.size(), 2u);
  EXPECT_EQ(oper_failed[0].detail, "root");  // a configured operator's name
  EXPECT_EQ(oper_failed[1].detail, "");      // not a configured name: not logged
  EXPECT_FALSE(r.mentions("secret"));
  h.check();
}

TEST(IrcEvents, RefusedConnectionsSayWhy) {
  Config cfg = quiet();
  cfg.max_clients = 1;
  H h(cfg);
  Recorder r;
  r.attach(*h.server);
  h.user("alice");
  auto& late = h.connect("10.0.0.9");
  EXPECT_FALSE(late.id.has_value());
  auto refused = r.of(Event::Kind::refused);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].ip, "10.0.0.9");
  EXPECT_EQ(refused[0].detail, "Server full");
}
