// `sockit chat-server`'s operator commands that act on the process, end to end with the binary:
// DIE (clean stop, exit 0, ERROR to every client), RESTART (the same program again, same
// arguments), REHASH (the SIGHUP reload, a broken file kept out), and their default: off.
#include "irc_client.hpp"

#include "sockit/irc/password.hpp"

#include <csignal>
#include <fstream>

#include <unistd.h>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {

/// A configuration file with operator root (password pw) and `extra` in [server]; removed at exit.
struct ConfigFile {
  explicit ConfigFile(const std::string& name, const std::string& server_extra, const std::string& motd = "") {
    // The process id in the name: ctest runs this suite twice at once (plain and faults.*).
    const std::string base = ::testing::TempDir() + "/" + name + "." + std::to_string(::getpid());
    path = base + ".toml";
    motd_path = base + ".motd";
    write(server_extra, motd.empty() ? "first motd\n" : motd);
  }
  void write(const std::string& server_extra, const std::string& motd) const {
    std::ofstream(motd_path) << motd;
    std::ofstream f(path);
    f << "[server]\nmotd_file = \"" << motd_path << "\"\n" << server_extra << "[flood]\nrate = 0\n"
      << "[[operator]]\nname = \"root\"\npassword = \"" << irc::hash_password("pw", 1000).value() << "\"\n";
  }
  ~ConfigFile() {
    std::remove(path.c_str());
    std::remove(motd_path.c_str());
  }
  std::string path, motd_path;
};

void oper(Client& c) {
  c.send("OPER root pw");
  c.expect("381");
}

}  // namespace

TEST(ChatServerAdmin, DieStopsCleanlyWithErrorToEveryClientAndExitZero) {
  ConfigFile conf("irc_die", "allow_die = true\n");
  ChatServer srv({"--config", conf.path});
  Client a(srv.address()), b(srv.address()), unregistered(srv.address());
  a.register_as("admin");
  b.register_as("bob");
  unregistered.send("PING :x");
  unregistered.expect("PONG");
  b.send("DIE");  // not an operator
  EXPECT_EQ(b.expect("481"), ":irc.sockit.local 481 bob :Permission Denied- You're not an IRC operator");
  oper(a);
  a.send("DIE");
  for (Client* c : {&a, &b, &unregistered}) {
    EXPECT_EQ(c->expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (Server shutting down: DIE by admin)");
    EXPECT_TRUE(c->closed_within(5s));
  }
  EXPECT_EQ(srv.child().wait(10s), 0);
  EXPECT_NE(srv.wait_log("", 2s).find("DIE by admin"), std::string::npos);
}

TEST(ChatServerAdmin, DieAndRestartAreOffByDefault) {
  ConfigFile conf("irc_die_off", "");
  ChatServer srv({"--config", conf.path});
  Client a(srv.address());
  a.register_as("admin");
  oper(a);
  a.send("DIE");
  EXPECT_EQ(a.expect("723"), ":irc.sockit.local 723 admin die :Insufficient oper privileges.");
  a.send("RESTART");
  EXPECT_EQ(a.expect("723"), ":irc.sockit.local 723 admin restart :Insufficient oper privileges.");
  a.send("PING :still");
  EXPECT_EQ(a.expect("PONG"), ":irc.sockit.local PONG irc.sockit.local :still");
  EXPECT_FALSE(srv.child().wait(0ms).has_value());
}

// RESTART runs the same binary again with the same arguments in the same process (exec): it
// listens again (port 0: a new port), and serves.
TEST(ChatServerAdmin, RestartRunsTheProgramAgainWithTheSameArguments) {
  ConfigFile conf("irc_restart", "allow_restart = true\n");
  ChatServer srv({"--config", conf.path});
  Client a(srv.address());
  a.register_as("admin");
  oper(a);
  a.send("RESTART");
  EXPECT_EQ(a.expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (Server restarting: RESTART by admin)");
  EXPECT_TRUE(a.closed_within(5s));
  std::string err = srv.wait_log("listening on 127.0.0.1:", 10s);
  auto pos = err.rfind("listening on 127.0.0.1:");
  ASSERT_NE(pos, std::string::npos) << err;
  if (err.find(' ', pos + 23) == std::string::npos) err += srv.wait_log(" ", 5s);
  auto port = static_cast<std::uint16_t>(std::stoi(err.substr(pos + 23)));
  EXPECT_NE(err.find("RESTART: running"), std::string::npos) << err;
  Client again(Address::ipv4_loopback(port));
  again.register_as("back");
  again.send("OPER root pw");  // the same --config: the same operators
  again.expect("381");
  srv.child().signal(SIGTERM);
  EXPECT_EQ(srv.child().wait(10s), 0);
}

// REHASH is SIGHUP's reload: 382 "<file> :Rehashing", the new MOTD; a broken file keeps the old
// configuration and the operator gets a NOTICE saying why.
TEST(ChatServerAdmin, RehashReloadsAndABrokenFileKeepsTheOldAndNotifies) {
  ConfigFile conf("irc_rehash", "");
  ChatServer srv({"--config", conf.path});
  Client a(srv.address());
  a.register_as("admin");
  a.send("REHASH");
  EXPECT_EQ(a.expect("481"), ":irc.sockit.local 481 admin :Permission Denied- You're not an IRC operator");
  oper(a);
  conf.write("", "second motd\n");
  a.send("REHASH");
  EXPECT_EQ(a.expect("382"), ":irc.sockit.local 382 admin " + conf.path + " :Rehashing");
  a.send("MOTD");
  EXPECT_EQ(a.expect("372"), ":irc.sockit.local 372 admin :- second motd");
  std::ofstream(conf.path) << "[server\nbroken = \n";
  a.send("REHASH");
  a.expect("382");
  std::string notice = a.expect("NOTICE");
  EXPECT_NE(notice.find("REHASH failed, the old configuration stays: "), std::string::npos) << notice;
  a.send("MOTD");
  EXPECT_EQ(a.expect("372"), ":irc.sockit.local 372 admin :- second motd");
}
