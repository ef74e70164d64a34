// LIST with the ELIST filters (C, M, N, T, U), masks and several channels, and STATUSMSG targets
// (`PRIVMSG @#chan`, `+#chan`), issue #17 item 3, on the sans-I/O core with fake peers and a fake
// wall clock (tests/unit/irc/fake_peer.hpp).
#include "fake_peer.hpp"

#include <algorithm>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;
using namespace std::chrono_literals;

namespace {

/// The channels a LIST reply names (its 322 lines), sorted; fails unless it is 321 ... 323.
std::vector<std::string> listed(const std::vector<std::string>& lines) {
  EXPECT_FALSE(lines.empty());
  if (lines.empty()) return {};
  EXPECT_EQ(command_of(lines.front()), "321") << lines.front();
  EXPECT_EQ(command_of(lines.back()), "323") << lines.back();
  std::vector<std::string> names;
  for (const std::string& l : H::only(lines, "322")) names.push_back(parse(l).message->params.at(1));
  std::sort(names.begin(), names.end());
  return names;
}

using Names = std::vector<std::string>;

}  // namespace

// Modern IRC ELIST and STATUSMSG: the 005 tokens name exactly what LIST and PRIVMSG accept.
TEST(IrcList, IsupportAdvertisesElistAndStatusmsg) {
  H h;
  auto& a = h.connect();
  h.register_as(a, "alice", "Alice");
  std::string all;
  for (const std::string& l : H::only(a.take(), "005")) all += l + "\n";
  EXPECT_NE(all.find(" ELIST=CMNTU "), std::string::npos) << all;
  EXPECT_NE(all.find(" STATUSMSG=@+ "), std::string::npos) << all;
}

// ELIST U: `>n` more than n users, `<n` fewer than n; several filters must all pass.
TEST(IrcList, UserCountFilters) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  h.join("#one", {&a});
  h.join("#two", {&a, &b});
  h.join("#three", {&a, &b, &c});
  H::drain({&a, &b, &c});
  h.send(c, "LIST >1");
  EXPECT_EQ(listed(c.take()), (Names{"#three", "#two"}));
  h.send(c, "LIST <3");
  EXPECT_EQ(listed(c.take()), (Names{"#one", "#two"}));
  h.send(c, "LIST >1,<3");
  EXPECT_EQ(listed(c.take()), (Names{"#two"}));
  h.send(c, "LIST >3");
  EXPECT_EQ(listed(c.take()), Names{});
  h.check();
}

// ELIST C: `C<n` created less than n minutes ago, `C>n` more than n minutes ago.
TEST(IrcList, CreationTimeFilters) {
  H h;
  auto& a = h.user("alice");
  h.join("#old", {&a});
  h.wall += 10min;
  h.join("#new", {&a});
  a.take();
  h.send(a, "LIST C>5");
  EXPECT_EQ(listed(a.take()), (Names{"#old"}));
  h.send(a, "LIST C<5");
  EXPECT_EQ(listed(a.take()), (Names{"#new"}));
  h.send(a, "LIST C<11");
  EXPECT_EQ(listed(a.take()), (Names{"#new", "#old"}));
  h.check();
}

// ELIST T: `T<n` topic set less than n minutes ago, `T>n` more; a channel without a topic has no
// topic time and passes neither.
TEST(IrcList, TopicTimeFilters) {
  H h;
  auto& a = h.user("alice");
  h.join("#early", {&a});
  h.join("#bare", {&a});
  h.send(a, "TOPIC #early :first");
  h.wall += 10min;
  h.join("#late", {&a});
  h.send(a, "TOPIC #late :second");
  a.take();
  h.send(a, "LIST T>5");
  EXPECT_EQ(listed(a.take()), (Names{"#early"}));
  h.send(a, "LIST T<5");
  EXPECT_EQ(listed(a.take()), (Names{"#late"}));
  h.send(a, "LIST");
  EXPECT_EQ(listed(a.take()), (Names{"#bare", "#early", "#late"}));
  h.check();
}

// ELIST M and N: a mask, a negated mask `!mask`, several channels, case folded as CASEMAPPING.
TEST(IrcList, MasksNegatedMasksAndSeveralChannels) {
  H h;
  auto& a = h.user("alice");
  h.join("#foo1", {&a});
  h.join("#foo2", {&a});
  h.join("#bar", {&a});
  h.send(a, "TOPIC #bar :the bar");
  a.take();
  h.send(a, "LIST #foo*");
  EXPECT_EQ(listed(a.take()), (Names{"#foo1", "#foo2"}));
  h.send(a, "LIST !#foo*");
  EXPECT_EQ(listed(a.take()), (Names{"#bar"}));
  h.send(a, "LIST #FOO1,#bar,#nosuch");
  auto lines = a.take();
  EXPECT_EQ(listed(lines), (Names{"#bar", "#foo1"}));
  EXPECT_TRUE(std::count(lines.begin(), lines.end(), ":irc.sockit.local 322 alice #bar 1 :the bar"));
  h.send(a, "LIST #f?o?,!#foo2");
  EXPECT_EQ(listed(a.take()), (Names{"#foo1"}));
  h.check();
}

// Secret channels stay out of LIST for non-members, whatever the filter; members see them.
TEST(IrcList, SecretChannelsAreHiddenFromNonMembers) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.join("#hidden", {&a});
  h.send(a, "MODE #hidden +s");
  a.take();
  for (const char* q : {"LIST", "LIST #hidden", "LIST #hid*", "LIST >0", "LIST C<5", "LIST !#nothing"}) {
    h.send(b, q);
    EXPECT_EQ(listed(b.take()), Names{}) << q;
    h.send(a, q);
    EXPECT_EQ(listed(a.take()), (Names{"#hidden"})) << q;
  }
  h.check();
}

// STATUSMSG: `@#chan` reaches the operators, `+#chan` the voiced and the operators, with the prefix
// kept in the target; the sender gets nothing back, outsiders nothing at all.
TEST(IrcStatusMsg, ReachesOnlyMembersWithThatStatusOrHigher) {
  H h;
  auto [a, b, c] = h.in_channel("#a", "alice", "bob", "carol");
  auto& d = h.user("dave");
  h.send(a, "MODE #a +v bob");
  H::drain({&a, &b, &c});
  h.send(c, "PRIVMSG @#a :to the ops");
  EXPECT_EQ(a.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 PRIVMSG @#a :to the ops"});
  EXPECT_TRUE(b.take().empty());
  EXPECT_TRUE(c.take().empty());
  h.send(c, "NOTICE +#A :to the voiced");
  EXPECT_EQ(a.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 NOTICE +#a :to the voiced"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 NOTICE +#a :to the voiced"});
  EXPECT_TRUE(c.take().empty());
  EXPECT_TRUE(d.take().empty());
  h.send(b, "PRIVMSG @#a,+#a :both");  // two targets: alice gets it twice, as the others do
  EXPECT_EQ(a.take().size(), 2u);
  EXPECT_TRUE(b.take().empty());
  EXPECT_TRUE(c.take().empty());
  h.check();
}

// STATUSMSG keeps the channel's rules: +n and +m refuse (404) as for the channel itself; no such
// channel is 401 for the target as given; NOTICE gets no error.
TEST(IrcStatusMsg, SenderMustBeAllowedToSendToTheChannel) {
  H h;
  auto [a, c] = h.in_channel("#a", "alice", "carol");
  auto& d = h.user("dave");
  h.send(a, "MODE #a +nm");
  H::drain({&a, &c});
  h.send(d, "PRIVMSG @#a :outside");
  EXPECT_EQ(d.take(), std::vector<std::string>{":irc.sockit.local 404 dave #a :Cannot send to channel"});
  h.send(c, "PRIVMSG +#a :moderated");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 404 carol #a :Cannot send to channel"});
  h.send(c, "NOTICE +#a :moderated");
  EXPECT_TRUE(c.take().empty());
  EXPECT_TRUE(a.take().empty());
  h.send(c, "PRIVMSG @#nosuch :x");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 401 carol @#nosuch :No such nick/channel"});
  h.check();
}

// IRCv3 echo-message: the sender of a STATUSMSG gets its line back even without the status.
TEST(IrcStatusMsg, EchoMessageSenderGetsItsLineBack) {
  H h;
  auto& a = h.user("alice");
  h.join("#a", {&a});
  auto& c = h.connect();
  h.send(c, "CAP REQ :echo-message");
  h.register_as(c, "carol", "Carol");
  h.send(c, "CAP END");
  h.join("#a", {&c});
  H::drain({&a, &c});
  h.send(c, "PRIVMSG @#a :echo");
  EXPECT_EQ(a.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 PRIVMSG @#a :echo"});
  EXPECT_EQ(c.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 PRIVMSG @#a :echo"});
  h.check();
}
