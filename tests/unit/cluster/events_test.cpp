// cluster::encode_event / decode_event: the pub/sub wire format between nodes (docs/CLUSTER.md).
#include "cluster/irc_link_impl.hpp"

#include <gtest/gtest.h>

using sockit::cluster::decode_event;
using sockit::cluster::encode_event;
using sockit::irc::ClusterEvent;

namespace {

TEST(ClusterEvents, ChannelMessageRoundTripsWithEmptyFieldsAsDashes) {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::message;
  e.node = "n1";
  e.sender = 42;
  e.target = "#chan";
  e.mask = "alice!~a@127.0.0.1";
  e.msgid = "abc-1";
  e.rest = ":alice!~a@127.0.0.1 PRIVMSG #chan :hello  two spaces ";
  const std::string wire = encode_event(e);
  EXPECT_EQ(wire, "sockit1 MSG n1 42 #chan alice!~a@127.0.0.1 - abc-1 - - :alice!~a@127.0.0.1 PRIVMSG #chan :hello  two spaces ");
  auto d = decode_event(wire);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, ClusterEvent::Kind::message);
  EXPECT_EQ(d->node, "n1");
  EXPECT_EQ(d->sender, 42u);
  EXPECT_EQ(d->target, "#chan");
  EXPECT_EQ(d->mask, e.mask);
  EXPECT_EQ(d->account, "");
  EXPECT_EQ(d->msgid, "abc-1");
  EXPECT_EQ(d->tags, "");
  EXPECT_FALSE(d->tagmsg);
  EXPECT_EQ(d->rest, e.rest);
  EXPECT_FALSE(d->own);
}

TEST(ClusterEvents, EveryKindTagsAndAccountRoundTrip) {
  for (auto kind : {ClusterEvent::Kind::message, ClusterEvent::Kind::private_message, ClusterEvent::Kind::join,
                    ClusterEvent::Kind::part, ClusterEvent::Kind::quit, ClusterEvent::Kind::nick,
                    ClusterEvent::Kind::sync, ClusterEvent::Kind::have, ClusterEvent::Kind::kill,
                    ClusterEvent::Kind::away, ClusterEvent::Kind::oper, ClusterEvent::Kind::chan,
                    ClusterEvent::Kind::umode}) {
    ClusterEvent e;
    e.kind = kind;
    e.node = "node-2.x_y";
    e.sender = 18446744073709551615u;
    e.mask = "b!u@h";
    e.account = "bob";
    e.tags = "+draft/react=\\s;+x";
    e.tagmsg = true;
    e.rest = "";
    auto d = decode_event(encode_event(e));
    ASSERT_TRUE(d) << encode_event(e);
    EXPECT_EQ(d->kind, kind);
    EXPECT_EQ(d->sender, e.sender);
    EXPECT_EQ(d->account, "bob");
    EXPECT_EQ(d->tags, e.tags);
    EXPECT_TRUE(d->tagmsg);
    EXPECT_EQ(d->target, "");
    EXPECT_EQ(d->rest, "");
  }
}

TEST(ClusterEvents, AReplayedMessageKeepsItsMarkAndOthersHaveNone) {
  ClusterEvent e;
  e.node = "n1";
  e.target = "#c";
  e.rest = ":a!u@h PRIVMSG #c :said while degraded";
  EXPECT_FALSE(decode_event(encode_event(e))->replay);
  e.replay = true;
  const std::string wire = encode_event(e);
  EXPECT_NE(wire.find(" r :a!u@h"), std::string::npos) << wire;
  auto d = decode_event(wire);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->replay);
  EXPECT_EQ(d->rest, e.rest);
}

// UMODE, and the +i/+B a HAVE carries: 'i' and 'b' in the flags; a queued line's time (unix ms)
// after '@' at the end of the flags, which keeps the other letters ('r').
TEST(ClusterEvents, UserModesAndAQueuedLinesTimeRoundTrip) {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::umode;
  e.node = "n1";
  e.mask = "ivy!u@h";
  e.invisible = true;
  e.bot = true;
  auto d = decode_event(encode_event(e));
  ASSERT_TRUE(d) << encode_event(e);
  EXPECT_EQ(d->kind, ClusterEvent::Kind::umode);
  EXPECT_TRUE(d->invisible);
  EXPECT_TRUE(d->bot);
  EXPECT_EQ(d->said_ms, 0);
  e.invisible = false;
  d = decode_event(encode_event(e));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->invisible);
  EXPECT_TRUE(d->bot);
  ClusterEvent line;
  line.node = "n1";
  line.target = "#c";
  line.replay = true;
  line.said_ms = 1765145400123;
  line.rest = ":a!u@h PRIVMSG #c :said while degraded";
  const std::string wire = encode_event(line);
  EXPECT_NE(wire.find(" r@1765145400123 :a!u@h"), std::string::npos) << wire;
  d = decode_event(wire);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->replay);
  EXPECT_FALSE(d->invisible);
  EXPECT_EQ(d->said_ms, 1765145400123);
  EXPECT_EQ(d->rest, line.rest);
  EXPECT_EQ(decode_event("sockit1 MSG n1 0 #c - - - - r@12x3 :a PRIVMSG #c :x")->said_ms, 0);  // not a number: none
}

// CHAN (a SYNC answer's channel directory entry): the creation time, the +s mark, the topic time
// and a topic with spaces, as a node that has no copy of the channel keeps them for LIST.
TEST(ClusterEvents, AChannelEntryKeepsItsSecretMarkTimesAndTopic) {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::chan;
  e.node = "n1";
  e.target = "#Room";
  e.msgid = "1700000000";
  e.secret = true;
  e.rest = "1700000100 a topic: with spaces";
  const std::string wire = encode_event(e);
  EXPECT_EQ(wire, "sockit1 CHAN n1 0 #Room - - 1700000000 - s 1700000100 a topic: with spaces");
  auto d = decode_event(wire);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, ClusterEvent::Kind::chan);
  EXPECT_TRUE(d->secret);
  EXPECT_FALSE(d->op);
  EXPECT_EQ(d->target, "#Room");
  EXPECT_EQ(d->msgid, "1700000000");
  EXPECT_EQ(d->rest, e.rest);
  e.secret = false;
  EXPECT_FALSE(decode_event(encode_event(e))->secret);
}

TEST(ClusterEvents, MalformedPayloadsAreRefused) {
  EXPECT_FALSE(decode_event(""));
  EXPECT_FALSE(decode_event("hello world"));
  EXPECT_FALSE(decode_event("sockit2 MSG n1 1 #c m - - - - :x"));    // another version
  EXPECT_FALSE(decode_event("sockit1 BOOM n1 1 #c m - - - - :x"));   // unknown kind
  EXPECT_FALSE(decode_event("sockit1 MSG n1 x1 #c m - - - - :x"));   // sender not a number
  EXPECT_FALSE(decode_event("sockit1 MSG - 1 #c m - - - - :x"));     // no node
  EXPECT_FALSE(decode_event("sockit1 MSG n1 1 #c m - - - -"));       // a field short
  EXPECT_FALSE(decode_event("sockit1 MSG n1 1  #c m - - - :x"));     // an empty field
  EXPECT_FALSE(decode_event("sockit1 MSG n1 1 #c m - - - - :x\r\nQUIT"));
  EXPECT_TRUE(decode_event("sockit1 MSG n1 1 #c m - - - - :x"));
}

}  // namespace

namespace {

using sockit::cluster::SeenLines;

TEST(ClusterSeenLines, ALineAtOrBelowItsSendersHighestMsgidIsACopy) {
  SeenLines seen;
  EXPECT_TRUE(seen.first_time("abc-1"));
  EXPECT_TRUE(seen.first_time("abc-2"));
  EXPECT_TRUE(seen.first_time("abc-z"));   // 35 (base 36)
  EXPECT_FALSE(seen.first_time("abc-2"));  // republished: Redis had published it before
  EXPECT_FALSE(seen.first_time("abc-z"));
  EXPECT_TRUE(seen.first_time("abc-10"));  // 36
  EXPECT_TRUE(seen.first_time("xyz-1"));   // another process: counted on its own
  EXPECT_FALSE(seen.first_time("xyz-1"));
  EXPECT_EQ(seen.senders(), 2u);
  // Not of the form "<prefix>-<n>": always new, never noted.
  for (const char* odd : {"", "abc", "-5", "abc-", "abc-5!", "abc-0"}) {
    EXPECT_TRUE(seen.first_time(odd)) << odd;
    EXPECT_TRUE(seen.first_time(odd)) << odd;
  }
  EXPECT_EQ(seen.senders(), 2u);
  EXPECT_EQ(SeenLines::split("a-b-1f"), (std::pair<std::string_view, std::uint64_t>{"a-b", 51}));
}

TEST(ClusterSeenLines, AtMostKMaxSendersTheLeastRecentlySeenForgottenFirst) {
  SeenLines seen;
  EXPECT_TRUE(seen.first_time("old-5"));
  for (std::size_t i = 1; i < SeenLines::kMaxSenders; ++i) EXPECT_TRUE(seen.first_time("p" + std::to_string(i) + "-1"));
  EXPECT_EQ(seen.senders(), SeenLines::kMaxSenders);
  EXPECT_FALSE(seen.first_time("old-5"));  // seen again: now the most recent
  EXPECT_TRUE(seen.first_time("new-1"));   // full: p1, the least recently seen, is forgotten
  EXPECT_EQ(seen.senders(), SeenLines::kMaxSenders);
  EXPECT_FALSE(seen.first_time("old-4"));  // still known
  EXPECT_TRUE(seen.first_time("p1-1"));    // forgotten: its line counts as new again
  EXPECT_EQ(seen.senders(), SeenLines::kMaxSenders);
}

}  // namespace
