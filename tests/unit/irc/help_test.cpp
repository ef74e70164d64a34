// HELP/HELPOP (704 705 706, 524), LINKS (364 365) and STATS (212 219 242 243) on the sans-I/O core
// with fake peers (docs/CONFORMANCE.md, "Server queries").
#include "fake_peer.hpp"

#include <algorithm>
#include <set>

using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

namespace {

/// The trailing parameter of a line.
std::string text_of(const std::string& line) {
  auto r = parse(line);
  return r && !r.message->params.empty() ? r.message->params.back() : std::string();
}

/// The names HELP's index lists (its 705 lines, split on spaces).
std::set<std::string> index_names(const std::vector<std::string>& lines) {
  std::set<std::string> names;
  for (const std::string& l : H::only(lines, "705")) {
    std::string t = text_of(l);
    std::size_t i = 0;
    while (i < t.size()) {
      std::size_t e = t.find(' ', i);
      if (e == std::string::npos) e = t.size();
      if (e > i) names.insert(t.substr(i, e - i));
      i = e + 1;
    }
  }
  return names;
}

}  // namespace

// Modern IRC HELP: 704 starts, 705 lines, 706 ends, each with the subject; HELP alone is the index.
TEST(IrcHelp, HelpAloneListsEveryCommandBetween704And706) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "HELP");
  auto lines = a.take();
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.front(), ":irc.sockit.local 704 alice * :sockit help: HELP <command> for one of these");
  EXPECT_EQ(lines.back(), ":irc.sockit.local 706 alice * :End of /HELP");
  auto names = index_names(lines);
  for (const char* cmd : {"PRIVMSG", "JOIN", "HELP", "HELPOP", "LINKS", "STATS", "REHASH", "DIE", "RESTART", "KILL"}) {
    EXPECT_TRUE(names.count(cmd)) << cmd;
  }
  h.send(a, "HELP index");
  auto again = a.take();
  EXPECT_EQ(index_names(again), names);
  EXPECT_EQ(again.back(), ":irc.sockit.local 706 alice index :End of /HELP");
}

// The topics are generated from the command table: every command the index names has its usage
// line (704) and a sentence (705), so a new command cannot ship without help.
TEST(IrcHelp, EveryCommandHasHelp) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "HELP");
  auto names = index_names(a.take());
  ASSERT_GT(names.size(), 30u);
  for (const std::string& cmd : names) {
    h.send(a, "HELP " + cmd);
    auto lines = a.take();
    ASSERT_EQ(lines.size(), 4u) << cmd;
    EXPECT_EQ(command_of(lines[0]), "704") << cmd;
    EXPECT_EQ(text_of(lines[0]).substr(0, cmd.size()), cmd) << cmd;
    EXPECT_FALSE(text_of(lines[2]).empty()) << "command " << cmd << " has no help text in its CommandSpec";
    EXPECT_EQ(command_of(lines[3]), "706") << cmd;
  }
}

TEST(IrcHelp, SubjectsAreCaseInsensitiveAndEchoedAsSent) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "HELP privmsg");
  EXPECT_EQ(a.take(), (std::vector<std::string>{
                          ":irc.sockit.local 704 alice privmsg :PRIVMSG <target>{,<target>} <text>",
                          ":irc.sockit.local 705 alice privmsg :",
                          ":irc.sockit.local 705 alice privmsg :Sends a message to users or channels.",
                          ":irc.sockit.local 706 alice privmsg :End of /HELP",
                      }));
  h.send(a, "HELPOP Stats");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 704 alice Stats :STATS <query> [<server>]");
}

// Modern IRC ERR_HELPNOTFOUND: "<client> <subject> :No help available on this topic".
TEST(IrcHelp, UnknownSubjectIs524) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "HELP nosuchthing");
  EXPECT_EQ(a.take(),
            std::vector<std::string>{":irc.sockit.local 524 alice nosuchthing :No help available on this topic"});
  h.send(a, "HELP :two words");  // not one parameter: the subject is "*"
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 524 alice * :No help available on this topic"});
}

TEST(IrcHelp, LinksListsThisServerWithHopCountZero) {
  Config cfg = quiet();
  cfg.description = "the test server";
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "LINKS");
  EXPECT_EQ(a.take(), (std::vector<std::string>{
                          ":irc.sockit.local 364 alice irc.sockit.local irc.sockit.local :0 the test server",
                          ":irc.sockit.local 365 alice * :End of /LINKS list",
                      }));
  h.send(a, "LINKS *.sockit.*");
  EXPECT_EQ(a.take().size(), 2u);
  h.send(a, "LINKS *.example.org");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 365 alice *.example.org :End of /LINKS list"});
  h.send(a, "LINKS other.server *");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 402 alice other.server :No such server"});
}

TEST(IrcStatsQuery, UptimeIs242Then219) {
  H h;
  auto& a = h.user("alice");
  h.wall += 26h + 3min + 4s;
  h.send(a, "STATS u");
  EXPECT_EQ(a.take(), (std::vector<std::string>{
                          ":irc.sockit.local 242 alice :Server Up 1 days, 02:03:04",
                          ":irc.sockit.local 219 alice u :End of /STATS report",
                      }));
}

// STATS m: per command of the table, the lines received and their bytes (as InspIRCd), only
// commands used at least once; unknown commands are not counted.
TEST(IrcStatsQuery, CommandsAre212WithCountAndBytes) {
  H h;
  auto& a = h.user("alice");  // NICK alice, USER alice 0 * :Real alice
  h.user("bob");
  h.send(a, "PRIVMSG bob :hi");   // 15 bytes
  h.send(a, "PRIVMSG bob :hey");  // 16 bytes
  h.send(a, "FOO bar");
  a.take();
  h.send(a, "STATS m");
  auto lines = a.take();
  EXPECT_TRUE(std::count(lines.begin(), lines.end(), ":irc.sockit.local 212 alice PRIVMSG 2 31 0"));
  EXPECT_TRUE(std::count(lines.begin(), lines.end(), ":irc.sockit.local 212 alice NICK 2 18 0"));
  EXPECT_TRUE(std::count(lines.begin(), lines.end(), ":irc.sockit.local 212 alice STATS 1 7 0"));
  for (const std::string& l : lines) EXPECT_EQ(l.find(" FOO "), std::string::npos) << l;
  EXPECT_EQ(lines.back(), ":irc.sockit.local 219 alice m :End of /STATS report");
}

// STATS o lists the configured operators (never a password hash) to operators only: a
// non-operator gets 481, as from InspIRCd (OPER's own replies do not tell which names exist).
TEST(IrcStatsQuery, OperatorsAre243ForOperatorsOnly) {
  H h(operator_config("*@127.0.0.1"));
  auto& a = h.user("alice");
  h.send(a, "STATS o");
  EXPECT_EQ(a.take(), std::vector<std::string>{
                          ":irc.sockit.local 481 alice :Permission Denied- You're not an IRC operator"});
  h.send(a, "OPER root pw");
  a.take();
  h.send(a, "STATS o");
  EXPECT_EQ(a.take(), (std::vector<std::string>{
                          ":irc.sockit.local 243 alice O *@127.0.0.1 * root",
                          ":irc.sockit.local 219 alice o :End of /STATS report",
                      }));
}

TEST(IrcStatsQuery, UnknownLetterIsJust219AndMissingQueryIs461) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "STATS z");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 219 alice z :End of /STATS report"});
  h.send(a, "STATS");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 461 alice STATS :Not enough parameters"});
  h.send(a, "STATS u other.server");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 402 alice other.server :No such server"});
}
