// IRCv3 capabilities of `sockit chat-server` over real loopback sockets (the details are unit
// tests: tests/unit/irc/ircv3_test.cpp): negotiation, client-only tags and TAGMSG, labeled
// responses, and a client that asked for nothing seeing none of it.
#include "irc_client.hpp"

using namespace sockit;
using namespace sockit::irc::itest;

namespace {

/// Registers `nick` after negotiating `caps` with CAP LS 302; fails the test on a NAK.
void register_with_caps(Client& c, std::string_view nick, std::string_view caps) {
  c.send("CAP LS 302");
  c.expect("CAP");
  c.send("CAP REQ :" + std::string(caps));
  std::string ack = c.expect("CAP");
  EXPECT_NE(ack.find(" ACK :"), std::string::npos) << ack;
  c.send("CAP END");
  c.register_as(nick);
}

}  // namespace

TEST(ChatServerIrcv3, TagsTagmsgAndLabelsOverTheWire) {
  ChatServer srv({"--no-flood-control"});
  Client a(srv.address()), b(srv.address()), c(srv.address());
  register_with_caps(a, "alice", "message-tags batch labeled-response echo-message");
  register_with_caps(b, "bob", "message-tags");
  c.register_as("carol");  // no capabilities
  for (Client* x : {&a, &b, &c}) {
    x->send("JOIN #v3");
    x->expect("366");
  }
  b.expect("JOIN");  // carol's join
  // A labeled PRIVMSG with a client-only tag: the echo is alice's labeled reply, bob gets the
  // tag, carol the plain line.
  // Both carry the message's msgid (message-ids), the same one.
  a.send("@label=m1;+draft/reply=42 PRIVMSG #v3 :hello");
  const std::string echo = a.expect("PRIVMSG");
  const std::string id = echo.substr(echo.find("msgid=") + 6, echo.find(';', echo.find("msgid=")) - echo.find("msgid=") - 6);
  EXPECT_FALSE(id.empty()) << echo;
  EXPECT_EQ(echo, "@label=m1;msgid=" + id + ";+draft/reply=42 :alice!~alice@127.0.0.1 PRIVMSG #v3 :hello");
  EXPECT_EQ(b.expect("PRIVMSG"), "@msgid=" + id + ";+draft/reply=42 :alice!~alice@127.0.0.1 PRIVMSG #v3 :hello");
  EXPECT_EQ(c.expect("PRIVMSG"), ":alice!~alice@127.0.0.1 PRIVMSG #v3 :hello");
  // TAGMSG reaches bob only; carol gets nothing (her next line is the PONG).
  a.send("@+typing=active TAGMSG #v3");
  const std::string tagmsg = b.expect("TAGMSG");
  EXPECT_EQ(tagmsg.rfind("@msgid=", 0), 0u) << tagmsg;
  EXPECT_NE(tagmsg.find(";+typing=active :alice!~alice@127.0.0.1 TAGMSG #v3"), std::string::npos) << tagmsg;
  EXPECT_EQ(tagmsg.find(id + ";"), std::string::npos) << "a second message, a second msgid: " << tagmsg;
  c.send("PING after-tagmsg");
  EXPECT_EQ(c.expect_any({"PONG", "TAGMSG"}), ":irc.sockit.local PONG irc.sockit.local :after-tagmsg");
  // A labeled command with several replies: one labeled-response batch.
  a.send("@label=w1 WHOIS bob");
  std::string start = a.expect("BATCH");
  EXPECT_EQ(start.rfind("@label=w1 :irc.sockit.local BATCH +", 0), 0u) << start;
  std::string end = a.expect("BATCH");
  EXPECT_EQ(end.rfind(":irc.sockit.local BATCH -", 0), 0u) << end;
  // Labels are not echoed to a client that did not negotiate labeled-response.
  c.send("@label=x PING plain");
  EXPECT_EQ(c.expect("PONG"), ":irc.sockit.local PONG irc.sockit.local :plain");
  // Tag data over 4094 bytes: 417, and the connection stays.
  b.send("@+k=" + std::string(4092, 'v') + " PRIVMSG #v3 :big");
  EXPECT_NE(b.expect("417"), "");
  b.send("PING still-here");
  EXPECT_NE(b.expect("PONG"), "");
}
