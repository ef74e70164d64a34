// IRCv3 capabilities on the sans-I/O core (fake peers, fake clock): for each, the negotiation, the
// behaviour, and its absence for a client that did not ask (ircv3.net specifications).
#include "fake_peer.hpp"

#include <string>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

namespace {

const std::string kTime = "@time=2027-01-15T08:00:00.000Z ";

/// Registers `nick` with the capabilities `caps` (space-separated) negotiated; output drained.
H::Cli& with_caps(H& h, std::string_view nick, std::string_view caps) {
  H::Cli& c = h.connect();
  h.send(c, "CAP LS 302");
  h.send(c, "CAP REQ :" + std::string(caps));
  h.register_as(c, nick, "Real " + std::string(nick));
  h.send(c, "CAP END");
  c.take();
  return c;
}

/// `lines` with each msgid tag's value replaced by "ID" (message-ids: random per server).
std::vector<std::string> ids_hidden(std::vector<std::string> lines) {
  for (std::string& l : lines) {
    if (l.empty() || l[0] != '@') continue;
    const std::size_t end = l.find(' ');
    for (std::size_t at = l.find("msgid="); at != std::string::npos && at < end; at = l.find("msgid=", at + 1)) {
      if (at != 1 && l[at - 1] != ';') continue;
      const std::size_t stop = l.find_first_of("; ", at);
      l.replace(at + 6, stop - at - 6, "ID");
      break;
    }
  }
  return lines;
}

/// The msgid tag's value in `line`, "" if none.
std::string msgid_of(const std::string& line) {
  const std::size_t end = line.find(' ');
  if (line.empty() || line[0] != '@') return "";
  for (std::size_t at = line.find("msgid="); at != std::string::npos && at < end; at = line.find("msgid=", at + 1)) {
    if (at == 1 || line[at - 1] == ';') return line.substr(at + 6, line.find_first_of("; ", at) - at - 6);
  }
  return "";
}

}  // namespace

// ---- message-tags (https://ircv3.net/specs/extensions/message-tags) ---------------------------

TEST(IrcMessageTags, AdvertisedAndAcked) {
  H h;
  auto& c = h.connect();
  h.send(c, "CAP LS 302");
  auto ls = c.take();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_NE(ls[0].find(" message-tags"), std::string::npos) << ls[0];
  h.send(c, "CAP REQ :message-tags");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local CAP * ACK :message-tags"});
}

TEST(IrcMessageTags, ClientOnlyTagsReachOnlyReceiversThatAskedForThem) {
  H h;
  auto& a = with_caps(h, "alice", "message-tags");
  auto& b = with_caps(h, "bob", "message-tags server-time");
  auto& c = h.user("carol");
  h.join("#t", {&a, &b, &c});
  H::drain({&a, &b, &c});
  // Server-defined tags from a client (no '+') are not relayed; escaping survives the round trip.
  h.send(a, "@+draft/react=\\s:);+example.com/x;msgid=forged PRIVMSG #t :hi");
  const std::string line = ":alice!~alice@127.0.0.1 PRIVMSG #t :hi";
  EXPECT_EQ(ids_hidden(b.take()),
            std::vector<std::string>{"@time=2027-01-15T08:00:00.000Z;msgid=ID;+draft/react=\\s:);+example.com/x " + line});
  EXPECT_EQ(c.take(), std::vector<std::string>{line});  // no message-tags: the plain line
  EXPECT_TRUE(a.take().empty());
  // To a nick too.
  h.send(c, "@+typing=active PRIVMSG alice :psst");
  EXPECT_EQ(ids_hidden(a.take()), std::vector<std::string>{"@msgid=ID;+typing=active :carol!~carol@127.0.0.1 PRIVMSG alice :psst"});
  h.send(a, "@+typing=active PRIVMSG carol :psst");
  EXPECT_EQ(c.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG carol :psst"});
  h.check();
}

TEST(IrcMessageTags, EchoMessageCarriesTheTags) {
  H h;
  auto& a = with_caps(h, "alice", "message-tags echo-message");
  auto& b = h.user("bob");
  h.join("#t", {&a, &b});
  H::drain({&a, &b});
  h.send(a, "@+reply=1 PRIVMSG #t :hi");
  EXPECT_EQ(ids_hidden(a.take()), std::vector<std::string>{"@msgid=ID;+reply=1 :alice!~alice@127.0.0.1 PRIVMSG #t :hi"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG #t :hi"});
}

TEST(IrcMessageTags, TagmsgGoesOnlyToReceiversWithMessageTags) {
  H h;
  auto& a = with_caps(h, "alice", "message-tags");
  auto& b = with_caps(h, "bob", "message-tags");
  auto& c = h.user("carol");
  h.join("#t", {&a, &b, &c});
  H::drain({&a, &b, &c});
  h.send(a, "@+typing=active TAGMSG #t");
  EXPECT_EQ(ids_hidden(b.take()), std::vector<std::string>{"@msgid=ID;+typing=active :alice!~alice@127.0.0.1 TAGMSG #t"});
  EXPECT_TRUE(c.take().empty());
  EXPECT_TRUE(a.take().empty());
  h.send(a, "@+typing=paused TAGMSG bob");
  EXPECT_EQ(ids_hidden(b.take()), std::vector<std::string>{"@msgid=ID;+typing=paused :alice!~alice@127.0.0.1 TAGMSG bob"});
  h.send(a, "@+typing=paused TAGMSG carol");
  EXPECT_TRUE(c.take().empty());
  // Errors as for PRIVMSG.
  h.send(a, "TAGMSG nobody");
  EXPECT_TRUE(H::has(a.take(), "401"));
  h.send(a, "TAGMSG");
  EXPECT_TRUE(H::has(a.take(), "411"));
  h.check();
}

TEST(IrcMessageTags, ClientTagDataOver4094BytesIs417) {
  H h;
  auto& a = with_caps(h, "alice", "message-tags");
  auto& b = with_caps(h, "bob", "message-tags");
  h.join("#t", {&a, &b});
  H::drain({&a, &b});
  // "+k=" and 4091 bytes of value: 4094 bytes of tag data, the limit, is relayed whole.
  const std::string at_limit = "+k=" + std::string(4091, 'v');
  h.send(a, "@" + at_limit + " PRIVMSG #t :hi");
  EXPECT_EQ(ids_hidden(b.take()), std::vector<std::string>{"@msgid=ID;" + at_limit + " :alice!~alice@127.0.0.1 PRIVMSG #t :hi"});
  EXPECT_TRUE(a.take().empty());
  h.send(a, "@" + at_limit + "v PRIVMSG #t :hi");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 417 alice :Input line was too long"});
  EXPECT_TRUE(b.take().empty());
  // Past the 8191-byte section too (the parser's own limit), and the connection stays.
  h.send(a, "@+k=" + std::string(8200, 'v') + " PRIVMSG #t :hi");
  EXPECT_TRUE(H::has(a.take(), "417"));
  EXPECT_TRUE(b.take().empty());
  h.send(a, "PING x");
  EXPECT_TRUE(H::has(a.take(), "PONG"));
}

// ---- message-ids (https://ircv3.net/specs/extensions/message-ids) -------------------------------

TEST(IrcMessageIds, EveryRelayedMessageHasOneMsgidForItsReceiversWithMessageTags) {
  H h;
  auto& a = with_caps(h, "alice", "message-tags echo-message");
  auto& b = with_caps(h, "bob", "message-tags server-time");
  auto& c = h.user("carol");
  auto& d = with_caps(h, "dave", "message-tags");
  h.join("#t", {&a, &b, &c, &d});
  H::drain({&a, &b, &c, &d});
  // The echo and every receiver with message-tags carry the same msgid; carol gets the plain line.
  h.send(a, "PRIVMSG #t :one");
  const std::string line = ":alice!~alice@127.0.0.1 PRIVMSG #t :one";
  auto echo = a.take(), to_b = b.take(), to_d = d.take();
  ASSERT_EQ(echo.size(), 1u);
  const std::string id = msgid_of(echo[0]);
  EXPECT_FALSE(id.empty()) << echo[0];
  EXPECT_EQ(echo, std::vector<std::string>{"@msgid=" + id + " " + line});
  EXPECT_EQ(to_b, std::vector<std::string>{"@time=2027-01-15T08:00:00.000Z;msgid=" + id + " " + line});
  EXPECT_EQ(to_d, std::vector<std::string>{"@msgid=" + id + " " + line});
  EXPECT_EQ(c.take(), std::vector<std::string>{line});
  // The batched path (no echo, no client tags): each line its own msgid, several lines in a turn.
  h.send(c, "PRIVMSG #t :two");
  h.send(c, "NOTICE #t :three");
  to_b = b.take();
  to_d = d.take();
  ASSERT_EQ(to_d.size(), 2u);
  EXPECT_EQ(ids_hidden(to_d), (std::vector<std::string>{"@msgid=ID :carol!~carol@127.0.0.1 PRIVMSG #t :two",
                                                        "@msgid=ID :carol!~carol@127.0.0.1 NOTICE #t :three"}));
  EXPECT_EQ(ids_hidden(to_b),
            (std::vector<std::string>{"@time=2027-01-15T08:00:00.000Z;msgid=ID :carol!~carol@127.0.0.1 PRIVMSG #t :two",
                                      "@time=2027-01-15T08:00:00.000Z;msgid=ID :carol!~carol@127.0.0.1 NOTICE #t :three"}));
  EXPECT_EQ(msgid_of(to_b[0]), msgid_of(to_d[0]));
  EXPECT_EQ(msgid_of(to_b[1]), msgid_of(to_d[1]));
  EXPECT_NE(msgid_of(to_d[0]), msgid_of(to_d[1]));
  EXPECT_NE(msgid_of(to_d[0]), id);
  EXPECT_EQ(a.take(), to_d);  // alice (message-tags) gets the same lines as dave
  // A private message: the receiver and the echo share one.
  h.send(a, "PRIVMSG dave :psst");
  echo = a.take();
  to_d = d.take();
  ASSERT_EQ(echo.size(), 1u);
  ASSERT_EQ(to_d.size(), 1u);
  EXPECT_EQ(msgid_of(echo[0]), msgid_of(to_d[0]));
  EXPECT_FALSE(msgid_of(to_d[0]).empty());
  // A client's own msgid tag is never relayed as the server's.
  h.send(c, "@msgid=forged PRIVMSG dave :x");
  to_d = d.take();
  ASSERT_EQ(to_d.size(), 1u);
  EXPECT_NE(msgid_of(to_d[0]), "forged");
  h.check();
}

// ---- batch and labeled-response (https://ircv3.net/specs/extensions/labeled-response) ---------

TEST(IrcLabeledResponse, AdvertisedWithBatchAndAcked) {
  H h;
  auto& c = h.connect();
  h.send(c, "CAP LS 302");
  auto ls = c.take();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_NE(ls[0].find(" batch "), std::string::npos) << ls[0];
  EXPECT_NE(ls[0].find(" labeled-response "), std::string::npos) << ls[0];
  h.send(c, "CAP REQ :batch labeled-response");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local CAP * ACK :batch labeled-response"});
}

TEST(IrcLabeledResponse, OneReplyCarriesTheLabel) {
  H h;
  auto& a = with_caps(h, "alice", "batch labeled-response");
  h.send(a, "@label=p1 PING x");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=p1 :irc.sockit.local PONG irc.sockit.local :x"});
  h.send(a, "@label=e1 PRIVMSG nobody :hi");  // an error is a reply too
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=e1 :irc.sockit.local 401 alice nobody :No such nick/channel"});
  // With server-time, the label joins the line's tags.
  auto& b = with_caps(h, "bob", "batch labeled-response server-time");
  h.send(b, "@label=p2 PING y");
  EXPECT_EQ(b.take(), std::vector<std::string>{"@label=p2;time=2027-01-15T08:00:00.000Z :irc.sockit.local PONG irc.sockit.local :y"});
}

TEST(IrcLabeledResponse, NoReplyIsAnAck) {
  H h;
  auto& a = with_caps(h, "alice", "batch labeled-response");
  auto& b = h.user("bob");
  h.join("#t", {&a, &b});
  H::drain({&a, &b});
  h.send(a, "@label=m1 PRIVMSG #t :hi");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=m1 :irc.sockit.local ACK"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG #t :hi"});  // no label to others
  h.send(a, "@label=m2 PONG :x");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=m2 :irc.sockit.local ACK"});
}

TEST(IrcLabeledResponse, EchoMessageIsTheLabeledReply) {
  H h;
  auto& a = with_caps(h, "alice", "batch labeled-response echo-message");
  auto& b = h.user("bob");
  h.join("#t", {&a, &b});
  H::drain({&a, &b});
  h.send(a, "@label=m1 PRIVMSG #t :hi");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=m1 :alice!~alice@127.0.0.1 PRIVMSG #t :hi"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG #t :hi"});
  h.send(a, "@label=m2 PRIVMSG bob :psst");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=m2 :alice!~alice@127.0.0.1 PRIVMSG bob :psst"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG bob :psst"});
}

TEST(IrcLabeledResponse, SeveralRepliesComeInALabeledBatch) {
  H h;
  auto& a = with_caps(h, "alice", "batch labeled-response");
  h.user("bob");
  h.send(a, "@label=w1 WHOIS bob");
  auto lines = a.take();
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.front(), "@label=w1 :irc.sockit.local BATCH +L1 labeled-response");
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i].rfind("@batch=L1 :irc.sockit.local 3", 0), 0u) << lines[i];
  }
  EXPECT_NE(lines[lines.size() - 2].find(" 318 alice bob "), std::string::npos);
  EXPECT_EQ(lines.back(), ":irc.sockit.local BATCH -L1");
  // The next batch gets another reference.
  h.send(a, "@label=w2 WHOIS bob");
  EXPECT_EQ(a.take().front(), "@label=w2 :irc.sockit.local BATCH +L2 labeled-response");
}

TEST(IrcLabeledResponse, LabeledQuitGetsItsErrorLabeled) {
  H h;
  auto& a = with_caps(h, "alice", "batch labeled-response");
  h.send(a, "@label=q1 QUIT :bye");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=q1 ERROR :Closing Link: 127.0.0.1 (Quit: bye)"});
  EXPECT_TRUE(a.peer->closed);
  h.check();
}

TEST(IrcLabeledResponse, NoLabelWithoutTheCapsOrWithAnOverlongLabel) {
  H h;
  auto& plain = h.user("plain");
  h.send(plain, "@label=p1 PING x");
  EXPECT_EQ(plain.take(), std::vector<std::string>{":irc.sockit.local PONG irc.sockit.local :x"});
  h.send(plain, "@label=p1 PONG x");
  EXPECT_TRUE(plain.take().empty());
  // labeled-response needs batch negotiated too.
  auto& nobatch = with_caps(h, "nobatch", "labeled-response");
  h.send(nobatch, "@label=p1 PING x");
  EXPECT_EQ(nobatch.take(), std::vector<std::string>{":irc.sockit.local PONG irc.sockit.local :x"});
  auto& a = with_caps(h, "alice", "batch labeled-response");
  h.send(a, "@label=" + std::string(65, 'x') + " PING x");  // over 64 bytes: not echoed
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local PONG irc.sockit.local :x"});
  h.send(a, "@label=" + std::string(64, 'x') + " PING x");
  EXPECT_EQ(a.take(), std::vector<std::string>{"@label=" + std::string(64, 'x') + " :irc.sockit.local PONG irc.sockit.local :x"});
}

// ---- cap-notify (https://ircv3.net/specs/extensions/capability-negotiation#cap-notify) --------

TEST(IrcCapNotify, ImpliedByCapLs302Only) {
  H h;
  auto& a = h.connect();
  h.send(a, "CAP LS 302");
  h.send(a, "CAP LIST");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(" cap-notify "), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], ":irc.sockit.local CAP * LIST :cap-notify");
  auto& b = h.connect();
  h.send(b, "CAP LS");
  b.take();
  h.send(b, "CAP LIST");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local CAP * LIST :"});
  h.send(b, "CAP REQ cap-notify");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local CAP * ACK :cap-notify"});
}

TEST(IrcCapNotify, ARehashThatChangesTheOfferSendsNewAndDel) {
  H h;
  auto& a = with_caps(h, "alice", "multi-prefix");  // CAP LS 302: cap-notify on
  auto& b = h.user("bob");                          // no CAP at all
  Config cfg = h.cfg;
  h.server->reload(cfg);  // nothing changes: nothing sent
  EXPECT_TRUE(a.take().empty());
  cfg.sts_port = 6697;    // a TLS listener appears: sts is offered
  cfg.sts_duration = std::chrono::seconds(3600);
  h.server->reload(cfg);
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local CAP alice NEW :sts=port=6697,duration=3600"});
  EXPECT_TRUE(b.take().empty());
  cfg.sts_port = 0;
  h.server->reload(cfg);
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local CAP alice DEL :sts"});
  EXPECT_TRUE(b.take().empty());
}

// ---- extended-join (https://ircv3.net/specs/extensions/extended-join) --------------------------

TEST(IrcExtendedJoin, RealNameAndAccountOnlyForThoseThatAsked) {
  H h;
  auto& a = with_caps(h, "alice", "extended-join");
  auto& b = h.user("bob");
  h.join("#t", {&a, &b});
  h.send(a, "JOIN #u");
  auto mine = H::only(a.take(), "JOIN");
  EXPECT_EQ(mine, (std::vector<std::string>{":alice!~alice@127.0.0.1 JOIN #t * :Real alice",
                                            ":bob!~bob@127.0.0.1 JOIN #t * :Real bob",
                                            ":alice!~alice@127.0.0.1 JOIN #u * :Real alice"}));
  EXPECT_EQ(H::only(b.take(), "JOIN"), std::vector<std::string>{":bob!~bob@127.0.0.1 JOIN #t"});
  h.send(b, "JOIN #u");
  EXPECT_EQ(H::only(b.take(), "JOIN"), std::vector<std::string>{":bob!~bob@127.0.0.1 JOIN #u"});
  EXPECT_EQ(H::only(a.take(), "JOIN"), std::vector<std::string>{":bob!~bob@127.0.0.1 JOIN #u * :Real bob"});
  h.check();
}

// ---- away-notify (https://ircv3.net/specs/extensions/away-notify) ------------------------------

TEST(IrcAwayNotify, AwayChangesAndAwayJoinersReachOnlyThoseThatAsked) {
  H h;
  auto& a = with_caps(h, "alice", "away-notify");
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  h.join("#t", {&a, &b, &c});
  H::drain({&a, &b, &c});
  h.send(b, "AWAY :lunch");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 AWAY :lunch"});
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(H::only(b.take(), "AWAY"), std::vector<std::string>{});  // not to itself
  h.send(b, "AWAY");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 AWAY"});
  EXPECT_TRUE(c.take().empty());
  // Someone away joins: the JOIN, then its AWAY.
  auto& d = h.user("dave");
  h.send(d, "AWAY :gone");
  h.send(d, "JOIN #t");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":dave!~dave@127.0.0.1 JOIN #t", ":dave!~dave@127.0.0.1 AWAY :gone"}));
  EXPECT_EQ(c.take(), std::vector<std::string>{":dave!~dave@127.0.0.1 JOIN #t"});
}

// ---- invite-notify (https://ircv3.net/specs/extensions/invite-notify) --------------------------

TEST(IrcInviteNotify, MembersThatAskedSeeTheInvitation) {
  H h;
  auto& a = h.user("alice");
  auto& b = with_caps(h, "bob", "invite-notify");
  auto& c = h.user("carol");
  auto& d = h.user("dave");
  h.join("#t", {&a, &b, &c});
  H::drain({&a, &b, &c});
  h.send(a, "INVITE dave #t");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 INVITE dave :#t"});
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(d.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 INVITE dave :#t"});
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 341 alice dave #t"});
}

// ---- setname (https://ircv3.net/specs/extensions/setname) and standard-replies -----------------

TEST(IrcSetname, AnnouncedToThoseThatAskedAndFailForABadName) {
  H h;
  auto& a = with_caps(h, "alice", "setname");
  auto& b = with_caps(h, "bob", "setname");
  auto& c = h.user("carol");
  h.join("#t", {&a, &b, &c});
  H::drain({&a, &b, &c});
  h.send(a, "SETNAME :Alice Liddell");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 SETNAME :Alice Liddell"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 SETNAME :Alice Liddell"});
  EXPECT_TRUE(c.take().empty());
  h.send(c, "WHOIS alice");
  EXPECT_EQ(H::only(c.take(), "311"), std::vector<std::string>{":irc.sockit.local 311 carol alice ~alice 127.0.0.1 * :Alice Liddell"});
  // Without the cap: changed silently.
  h.send(c, "SETNAME :C");
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(b.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 SETNAME :C"});
  EXPECT_EQ(a.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 SETNAME :C"});
  h.send(a, "SETNAME :" + std::string(129, 'x'));
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local FAIL SETNAME INVALID_REALNAME :Realname is not valid"});
  EXPECT_TRUE(b.take().empty());
  h.send(a, "SETNAME");
  EXPECT_TRUE(H::has(a.take(), "461"));
}

TEST(IrcCaps, EveryImplementedCapIsAdvertisedAndAcked) {
  H h;
  auto& c = h.connect();
  h.send(c, "CAP LS 302");
  auto ls = c.take();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0], ":irc.sockit.local CAP * LS :away-notify batch cap-notify chghost echo-message extended-join "
                   "invite-notify labeled-response message-tags multi-prefix server-time setname standard-replies "
                   "userhost-in-names");
  const std::string all = ls[0].substr(ls[0].find(" :") + 2);
  h.send(c, "CAP REQ :" + all);
  // server-time applies from the ACK on.
  EXPECT_EQ(c.take(), std::vector<std::string>{kTime + ":irc.sockit.local CAP * ACK :" + all});
}
