// Accounts over real sockets (issue #18): `sockit chat-server account ...` (exit codes, password on
// stdin), SASL PLAIN against the SQLite store (argon2id on the worker threads), REGISTER and its
// spam limit, and a database that cannot be used at start (clear error, exit 1).
#include "irc_client.hpp"

#include "support/support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>

using namespace sockit;
using namespace sockit::irc::itest;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sockit-accounts-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string db() const { return (path / "accounts.db").string(); }
};

test::RunResult account(const std::vector<std::string>& args, const std::string& stdin_data = {}) {
  std::vector<std::string> argv{test::sockit_bin(), "chat-server", "account"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, stdin_data);
}

std::string plain(std::string_view user, std::string_view pass) {
  std::string in = std::string(user) + '\0' + std::string(user) + '\0' + std::string(pass);
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// CAP LS 302 + REQ sasl + NICK/USER, then AUTHENTICATE PLAIN with `pass`: the numeric that ends it.
std::string sasl_login(Client& c, std::string_view nick, std::string_view user, std::string_view pass) {
  c.send("CAP LS 302");
  std::string ls = c.expect("CAP");
  EXPECT_NE(ls.find("sasl=PLAIN"), std::string::npos) << ls;
  c.send("CAP REQ :sasl");
  EXPECT_NE(c.expect("CAP").find("ACK"), std::string::npos);
  c.send("NICK " + std::string(nick));
  c.send("USER " + std::string(nick) + " 0 * :Test");
  c.send("AUTHENTICATE PLAIN");
  EXPECT_EQ(c.expect("AUTHENTICATE"), "AUTHENTICATE +");
  c.send("AUTHENTICATE " + plain(user, pass));
  std::string end = c.expect_any({"903", "904"}, 60s);
  auto p = irc::parse(end);
  return p ? p.message->command : std::string();
}

}  // namespace

TEST(ChatServerAccounts, CliAddListPasswdDelWithExitCodes) {
  TempDir d;
  auto r = account({"add", "alice", "--db", d.db()}, "correct horse\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(account({"add", "ALICE", "--db", d.db()}, "another one\n").status, 1);  // names ignore case
  r = account({"add", "bob", "--db", d.db()}, "short\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("8 to 256 bytes"), std::string::npos) << r.err;
  EXPECT_EQ(account({"add", "bob", "--db", d.db()}, "").status, 1);  // no password on stdin
  r = account({"list", "--db", d.db()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("alice\t20", 0), 0u) << r.out;
  r = account({"list", "--db", d.db(), "--json"});
  ASSERT_EQ(r.status, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "alice");
  EXPECT_EQ(account({"passwd", "alice", "--db", d.db()}, "battery staple\n").status, 0);
  EXPECT_EQ(account({"passwd", "nobody", "--db", d.db()}, "battery staple\n").status, 1);
  EXPECT_EQ(account({"certfp", "add", "alice", "zz", "--db", d.db()}).status, 2);
  EXPECT_EQ(account({"certfp", "add", "alice", std::string(64, 'a'), "--db", d.db()}).status, 0);
  EXPECT_EQ(account({"frob", "--db", d.db()}).status, 2);
  EXPECT_EQ(account({"list"}).status, 2);  // no --db
  EXPECT_EQ(account({"list", "--db", (d.path / "missing.db").string()}).status, 1);
  EXPECT_FALSE(fs::exists(d.path / "missing.db"));  // only add creates a file
  // The password is in the file only as an argon2id hash.
  std::ifstream f(d.db(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(bytes.find("battery staple"), std::string::npos);
  EXPECT_EQ(account({"del", "alice", "--db", d.db()}).status, 0);
  EXPECT_EQ(account({"del", "alice", "--db", d.db()}).status, 1);
}

TEST(ChatServerAccounts, SaslPlainLogsInAndWhoisShows330) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db()}, "correct horse\n").status, 0);
  ChatServer server({"--accounts-db", d.db(), "--no-flood-control"});
  Client c(server.address());
  ASSERT_EQ(sasl_login(c, "al", "alice", "correct horse"), "903");
  EXPECT_NE(c.dump().find(" 900 al al!~al@127.0.0.1 alice :You are now logged in as alice"), std::string::npos) << c.dump();
  c.send("CAP END");
  c.expect("001");
  Client b(server.address());
  b.register_as("bob");
  b.send("WHOIS al");
  EXPECT_EQ(b.expect("330"), ":irc.sockit.local 330 bob al alice :is logged in as");
  b.send("WHO al %na");
  EXPECT_EQ(b.expect("354"), ":irc.sockit.local 354 bob al alice");

  Client m(server.address());  // a wrong password: 904 after the throttle's delay, no login
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(sasl_login(m, "mal", "alice", "wrong horse"), "904");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  m.send("AUTHENTICATE PLAIN");
  m.expect("AUTHENTICATE");
  m.send("AUTHENTICATE not*base64");
  m.expect("904");
  m.send("AUTHENTICATE PLAIN");
  m.expect("AUTHENTICATE");
  m.send("AUTHENTICATE " + std::string(401, 'A'));
  m.expect("905");
  m.send("CAP END");
  m.expect("001");
  b.send("WHOIS mal");
  b.expect("318");
  EXPECT_EQ(b.dump().find(" 330 bob mal"), std::string::npos);
}

TEST(ChatServerAccounts, RegisterOnLoopbackThenSaslWithTheNewAccount) {
  TempDir d;
  ChatServer server({"--accounts-db", d.db(), "--no-flood-control"});
  {
    Client c(server.address());
    c.send("CAP LS 302");
    EXPECT_NE(c.expect("CAP").find("draft/account-registration=before-connect"), std::string::npos);
    c.send("NICK newbie");
    c.send("REGISTER * * :a fine password");
    EXPECT_EQ(c.expect_any({"REGISTER", "FAIL"}, 30s), ":irc.sockit.local REGISTER SUCCESS newbie :Account successfully registered");
    c.expect("900");
    c.send("REGISTER other * :a fine password");  // one per connection
    EXPECT_NE(c.expect("FAIL").find("ALREADY_AUTHENTICATED"), std::string::npos);
  }
  Client again(server.address());
  EXPECT_EQ(sasl_login(again, "nb", "newbie", "a fine password"), "903");
  // REGISTER spam: 3 per address and hour by default (newbie was the first).
  std::vector<std::string> codes;
  for (int i = 0; i < 3; ++i) {
    Client r(server.address());
    r.send("NICK spam" + std::to_string(i));
    r.send("REGISTER * * :a fine password");
    codes.push_back(r.expect_any({"REGISTER", "FAIL"}, 30s));
  }
  EXPECT_NE(codes[0].find("SUCCESS"), std::string::npos);
  EXPECT_NE(codes[1].find("SUCCESS"), std::string::npos);
  EXPECT_EQ(codes[2], ":irc.sockit.local FAIL REGISTER TEMPORARILY_UNAVAILABLE spam2 :Too many registrations, try again later");
  auto list = account({"list", "--db", d.db()});
  EXPECT_EQ(list.out.find("spam2"), std::string::npos);
  EXPECT_NE(list.out.find("spam1"), std::string::npos);
}

TEST(ChatServerAccounts, RegistrationOffInTheConfig) {
  TempDir d;
  const fs::path conf = d.path / "chat.toml";
  std::ofstream(conf) << "[accounts]\nregistration = \"off\"\n";
  ChatServer server({"--config", conf.string()});
  EXPECT_TRUE(fs::exists(d.path / "accounts.db"));  // the default file, beside the config
  Client c(server.address());
  c.send("CAP LS 302");
  std::string ls = c.expect("CAP");
  EXPECT_NE(ls.find("sasl=PLAIN"), std::string::npos);
  EXPECT_EQ(ls.find("account-registration"), std::string::npos);
  c.send("NICK x");
  c.send("REGISTER * * :a fine password");
  EXPECT_NE(c.expect("FAIL").find("TEMPORARILY_UNAVAILABLE"), std::string::npos);
}

TEST(ChatServerAccounts, UnusableDatabaseIsAClearErrorAtStart) {
  TempDir d;
  {
    std::ofstream f(d.db(), std::ios::binary);
    f << std::string(4096, 'x');
  }
  auto r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--accounts-db", d.db()}, {}, 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(d.db() + ": file is not a database"), std::string::npos) << r.err;
  r = test::run({test::sockit_bin(), "chat-server", "--check-config", "--accounts-db", d.db()}, {}, 10s);
  EXPECT_EQ(r.status, 1);
  r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--accounts-db", (d.path / "no/such/dir.db").string()}, {}, 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no/such/dir.db"), std::string::npos) << r.err;
}

TEST(ChatServerAccounts, ChatClientLogsInWithSaslFromAPasswordFile) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db()}, "correct horse\n").status, 0);
  const fs::path pass = d.path / "pass";
  std::ofstream(pass) << "correct horse\n";
  ChatServer server({"--accounts-db", d.db(), "--no-flood-control"});
  auto chat = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(server.port()), "--nick", "al",
                                  "--plain", "--no-reconnect", "--sasl-user", "alice", "--sasl-pass-file", pass.string()});
  std::string out = chat.read_stdout_until("MOTD", 20s);
  Client b(server.address());
  b.register_as("bob");
  b.send("WHOIS al");
  EXPECT_EQ(b.expect("330"), ":irc.sockit.local 330 bob al alice :is logged in as");
  ASSERT_TRUE(chat.write_stdin("/quit bye\n"));
  chat.close_stdin();
  out += chat.read_stdout(10s);
  EXPECT_EQ(chat.wait(10s), 0) << out;
  EXPECT_NE(out.find("Logged in as alice"), std::string::npos) << out;
  EXPECT_EQ(out.find("SASL login failed"), std::string::npos) << out;

  // A wrong password: shown, and registration goes on without an account.
  std::ofstream(pass) << "wrong horse\n";
  auto bad = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(server.port()), "--nick", "al2",
                                 "--plain", "--no-reconnect", "--sasl-user", "alice", "--sasl-pass-file", pass.string()});
  std::string bad_out = bad.read_stdout_until("MOTD", 30s);
  std::string bad_err = bad.read_stderr_until("SASL login failed", 5s);
  ASSERT_TRUE(bad.write_stdin("/quit\n"));
  bad.close_stdin();
  EXPECT_EQ(bad.wait(10s), 0);
  EXPECT_NE((bad_out + bad_err).find("SASL login failed"), std::string::npos) << bad_out << bad_err;
  // No password at all: a usage error, exit 2.
  auto r = test::run({test::sockit_bin(), "chat", "127.0.0.1", "6667", "--sasl-user", "alice"}, "", 10s);
  EXPECT_EQ(r.status, 2) << r.err;
}
