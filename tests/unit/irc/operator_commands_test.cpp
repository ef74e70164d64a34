// REHASH, DIE and RESTART on the sans-I/O core: what the operator gets and what the application's
// hooks (Server::set_admin_hooks) are asked to do (docs/CHAT-SERVER.md, "Operator commands").
#include "fake_peer.hpp"

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

TEST(IrcAdmin, NonOperatorsGet481ForRehashDieAndRestart) {
  Config cfg = operator_config();
  cfg.allow_die = cfg.allow_restart = true;
  H h(cfg);
  int calls = 0;
  AdminHooks hooks;
  hooks.rehash = [&] { return ++calls, std::string(); };
  hooks.die = [&](std::string_view) { ++calls; };
  hooks.restart = [&](std::string_view) { ++calls; };
  h.server->set_admin_hooks(std::move(hooks));
  auto& a = h.user("alice");
  for (const char* cmd : {"REHASH", "DIE", "RESTART"}) {
    h.send(a, cmd);
    EXPECT_EQ(a.take(), std::vector<std::string>{
                            ":irc.sockit.local 481 alice :Permission Denied- You're not an IRC operator"})
        << cmd;
  }
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(a.peer->closed);
}

// REHASH: 382 "<config file> :Rehashing", then the application's reload (the SIGHUP path), which
// hands the new configuration to Server::reload from inside the command.
TEST(IrcAdmin, RehashRepliesWith382AndRunsTheReloadHook) {
  H h(operator_config());
  AdminHooks hooks;
  hooks.config_name = "/etc/chat.toml";
  hooks.rehash = [&] {
    Config fresh = h.server->config();
    fresh.motd = {"reloaded"};
    h.server->reload(fresh);
    return std::string();
  };
  h.server->set_admin_hooks(std::move(hooks));
  auto& a = h.user("alice");
  h.make_oper(a);
  h.send(a, "REHASH");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 382 alice /etc/chat.toml :Rehashing"});
  h.send(a, "MOTD");
  EXPECT_TRUE(H::has(a.take(), "372"));
  EXPECT_EQ(h.server->config().motd, std::vector<std::string>{"reloaded"});
}

TEST(IrcAdmin, RehashOfABrokenFileKeepsTheOldConfigurationAndSaysWhy) {
  H h(operator_config());
  AdminHooks hooks;
  hooks.config_name = "chat.toml";
  hooks.rehash = [] { return std::string("chat.toml:3:1: server.name: expected a string"); };
  h.server->set_admin_hooks(std::move(hooks));
  auto& a = h.user("alice");
  h.make_oper(a);
  h.send(a, "REHASH");
  EXPECT_EQ(a.take(), (std::vector<std::string>{
                          ":irc.sockit.local 382 alice chat.toml :Rehashing",
                          ":irc.sockit.local NOTICE alice :*** REHASH failed, the old configuration stays: "
                          "chat.toml:3:1: server.name: expected a string",
                      }));
  h.check();
}

// Off by default: an operator's DIE/RESTART is 723 ERR_NOPRIVS "<client> <priv> :Insufficient oper
// privileges." (Modern IRC: an operator without the privilege the command needs); nothing stops.
TEST(IrcAdmin, DieAndRestartAreOffByDefault723) {
  H h(operator_config());
  int calls = 0;
  AdminHooks hooks;
  hooks.die = [&](std::string_view) { ++calls; };
  hooks.restart = [&](std::string_view) { ++calls; };
  h.server->set_admin_hooks(std::move(hooks));
  auto& a = h.user("alice");
  h.make_oper(a);
  h.send(a, "DIE");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 723 alice die :Insufficient oper privileges."});
  h.send(a, "RESTART");
  EXPECT_EQ(a.take(),
            std::vector<std::string>{":irc.sockit.local 723 alice restart :Insufficient oper privileges."});
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(a.peer->closed);
}

// Enabled: every client gets ERROR and is closed, later connections are refused, and the hook
// is asked to stop the process with a reason naming the operator.
TEST(IrcAdmin, DieWhenAllowedSendsEveryoneErrorAndCallsTheHook) {
  Config cfg = operator_config();
  cfg.allow_die = true;
  H h(cfg);
  std::string reason;
  AdminHooks hooks;
  hooks.die = [&](std::string_view r) { reason = r; };
  h.server->set_admin_hooks(std::move(hooks));
  auto& b = h.user("bob");
  auto& a = h.user("alice");
  h.make_oper(a);
  h.send(a, "DIE");
  EXPECT_EQ(reason, "Server shutting down: DIE by alice");
  EXPECT_EQ(b.take(), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Server shutting down: DIE by alice)"});
  EXPECT_TRUE(H::has(a.take(), "ERROR"));
  EXPECT_TRUE(a.peer->closed);
  EXPECT_TRUE(b.peer->closed);
  EXPECT_FALSE(h.connect().id.has_value());
  h.check();
}

TEST(IrcAdmin, RestartWhenAllowedCallsTheRestartHook) {
  Config cfg = operator_config();
  cfg.allow_restart = true;
  H h(cfg);
  std::string reason;
  AdminHooks hooks;
  hooks.restart = [&](std::string_view r) { reason = r; };
  h.server->set_admin_hooks(std::move(hooks));
  auto& a = h.user("alice");
  h.make_oper(a);
  h.send(a, "RESTART");
  EXPECT_EQ(reason, "Server restarting: RESTART by alice");
  EXPECT_TRUE(H::has(a.take(), "ERROR"));
  EXPECT_TRUE(a.peer->closed);
}
