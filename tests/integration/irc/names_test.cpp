// `sockit chat-server` over real loopback sockets: the casemapping chosen by flag or TOML file,
// advertised in 005 and followed by NICK; NICKLEN at its boundary; bad values refused with exit 2;
// a SIGHUP that would change the casemapping under connected clients keeps the old one and says so.
#include "irc_client.hpp"

#include <csignal>
#include <fstream>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {

/// Registers `nick` and returns the 005 tokens of its welcome burst, space-separated, or the
/// numeric that refused the nick.
std::string isupport_of(Client& c, const std::string& nick) {
  c.send("NICK " + nick);
  c.send("USER u 0 * :u");
  std::string tokens;
  while (true) {
    std::string l = c.expect_any({"005", "376", "422", "432", "433"});
    auto p = irc::parse(l);
    if (!p) return "unparsable";
    const auto& m = *p.message;
    if (m.command == "432" || m.command == "433") return m.command;
    if (m.command != "005") return tokens;
    for (std::size_t i = 1; i + 1 < m.params.size(); ++i) tokens += m.params[i] + " ";
  }
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

}  // namespace

TEST(ChatServerNames, CasemappingFlagIsAdvertisedAndFollowed) {
  ChatServer srv({"--no-flood-control", "--casemapping", "ascii"});
  Client a(srv.address()), b(srv.address()), c(srv.address());
  EXPECT_NE(isupport_of(a, "n[").find("CASEMAPPING=ascii "), std::string::npos);
  EXPECT_NE(isupport_of(b, "n{").find("NICKLEN=30 "), std::string::npos);  // another nick under ascii
  EXPECT_EQ(isupport_of(c, "N["), "433");                                   // A-Z still folds
  c.send("NICK " + std::string(31, 'x'));
  EXPECT_EQ(c.expect("432"), ":irc.sockit.local 432 * " + std::string(31, 'x') + " :Erroneous nickname");
}

TEST(ChatServerNames, ConfigFileCasemappingAndNickLenAtTheBoundary) {
  std::string conf = ::testing::TempDir() + "/irc_names.toml";
  write_file(conf, "[server]\ncasemapping = \"strict-rfc1459\"\n[limits]\nnick_len = 5\n[flood]\nrate = 0\n");
  ChatServer srv({"--config", conf});
  Client a(srv.address()), b(srv.address()), c(srv.address());
  std::string tokens = isupport_of(a, "abcde");
  EXPECT_NE(tokens.find("CASEMAPPING=rfc1459-strict "), std::string::npos) << "Modern IRC's spelling, whichever the file used: " << tokens;
  EXPECT_NE(tokens.find("NICKLEN=5 "), std::string::npos) << tokens;
  EXPECT_EQ(isupport_of(b, "abcdef"), "432");
  EXPECT_EQ(isupport_of(c, "ABCDE"), "433");
  std::remove(conf.c_str());
}

TEST(ChatServerNames, BadCasemappingExitsTwoWithOneLine) {
  auto r = test::run({test::sockit_bin(), "chat-server", "--casemapping", "RFC1459"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--casemapping: expected \"rfc1459\", \"rfc1459-strict\" or \"ascii\""), std::string::npos) << r.err;
  std::string conf = ::testing::TempDir() + "/irc_bad_casemapping.toml";
  write_file(conf, "[server]\ncasemapping = \"rfc7613\"\n");
  r = test::run({test::sockit_bin(), "chat-server", "--config", conf});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("irc_bad_casemapping.toml:2:15: server.casemapping: expected"), std::string::npos) << r.err;
  std::remove(conf.c_str());
}

TEST(ChatServerNames, SighupKeepsTheCasemappingWhileClientsAreConnected) {
  std::string conf = ::testing::TempDir() + "/irc_names_reload.toml";
  write_file(conf, "[flood]\nrate = 0\n");
  ChatServer srv({"--config", conf});
  Client a(srv.address());
  a.register_as("n[");
  write_file(conf, "[server]\ncasemapping = \"ascii\"\n[flood]\nrate = 0\n");
  srv.child().signal(SIGHUP);
  auto err = srv.wait_log("reloaded", 5s);
  EXPECT_NE(err.find("casemapping stays rfc1459: it cannot change to ascii while clients are connected"), std::string::npos)
      << err;
  Client b(srv.address());
  EXPECT_EQ(isupport_of(b, "n{"), "433");  // still rfc1459: n{ is n[
  std::remove(conf.c_str());
}
